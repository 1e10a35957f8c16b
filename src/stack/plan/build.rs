//! `build:` of a service resolved for a project: the context folder (relative to the stack
//! file), the Dockerfile inside it, and the build arguments with their values. Checked here,
//! before anything talks to Docker, so a missing folder or Dockerfile shows with the rest.

use super::Resolver;
use super::parse::normalize;
use crate::stack::file::BuildDef;
use crate::stack::values::ShortOrLong;
use std::path::{Path, PathBuf};

/// How to build one service's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildPlan {
    /// The context folder, absolute.
    pub context: PathBuf,
    /// The Dockerfile's path inside the context, with `/` separators.
    pub dockerfile: String,
    /// Build arguments in file order (a name without value and without an environment
    /// variable of that name is left out, as Compose does).
    pub args: Vec<(String, String)>,
    /// The stage to build.
    pub target: Option<String>,
}

impl Resolver<'_> {
    pub(super) fn build_plan(&self, build: &ShortOrLong<BuildDef>) -> Result<BuildPlan, String> {
        let def = match build {
            ShortOrLong::Short(context) => BuildDef { context: Some(context.clone()), ..BuildDef::default() },
            ShortOrLong::Long(def) => def.clone(),
        };
        let context_text = def.context.as_deref().unwrap_or(".");
        let context = PathBuf::from(self.host_path(context_text));
        if !context.is_dir() {
            return Err(format!("build context {} is not a folder (`{context_text}`, relative to {})", context.display(), self.opts.stack_dir.display()));
        }
        let dockerfile_text = def.dockerfile.as_deref().unwrap_or("Dockerfile");
        let dockerfile = inside(&context, dockerfile_text)
            .ok_or_else(|| format!("the Dockerfile `{dockerfile_text}` is outside the build context {}; move it into the folder", context.display()))?;
        if !context.join(&dockerfile).is_file() {
            return Err(format!("there is no Dockerfile at {}", context.join(&dockerfile).display()));
        }
        let args = def
            .args
            .map(|a| a.pairs('='))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| {
                let v = v.or_else(|| self.vars.get(&k).cloned())?;
                Some((k, v))
            })
            .collect();
        Ok(BuildPlan { context, dockerfile, args, target: def.target.filter(|t| !t.is_empty()) })
    }
}

/// `file` as a `/`-separated path inside `context`, or `None` when it points outside.
fn inside(context: &Path, file: &str) -> Option<String> {
    let path = normalize(&context.join(file));
    let relative = path.strip_prefix(context).ok()?;
    let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::inside;
    use std::path::Path;

    #[test]
    fn dockerfiles_must_stay_inside_the_context() {
        let ctx = Path::new("/stacks/app");
        assert_eq!(inside(ctx, "Dockerfile").as_deref(), Some("Dockerfile"));
        assert_eq!(inside(ctx, "docker/../build/Dockerfile.dev").as_deref(), Some("build/Dockerfile.dev"));
        assert_eq!(inside(ctx, "/stacks/app/Dockerfile").as_deref(), Some("Dockerfile"));
        assert_eq!(inside(ctx, "../Dockerfile"), None);
        assert_eq!(inside(ctx, "/elsewhere/Dockerfile"), None);
    }
}
