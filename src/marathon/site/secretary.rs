//! secretary's keys, injected into an app that carries `ENC[...]` values exactly as lighter
//! did: only when the site sets `secretary.url` and some env value holds an envelope;
//! `SECRETARY_URL`, the master public key, and a fresh deploy key pair (new on every
//! render, left out of the checksum). An envelope under a name the shell cannot export is
//! refused at its line.

use super::Part;
use crate::course::ContentError;
use crate::marathon::secrets;
use serde_json::Value;

/// The env entries that change on every render (and are left out of the checksum).
pub(super) const DEPLOY_KEYS: [&str; 2] = ["DEPLOY_PRIVATE_KEY", "DEPLOY_PUBLIC_KEY"];

/// What the injection did.
#[derive(Debug, Default)]
pub(super) struct Injection {
    /// The entries to leave out of the checksum.
    pub volatile: Vec<&'static str>,
    /// Things the student should know.
    pub warnings: Vec<String>,
}

/// Injects secretary's keys when lighter would have.
pub(super) fn apply(document: &Value, config: &mut Value, parts: &[Part]) -> Result<Injection, ContentError> {
    let mut out = Injection::default();
    let Some(env) = config.get("env").and_then(Value::as_object) else { return Ok(out) };
    let with_envelopes: Vec<&String> = env.iter().filter(|(_, v)| v.as_str().is_some_and(|s| !secrets::find_envelopes(s).is_empty())).map(|(k, _)| k).collect();
    if with_envelopes.is_empty() {
        return Ok(out);
    }
    let url = match document.pointer("/secretary/url") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(v) if !v.is_null() && v.as_str().is_none() => v.to_string(),
        _ => {
            out.warnings.push(format!(
                "{}: env {} holds an ENC[...] value, but no `secretary.url` is set, so no keys are injected and the task cannot decrypt it",
                parts[0].display,
                with_envelopes.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ));
            return Ok(out);
        }
    };
    if let Some(bad) = with_envelopes.iter().find(|k| !secrets::is_shell_identifier(k)) {
        let (file, text, line, column) = key_position(parts, bad);
        return Err(ContentError::at(file, text, line, column, format!("env `{bad}` holds an ENC[...] value, but its name is not a shell identifier, so secretary cannot export it"))
            .with_fix("use only letters, digits and _ in the name, not starting with a digit"));
    }
    let master = master_key(document, parts)?;
    let pair = secrets::generate_key_pair();
    if let Some(env) = config.get_mut("env").and_then(Value::as_object_mut) {
        env.insert("SECRETARY_URL".into(), Value::String(url));
        env.insert("MASTER_PUBLIC_KEY".into(), Value::String(secrets::encode_key(&master)));
        env.insert(DEPLOY_KEYS[0].into(), Value::String(secrets::encode_key(&pair.private)));
        env.insert(DEPLOY_KEYS[1].into(), Value::String(secrets::encode_key(&pair.public)));
    }
    out.volatile.extend(DEPLOY_KEYS);
    Ok(out)
}

/// `secretary.master.publickey`: a key file (relative to the file that names it, else to
/// the current folder, where lighter looked) or the key itself.
fn master_key(document: &Value, parts: &[Part]) -> Result<secrets::Key, ContentError> {
    let declared = parts.iter().find_map(|p| p.node.get("secretary").and_then(|s| s.get("master")).and_then(|m| m.get("publickey")).map(|n| (p, n)));
    let value = document.pointer("/secretary/master/publickey").and_then(Value::as_str).unwrap_or_default();
    let fail = |message: String| match declared {
        Some((part, node)) => ContentError::at(&part.display, &part.text, node.line, node.column, message),
        None => ContentError::file(parts.first().map_or("site", |p| p.display.as_str()), message),
    };
    if value.is_empty() {
        return Err(fail("`secretary.master.publickey` is needed to inject secretary's keys".into()).with_fix("set it to the master public key (base64) or a key file, e.g. in globals.yml; `lab secrets encrypt` prints the running stack's"));
    }
    let beside = declared.map(|(part, _)| part.dir.join(value));
    let result = match beside.filter(|p| p.is_file()) {
        Some(path) => secrets::load_key(&path.to_string_lossy()),
        None => secrets::load_key(value),
    };
    result.map_err(|e| fail(format!("`secretary.master.publickey`: {e}")).with_fix("give the master public key (base64) or the path of its key file"))
}

fn key_position<'a>(parts: &'a [Part], name: &str) -> (&'a str, &'a str, u64, u64) {
    for part in parts {
        for section in ["override", "service"] {
            if let Some((key, _)) = part.node.get(section).and_then(|s| s.get("env")).and_then(|e| e.entry(name)) {
                return (&part.display, &part.text, key.line, key.column);
            }
        }
    }
    parts.first().map_or(("site", "", 1, 1), |p| (p.display.as_str(), p.text.as_str(), 1, 1))
}
