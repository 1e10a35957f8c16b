//! Reading a stack file's YAML into the positioned tree, with the YAML reader's own limits
//! (nesting depth, number of values, aliases, text size) and its refusals (a key given
//! twice) said in the author's words at their line, instead of the library's message
//! ("budget breached: Depth { depth: 65 }").

use super::tree::{self, Node};
use crate::course::ContentError;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::Error;

/// Parses `text` (named `file` in errors) into the positioned tree.
pub fn read(file: &str, text: &str) -> Result<Node, ContentError> {
    tree::parse(text).map_err(|err| problem(file, text, &err))
}

/// A reading failure as a problem at its position.
fn problem(file: &str, text: &str, err: &Error) -> ContentError {
    let Some((message, fix)) = describe(innermost(err)) else {
        return crate::course::error::yaml_error(file, text, 0, err);
    };
    let error = match err.location().filter(|l| l.line() > 0) {
        Some(at) => ContentError::at(file, text, at.line(), at.column(), message),
        None => ContentError::file(file, message),
    };
    match fix {
        Some(fix) => error.with_fix(fix),
        None => error,
    }
}

/// The error itself, without the wrappers that add a snippet or an alias's position.
fn innermost(err: &Error) -> &Error {
    match err {
        Error::WithSnippet { error, .. } | Error::AliasError { error, .. } => innermost(error),
        other => other,
    }
}

/// The message and fix for the failures lab explains itself; `None` for ordinary syntax
/// errors, whose library message is already about the text.
fn describe(err: &Error) -> Option<(String, Option<String>)> {
    let limits = tree::budget();
    let alias_fix = || Some("write the values out, or use fewer aliases inside anchored values".to_owned());
    Some(match err {
        Error::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { .. } => (
                format!("the file nests deeper than {} levels here (maps and lists inside each other); lab reads stack files up to that depth", limits.max_depth),
                Some("flatten the structure".into()),
            ),
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => (
                format!("the file holds more than {} keys and values (counting those aliases repeat); lab stops reading here", limits.max_nodes),
                Some("split the stack, or use fewer aliases".into()),
            ),
            BudgetBreach::Aliases { .. } => (format!("the file uses more than {} aliases (`*name`)", limits.max_aliases), alias_fix()),
            BudgetBreach::Anchors { .. } => (format!("the file defines more than {} anchors (`&name`)", limits.max_anchors), None),
            BudgetBreach::AliasAnchorRatio { aliases, anchors } => (
                format!(
                    "the file uses {aliases} aliases for {anchors} anchors, more than {} per anchor; lab refuses such files because they can grow enormous when read",
                    limits.alias_anchor_ratio_multiplier
                ),
                alias_fix(),
            ),
            BudgetBreach::ScalarBytes { .. } => (format!("the file's text values add up to more than {} MiB", limits.max_total_scalar_bytes >> 20), None),
            BudgetBreach::MergeKeys { .. } => (format!("the file uses more than {} merge keys (`<<`)", limits.max_merge_keys), None),
            BudgetBreach::RecordedAnchorEvents { .. } | BudgetBreach::RecordedAnchorBytes { .. } => {
                ("anchored values are copied more than lab allows while reading the file".into(), alias_fix())
            }
            _ => ("the file is larger or more deeply nested than lab reads stack files".into(), None),
        },
        Error::AliasReplayLimitExceeded { max_total_replayed_events, .. } => {
            (format!("aliases expand to more than {max_total_replayed_events} values here; lab stops reading"), alias_fix())
        }
        Error::AliasExpansionLimitExceeded { max_expansions_per_anchor, .. } => {
            (format!("this anchor is repeated through aliases more than {max_expansions_per_anchor} times"), alias_fix())
        }
        Error::AliasReplayStackDepthExceeded { max_depth, .. } => (format!("aliases nest inside each other more than {max_depth} levels deep here"), alias_fix()),
        Error::AliasReplayCounterOverflow { .. } => ("aliases expand to more values than lab can count".into(), alias_fix()),
        Error::DuplicateMappingKey { key: Some(key), .. } => (format!("`{key}` is given twice in this map"), Some("keep one of them".into())),
        Error::DuplicateMappingKey { key: None, .. } => ("a key is given twice in this map".into(), Some("keep one of them".into())),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ContentError {
        read("stack.yml", text).expect_err("should not read")
    }

    #[test]
    fn nesting_too_deep_is_said_plainly_at_its_line() {
        let flow = format!("services:\n  a:\n    image: x\n    labels: {}{}\n", "[".repeat(200), "]".repeat(200));
        let err = error(&flow);
        assert_eq!(err.position.map(|p| p.0), Some(4), "{err}");
        assert!(err.message.starts_with("the file nests deeper than 32 levels here"), "{err}");
        let block: String = (0..100).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        let err = error(&block);
        assert!(err.message.contains("nests deeper than 32 levels"), "{err}");
        assert_eq!(err.position.map(|p| p.0), Some(33), "{err}");
        assert!(!err.to_string().contains("budget") && !err.to_string().contains("Depth {"), "{err}");
    }

    #[test]
    fn alias_bombs_are_refused_in_plain_words() {
        // Many aliases of few anchors is the shape of a "billion laughs" file.
        let text = format!("x-a: &a [1]\nx-b: [{}]\nservices:\n  a: {{image: x}}\n", vec!["*a"; 150].join(", "));
        let err = error(&text);
        assert!(err.position.is_some(), "{err}");
        assert!(err.message.starts_with("the file uses 150 aliases for 1 anchors, more than 10 per anchor"), "{err}");
        assert!(!err.to_string().contains("budget breached"), "{err}");
    }

    #[test]
    fn a_key_given_twice_is_named() {
        let err = error("services:\n  a: {image: x}\n  a: {image: y}\n");
        assert_eq!(err.location(), "stack.yml:3:3");
        assert_eq!(err.message, "`a` is given twice in this map");
        assert!(!err.to_string().contains("DuplicateKeyPolicy"), "{err}");
    }

    #[test]
    fn non_finite_numbers_reach_the_schema_as_text() {
        let tree = read("stack.yml", "a: .nan\nb: -.inf\n").unwrap();
        assert_eq!(tree.get("a").and_then(Node::scalar_text).as_deref(), Some(".nan"));
        assert_eq!(tree.get("b").and_then(Node::scalar_text).as_deref(), Some("-.inf"));
    }

    #[test]
    fn syntax_errors_keep_the_readers_message() {
        let err = error("services:\n  a: [x\n");
        assert!(err.position.is_some(), "{err}");
    }
}
