//! Docker's own rejections, mapped back to the stack file. The engine refuses some things
//! lab cannot know in advance (a port another container holds, a bind source that does not
//! exist, a user the image lacks, a command that is not in the image); its message names
//! none of the author's lines. A service's plan keeps where the service and each of its
//! keys are written, and [`ServiceOrigin::locate`] picks the key the engine's words are
//! about, so the error reads `stack.yml:14:5: service web: ... ports ...` with the line
//! quoted, like every other stack-file error.

use crate::course::ContentError;
use crate::course::error::quote_line;

/// Where a service is written in its stack file: the service's name and each of its
/// top-level keys, with the lines quoted (so an error needs no copy of the file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceOrigin {
    /// The stack file, as errors name it.
    pub file: String,
    /// The service name's line and column, and the line's text.
    pub name: Option<Written>,
    /// Each key of the service (`ports`, `volumes`, `user`, ...), where it is written.
    pub keys: Vec<(String, Written)>,
}

/// One position in the file, with its line quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// The line, escaped and cut as errors show it.
    pub quoted: String,
}

impl Written {
    /// The position `line:column` of `text`, with that line quoted.
    pub fn at(text: &str, line: u64, column: u64) -> Written {
        Written::in_lines(&text.lines().collect::<Vec<_>>(), line, column)
    }

    /// The same, from the file's lines split once (a plan quotes a line per key of every
    /// service; scanning the text for each would be quadratic in a long file).
    pub fn in_lines(lines: &[&str], line: u64, column: u64) -> Written {
        let quoted = usize::try_from(line).ok().and_then(|l| lines.get(l.checked_sub(1)?)).map(|l| quote_line(l, column)).unwrap_or_default();
        Written { line, column, quoted }
    }
}

/// Which keys an engine message is about, by words the engine uses. The first rule that
/// matches and whose key the service has wins; otherwise the error points at the service.
const RULES: &[(&[&str], &[&str])] = &[
    (&["port is already allocated", "address already in use", "programming external connectivity", "invalid port"], &["ports", "expose"]),
    (&["bind source path", "error mounting", "invalid mount", "mount denied", "invalid volume", "volume specification", "mounts denied"], &["volumes", "tmpfs"]),
    (&["unable to find user", "no matching entries in passwd", "no matching entries in group"], &["user", "group_add"]),
    (&["executable file not found", "exec:", "exec format error", "permission denied: unknown"], &["entrypoint", "command"]),
    (&["memory limit", "memory swap", "memswap", "memory reservation", "kernel memory"], &["mem_limit", "memswap_limit", "mem_reservation", "deploy"]),
    (&["nanocpus", "cpu shares", "cpu period", "cpu quota", "cpuset", "range of cpus"], &["cpus", "cpu_shares", "cpuset", "deploy"]),
    (&["unable to apply caps", "capabilit", "privileged"], &["privileged", "cap_add"]),
    (&["sysctl"], &["sysctls"]),
    (&["ulimit"], &["ulimits"]),
    (&["device"], &["devices"]),
    (&["network", "endpoint", "ip address", "mac address"], &["networks", "network_mode", "mac_address"]),
    (&["hostname"], &["hostname", "domainname"]),
    (&["healthcheck", "health check"], &["healthcheck"]),
    (&["environment variable", "invalid env"], &["environment", "env_file"]),
    (&["working directory", "workingdir", "cwd"], &["working_dir"]),
    (&["log driver", "logging", "log opt"], &["logging"]),
    (&["reference format", "no such image", "image"], &["image", "build"]),
];

impl ServiceOrigin {
    /// The engine refused `service` with `message` while lab was `doing` (e.g. "create the
    /// container"): an error at the key the message is about, or at the service's name.
    pub fn locate(&self, service: &str, doing: &str, message: &str) -> ContentError {
        let lower = message.to_lowercase();
        let key = RULES
            .iter()
            .filter(|(words, _)| words.iter().any(|w| lower.contains(w)))
            .find_map(|(_, keys)| keys.iter().find_map(|k| self.keys.iter().find(|(name, _)| name == k)));
        let text = format!("service `{service}`: Docker refused to {doing}: {}", message.trim());
        let error = match key.map(|(_, written)| written).or(self.name.as_ref()) {
            Some(w) => ContentError { position: Some((w.line, w.column)), source_line: Some(w.quoted.clone()), ..ContentError::file(&self.file, text) },
            None => ContentError::file(&self.file, text),
        };
        match key {
            Some((name, _)) => error.with_fix(fix_for(name)),
            None => error.with_fix("the engine's message above says what it refused; change the service so the engine accepts it"),
        }
    }
}

fn fix_for(key: &str) -> String {
    match key {
        "ports" | "expose" => "another container or program holds that host port: stop it, or publish another port here (or use --port-base)".into(),
        "volumes" | "tmpfs" => "create the source folder, or correct the path (relative paths start at the stack file's folder)".into(),
        "user" | "group_add" => "use a user the image has (a number such as `1000` always works), or leave `user:` out".into(),
        "entrypoint" | "command" => "name a program that exists in the image (full path or on its PATH)".into(),
        "privileged" | "cap_add" => "this engine refuses extra privileges: leave `privileged:`/`cap_add:` out if the service can do without".into(),
        other => format!("change `{other}:` so the engine accepts it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> ServiceOrigin {
        let text = "services:\n  web:\n    image: x\n    user: nobodyx\n    ports: [\"8080:80\"]\n    volumes:\n      - /nope:/data\n";
        ServiceOrigin {
            file: "stack.yml".into(),
            name: Some(Written::at(text, 2, 3)),
            keys: vec![
                ("image".into(), Written::at(text, 3, 5)),
                ("user".into(), Written::at(text, 4, 5)),
                ("ports".into(), Written::at(text, 5, 5)),
                ("volumes".into(), Written::at(text, 6, 5)),
            ],
        }
    }

    #[test]
    fn engine_messages_point_at_the_key_they_are_about() {
        let o = origin();
        let cases = [
            ("driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:8080 failed: port is already allocated", 5),
            ("invalid mount config for type \"bind\": bind source path does not exist: /nope", 6),
            ("unable to find user nobodyx: no matching entries in passwd file", 4),
            ("invalid reference format", 3),
        ];
        for (message, line) in cases {
            let e = o.locate("web", "create the container", message);
            assert_eq!(e.position.map(|p| p.0), Some(line), "{message}");
            assert!(e.to_string().starts_with(&format!("stack.yml:{line}:5: service `web`: Docker refused")), "{e}");
            assert!(e.message.contains(message), "the engine's own words are kept: {e}");
        }
    }

    #[test]
    fn an_unknown_message_or_an_absent_key_points_at_the_service() {
        let o = origin();
        let e = o.locate("web", "start it", "something nobody foresaw");
        assert_eq!(e.position, Some((2, 3)));
        assert_eq!(e.source_line.as_deref(), Some("  web:"));
        // The message is about a command, but the service sets none: its name is the place.
        let e = o.locate("web", "start it", "exec: \"/x\": stat /x: no such file or directory");
        assert_eq!(e.position, Some((2, 3)));
        assert_eq!(ServiceOrigin::default().locate("web", "start it", "boom").position, None);
    }
}
