//! Volumes and bind mounts of a service: short and long syntax, host paths resolved
//! against the stack file's folder, named volumes against the project's.

use super::Resolver;
use super::parse::normalize;
use crate::stack::file::LongVolume;
use crate::stack::values::parse_bytes;
use std::collections::HashMap;
use std::path::Path;

/// A mount from the short syntax.
pub(super) enum Mount {
    /// `source:target[:options]` for HostConfig.binds.
    Bind(String),
    /// An anonymous volume at this path.
    Anonymous(String),
}

/// A mount from the long syntax.
pub(super) enum LongMount {
    /// As [`Mount::Bind`].
    Bind(String),
    /// As [`Mount::Anonymous`].
    Anonymous(String),
    /// A tmpfs at a path, with its options.
    Tmpfs(String, String),
}

impl Resolver<'_> {
    pub(super) fn host_path(&self, source: &str) -> String {
        let path = if let Some(rest) = source.strip_prefix("~/") {
            dirs::home_dir().unwrap_or_default().join(rest)
        } else {
            let p = Path::new(source);
            if p.is_absolute() { p.to_owned() } else { self.opts.stack_dir.join(p) }
        };
        normalize(&path).display().to_string()
    }

    pub(super) fn short_volume(&self, spec: &str, volume_names: &HashMap<String, String>) -> Result<Mount, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.as_slice() {
            [target] => Ok(Mount::Anonymous((*target).to_owned())),
            [source, target] | [source, target, _] => {
                let mode = parts.get(2).map(|m| format!(":{m}")).unwrap_or_default();
                let source = self.volume_source(source, volume_names)?;
                Ok(Mount::Bind(format!("{source}:{target}{mode}")))
            }
            _ => Err(format!("volume `{spec}` is not SOURCE:TARGET[:MODE]")),
        }
    }

    pub(super) fn volume_source(&self, source: &str, volume_names: &HashMap<String, String>) -> Result<String, String> {
        if source.starts_with(['/', '.', '~']) {
            Ok(self.host_path(source))
        } else {
            volume_names.get(source).cloned().ok_or_else(|| format!("uses volume `{source}`, which is not defined under top-level `volumes:`"))
        }
    }

    pub(super) fn long_volume(&self, v: &LongVolume, volume_names: &HashMap<String, String>) -> Result<LongMount, String> {
        // Bind strings take comma-separated options after the target: ro, propagation, nocopy.
        let mut options: Vec<&str> = Vec::new();
        if v.read_only {
            options.push("ro");
        }
        let with_options = |source: String, options: &[&str]| {
            if options.is_empty() { format!("{source}:{}", v.target) } else { format!("{source}:{}:{}", v.target, options.join(",")) }
        };
        match v.kind.as_str() {
            "bind" => {
                let source = self.host_path(v.source.as_deref().ok_or("a bind mount needs `source`")?);
                if let Some(bind) = &v.bind {
                    if bind.create_host_path == Some(false) && !Path::new(&source).exists() {
                        return Err(format!("bind source {source} does not exist (create_host_path is false)"));
                    }
                    if let Some(p) = bind.propagation.as_deref() {
                        if !["private", "rprivate", "shared", "rshared", "slave", "rslave"].contains(&p) {
                            return Err(format!("bind propagation `{p}` is not one of private, rprivate, shared, rshared, slave, rslave"));
                        }
                        options.push(p);
                    }
                }
                Ok(LongMount::Bind(with_options(source, &options)))
            }
            "volume" => match v.source.as_deref() {
                None => Ok(LongMount::Anonymous(v.target.clone())),
                Some(source) => {
                    if v.volume.as_ref().and_then(|o| o.nocopy) == Some(true) {
                        options.push("nocopy");
                    }
                    Ok(LongMount::Bind(with_options(self.volume_source(source, volume_names)?, &options)))
                }
            },
            "tmpfs" => {
                let mut opts = Vec::new();
                if let Some(size) = v.tmpfs.as_ref().and_then(|t| t.size.as_ref()) {
                    opts.push(format!("size={}", parse_bytes(&size.0)?));
                }
                if let Some(mode) = v.tmpfs.as_ref().and_then(|t| t.mode) {
                    opts.push(format!("mode={mode:o}"));
                }
                Ok(LongMount::Tmpfs(v.target.clone(), opts.join(",")))
            }
            other => Err(format!("volume type `{other}` is not supported (use bind, volume or tmpfs)")),
        }
    }
}
