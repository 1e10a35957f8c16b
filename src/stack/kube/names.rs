//! The name rules Kubernetes enforces, checked before anything is sent, so a stack file
//! hears about a name the cluster would refuse at its own line.

/// A DNS-1035 label: what a Service, a container or a port may be called.
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.last().is_some_and(|b| *b != b'-')
}

/// A label value: empty, or up to 63 letters, digits, `-`, `_`, `.`, alphanumeric at both ends.
pub fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.is_empty()
        || (bytes.len() <= 63
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric))
}

/// A label key: an optional DNS prefix and `/`, then a non-empty label value.
pub fn is_label_key(key: &str) -> bool {
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    let prefix_ok = prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(|part| !part.is_empty() && part.len() <= 63 && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')));
    prefix_ok && !name.is_empty() && is_label_value(name)
}

/// An environment variable's name as Kubernetes 1.20 accepts it: `[-._a-zA-Z][-._a-zA-Z0-9]*`
/// (newer releases take any printable character but `=`; the oldest tested one decides).
pub fn is_env_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.first().is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'.' | b'_'))
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// A Service port's name (at most 15 characters): `tcp-8080`.
pub fn port_name(protocol: &str, port: u16) -> String {
    format!("{}-{port}", protocol.to_ascii_lowercase())
}

/// The namespace of `project` under `prefix`, shortened to the 63 characters Kubernetes
/// allows (with a digest of the whole, so two long names stay apart).
pub fn namespace_for(prefix: &str, project: &str) -> String {
    let cleaned: String = format!("{prefix}{project}").chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let cleaned = cleaned.trim_matches('-').to_owned();
    if cleaned.len() <= 63 && !cleaned.is_empty() {
        return cleaned;
    }
    let digest = crate::digest::short_hash(&[&cleaned], 5);
    format!("{}-{digest}", cleaned.chars().take(52).collect::<String>().trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for good in ["web", "box", "a-1", "marathon"] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in ["", "Web", "1web", "web-", "my_db", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn env_names() {
        for good in ["A", "JAVA_OPTS", "_x", "my.var", "-dash", "a1"] {
            assert!(is_env_name(good), "{good}");
        }
        for bad in ["", "1A", "A B", "A=B", "caf\u{e9}", "A$"] {
            assert!(!is_env_name(bad), "{bad}");
        }
    }

    #[test]
    fn label_keys_and_values() {
        assert!(is_label_key("lab.project") && is_label_key("example.com/tier") && is_label_key("tier"));
        assert!(!is_label_key("bad key") && !is_label_key("/x") && !is_label_key("Example.com/x"));
        assert!(is_label_value("") && is_label_value("lab-k3-12") && is_label_value("a.b_c"));
        assert!(!is_label_value("-x") && !is_label_value("has space") && !is_label_value(&"v".repeat(64)));
    }

    #[test]
    fn namespaces_are_valid_and_distinct() {
        assert_eq!(namespace_for("", "lab-k7m-3"), "lab-k7m-3");
        assert_eq!(namespace_for("course-", "Lab_Ann"), "course-lab-ann");
        let a = namespace_for("p-", &"x".repeat(80));
        let b = namespace_for("p-", &format!("{}y", "x".repeat(79)));
        assert!(a.len() <= 63 && b.len() <= 63 && a != b, "{a} {b}");
        assert!(is_dns_label(&a), "{a}");
    }
}
