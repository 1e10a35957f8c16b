//! `diagnoses.yml`: the lab author's rules that turn a fact from the live system (a task
//! failure, a declined offer, a failing health check, the gateway, a site file) into a
//! sentence a student can act on. This module owns the rule file's format, its validation
//! (with `file:line` errors) and the matching; it knows no platform words: what a fact
//! means lives in the rules, and the checks only gather facts.

use super::error::{ContentError, parse_yaml};
use super::files::Files;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// What a fact is about; each kind has a fixed set of fields a rule can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactKind {
    /// The app's last task failure, as the scheduler recorded it.
    TaskFailure,
    /// The scheduler declines resource offers for the app (one fact per reason).
    OfferRejected,
    /// A task's health check fails.
    HealthFailure,
    /// The gateway does not serve the service port while the app looks right.
    Gateway,
    /// A site file that defines the app does not render.
    SiteFile,
}

impl FactKind {
    /// The fields a fact of this kind carries, the first being the one `match` reads.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            FactKind::TaskFailure => &["message", "state", "app", "image", "backoff"],
            FactKind::OfferRejected => &["reason", "app", "cpus", "mem", "disk", "ports"],
            FactKind::HealthFailure => &["cause", "app", "protocol", "path"],
            FactKind::Gateway => &["problem", "port", "path", "app"],
            FactKind::SiteFile => &["error", "file", "location", "fix"],
        }
    }

    /// The field `match` reads.
    pub fn subject(self) -> &'static str {
        self.fields()[0]
    }

    /// As written in the rule file.
    pub fn name(self) -> &'static str {
        match self {
            FactKind::TaskFailure => "task-failure",
            FactKind::OfferRejected => "offer-rejected",
            FactKind::HealthFailure => "health-failure",
            FactKind::Gateway => "gateway",
            FactKind::SiteFile => "site-file",
        }
    }

    /// What lab says when no rule matches: the system's own words.
    fn fallback(self) -> &'static str {
        match self {
            FactKind::TaskFailure => "Marathon's last task failure ({state}): {message}",
            FactKind::OfferRejected => "Marathon declines the resource offers it gets for {app}: {reason}.",
            FactKind::HealthFailure => "the health check ({protocol} on {path}) fails: {cause}",
            FactKind::Gateway => "the app looks right, but the gateway does not serve port {port} yet: {problem}",
            FactKind::SiteFile => "{location}: {error}",
        }
    }
}

/// The longest field value kept: a fact quotes the live system, which can say a lot.
const MAX_FIELD_CHARS: usize = 300;

/// Something observed in the live system, with the fields of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// What it is about.
    pub kind: FactKind,
    fields: BTreeMap<&'static str, String>,
}

impl Fact {
    /// A fact with no fields set yet (unset fields read as empty).
    pub fn new(kind: FactKind) -> Fact {
        Fact { kind, fields: BTreeMap::new() }
    }

    /// Sets `field`, one of the kind's fields (another is a bug: ignored, and refused in
    /// debug builds). Control characters become spaces and long values are cut: the text
    /// reaches terminals and pages.
    pub fn with(mut self, field: &'static str, value: impl AsRef<str>) -> Fact {
        debug_assert!(self.kind.fields().contains(&field), "a {} fact has no field `{field}`", self.kind.name());
        if self.kind.fields().contains(&field) {
            let clean: String = value.as_ref().chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_FIELD_CHARS).collect();
            self.fields.insert(field, clean.trim().to_owned());
        }
        self
    }

    /// A field's value ("" when unset).
    pub fn get(&self, field: &str) -> &str {
        self.fields.get(field).map_or("", String::as_str)
    }
}

/// One rule: a fact kind, what must match, and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The fact it reads.
    pub fact: FactKind,
    /// Lower-case substrings of the fact's subject; any one matches (none: every fact).
    pub matches: Vec<String>,
    /// Other fields that must contain one of their substrings (lower case).
    pub when: BTreeMap<String, Vec<String>>,
    /// The explanation, with `{field}` placeholders.
    pub say: String,
    /// What to try, with placeholders.
    pub try_next: Option<String>,
}

impl Rule {
    fn applies(&self, fact: &Fact) -> bool {
        let contains_any = |text: &str, needles: &[String]| {
            let text = text.to_lowercase();
            needles.iter().any(|n| text.contains(n.as_str()))
        };
        self.fact == fact.kind
            && (self.matches.is_empty() || contains_any(fact.get(fact.kind.subject()), &self.matches))
            && self.when.iter().all(|(field, needles)| contains_any(fact.get(field), needles))
    }

    fn render(&self, fact: &Fact) -> String {
        let say = fill(&self.say, fact);
        match &self.try_next {
            Some(next) => format!("{say} {}", fill(next, fact)),
            None => say,
        }
    }
}

/// A lab's rules, in the order the author wrote them (the first that matches wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnoses {
    /// The rules.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    fact: Spanned<FactKind>,
    #[serde(default, rename = "match")]
    matches: Vec<String>,
    #[serde(default)]
    when: Option<Spanned<BTreeMap<String, Vec<String>>>>,
    say: Spanned<String>,
    #[serde(default, rename = "try")]
    try_next: Option<Spanned<String>>,
}

impl Diagnoses {
    /// Reads `labs/<id>/diagnoses.yml`; a lab without one has no rules (the fallback
    /// still explains failures in the system's own words).
    pub fn load(lab_id: &str, files: &Files) -> Result<Diagnoses, ContentError> {
        let path = format!("labs/{lab_id}/diagnoses.yml");
        if !files.contains(&path) {
            return Ok(Diagnoses::default());
        }
        Diagnoses::parse(&path, files.text(&path)?)
    }

    /// Parses and validates a rule file; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Diagnoses, ContentError> {
        let file: RulesFile = parse_yaml(path, text, 0)?;
        let mut rules = Vec::with_capacity(file.rules.len());
        for rule in file.rules {
            let kind = rule.fact.value;
            let at = |line: u64, column: u64, message: String| ContentError::at(path, text, line, column, message);
            let allowed = || format!("a {} fact has: {}", kind.name(), kind.fields().join(", "));
            if rule.matches.iter().any(|m| m.trim().is_empty()) {
                return Err(at(rule.fact.referenced.line(), rule.fact.referenced.column(), "`match` has an empty entry, which would match everything".into())
                    .with_fix("remove it; a rule without `match` already applies to every fact of its kind"));
            }
            let when = rule.when.map(|w| (w.referenced.line(), w.referenced.column(), w.value));
            if let Some((line, column, when)) = &when
                && let Some(field) = when.keys().find(|f| !kind.fields().contains(&f.as_str()))
            {
                return Err(at(*line, *column, format!("`when` reads `{field}`, which a {} fact does not have", kind.name())).with_fix(allowed()));
            }
            for text_field in [Some(&rule.say), rule.try_next.as_ref()].into_iter().flatten() {
                if let Some(name) = placeholders(&text_field.value).find(|p| !kind.fields().contains(p)) {
                    return Err(at(text_field.referenced.line(), text_field.referenced.column(), format!("`{{{name}}}` is not a field of a {} fact", kind.name())).with_fix(allowed()));
                }
            }
            if rule.say.value.trim().is_empty() {
                return Err(at(rule.say.referenced.line(), rule.say.referenced.column(), "`say` is empty".into()).with_fix("write what went wrong, in a sentence"));
            }
            let lower = |v: Vec<String>| v.into_iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
            rules.push(Rule {
                fact: kind,
                matches: lower(rule.matches),
                when: when.map(|(_, _, w)| w.into_iter().map(|(k, v)| (k, lower(v))).collect()).unwrap_or_default(),
                say: rule.say.value.trim().to_owned(),
                try_next: rule.try_next.map(|t| t.value.trim().to_owned()).filter(|t| !t.is_empty()),
            });
        }
        Ok(Diagnoses { rules })
    }

    /// The diagnosis for `facts`, most telling first: the first fact any rule matches
    /// (rules tried in the file's order), else the first fact in the system's own words.
    pub fn diagnose(&self, facts: &[Fact]) -> Option<String> {
        facts
            .iter()
            .find_map(|fact| self.rules.iter().find(|r| r.applies(fact)).map(|r| r.render(fact)))
            .or_else(|| facts.first().map(|f| fill(f.kind.fallback(), f)))
    }
}

/// The `{name}` placeholders of `text` (names of lower-case letters and `_`).
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).filter(|name| is_name(name))
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// `text` with each `{field}` replaced by the fact's value; other braces stay as written.
fn fill(text: &str, fact: &Fact) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.split_once('}') {
            Some((name, tail)) if is_name(name) => {
                out.push_str(fact.get(name));
                rest = tail;
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "rules:\n  - fact: task-failure\n    match: [Pull, manifest unknown]\n    say: \"The image {image} cannot be pulled: {message}\"\n    try: Check its name.\n  - fact: task-failure\n    match: [exited]\n    when: {backoff: [yes]}\n    say: It exits at once.\n";

    fn failure(message: &str, backoff: &str) -> Fact {
        Fact::new(FactKind::TaskFailure).with("message", message).with("image", "nginx:nope").with("state", "TASK_FAILED").with("backoff", backoff)
    }

    #[test]
    fn the_first_matching_rule_speaks_with_the_facts_fields() {
        let d = Diagnoses::parse("labs/x/diagnoses.yml", RULES).unwrap();
        assert_eq!(d.rules.len(), 2);
        assert_eq!(d.diagnose(&[failure("Failed to PULL image", "no")]).as_deref(), Some("The image nginx:nope cannot be pulled: Failed to PULL image Check its name."));
        assert_eq!(d.diagnose(&[failure("Container exited with status 1", "yes")]).as_deref(), Some("It exits at once."));
        let unmatched = d.diagnose(&[failure("Container exited with status 1", "no")]).unwrap();
        assert_eq!(unmatched, "Marathon's last task failure (TASK_FAILED): Container exited with status 1", "`when` must hold too; else the fallback");
        assert_eq!(d.diagnose(&[]), None);
    }

    #[test]
    fn a_later_fact_matched_by_a_rule_beats_an_unmatched_first_one() {
        let d = Diagnoses::parse("d.yml", RULES).unwrap();
        let facts = [Fact::new(FactKind::Gateway).with("problem", "refused"), failure("pull access denied", "no")];
        assert!(d.diagnose(&facts).unwrap().starts_with("The image nginx:nope cannot be pulled"));
    }

    #[test]
    fn fields_are_cleaned_and_braces_that_are_not_placeholders_stay() {
        let fact = Fact::new(FactKind::Gateway).with("problem", "a\u{1b}[31mb\n");
        assert_eq!(fact.get("problem"), "a [31mb");
        assert_eq!(fact.get("port"), "", "unset fields read as empty");
        assert_eq!(fill("{problem} {not a field} {}", &fact), "a [31mb {not a field} {}");
        assert_eq!(Fact::new(FactKind::Gateway).with("problem", "x".repeat(1000)).get("problem").len(), MAX_FIELD_CHARS);
    }

    #[test]
    fn bad_rules_are_reported_at_their_line() {
        let err = Diagnoses::parse("labs/x/diagnoses.yml", "rules:\n  - fact: task-failure\n    say: \"{mesage}\"\n").unwrap_err();
        assert_eq!(err.location(), "labs/x/diagnoses.yml:3:10");
        assert!(err.message.contains("`{mesage}` is not a field of a task-failure fact"), "{err}");
        assert!(err.fix.as_deref().unwrap_or("").contains("message, state"), "{err}");

        let err = Diagnoses::parse("labs/x/diagnoses.yml", "rules:\n  - fact: task-failure\n    say: ok\n  - fact: disk-full\n    say: x\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(4), "{err}");

        let err = Diagnoses::parse("labs/x/diagnoses.yml", "rules:\n  - fact: gateway\n    when: {reason: [x]}\n    say: x\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(3), "{err}");
        assert!(err.message.contains("`reason`"), "{err}");

        let err = Diagnoses::parse("labs/x/diagnoses.yml", "rules:\n  - fact: gateway\n    sya: x\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(3), "{err}");

        let err = Diagnoses::parse("labs/x/diagnoses.yml", "rules:\n  - fact: gateway\n    match: ['']\n    say: x\n").unwrap_err();
        assert!(err.message.contains("empty entry"), "{err}");
    }

    #[test]
    fn a_lab_without_a_rule_file_has_no_rules() {
        let files = Files::from_entries([("labs/x/lab.yml".to_owned(), b"title: x\n".to_vec())]);
        assert_eq!(Diagnoses::load("x", &files).unwrap(), Diagnoses::default());
        let files = Files::from_entries([("labs/x/diagnoses.yml".to_owned(), b"rules: [\n".to_vec())]);
        assert!(Diagnoses::load("x", &files).unwrap_err().location().starts_with("labs/x/diagnoses.yml:"));
    }
}
