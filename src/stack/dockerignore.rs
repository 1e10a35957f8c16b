//! `.dockerignore` as the Docker CLI reads it: one pattern a line, `#` comments, `!` to
//! take a path back in, the last matching line winning. Patterns are paths relative to the
//! context with `*` (within one path segment), `?`, `[a-z]`/`[^a-z]` classes, `\` escapes
//! and `**` (any number of segments); a pattern that matches a folder matches everything
//! in it. Leading `/` and `./` are dropped, as the CLI does.

/// The patterns of one `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    segments: Vec<String>,
    exception: bool,
}

impl Ignore {
    /// Reads the file's text.
    pub fn parse(text: &str) -> Ignore {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (exception, line) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments: Vec<String> = line.split('/').filter(|s| !s.is_empty() && *s != ".").map(str::to_owned).collect();
                (!segments.is_empty()).then_some(Pattern { segments, exception })
            })
            .collect();
        Ignore { patterns }
    }

    /// Whether a `!` line may take back paths inside an excluded folder.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative, `/`-separated) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // A pattern matching a parent folder matches the path too.
            let hit = (1..=parts.len()).any(|n| match_segments(&pattern.segments, &parts[..n]));
            if hit {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

fn match_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((first, rest)) => path.split_first().is_some_and(|(segment, tail)| {
            let pattern: Vec<char> = first.chars().collect();
            let segment: Vec<char> = segment.chars().collect();
            match_glob(&pattern, &segment) && match_segments(rest, tail)
        }),
    }
}

/// Matches one path segment against one pattern segment.
fn match_glob(p: &[char], s: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('*', rest)) => (0..=s.len()).any(|skip| match_glob(rest, &s[skip..])),
        Some(('?', rest)) => !s.is_empty() && match_glob(rest, &s[1..]),
        Some(('[', rest)) => match (s.first(), class(rest)) {
            (Some(c), Some((matches, after))) => matches(*c) && match_glob(after, &s[1..]),
            (Some(c), None) => *c == '[' && match_glob(rest, &s[1..]),
            (None, _) => false,
        },
        Some(('\\', rest)) if !rest.is_empty() => s.first() == Some(&rest[0]) && match_glob(&rest[1..], &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && match_glob(rest, &s[1..]),
    }
}

/// Whether a character is in a `[...]` class, and the pattern after the `]`.
type Class<'a> = (Box<dyn Fn(char) -> bool + 'a>, &'a [char]);

/// A `[...]` class after its `[`.
fn class(p: &[char]) -> Option<Class<'_>> {
    let (negated, body) = match p.first() {
        Some('^' | '!') => (true, &p[1..]),
        _ => (false, p),
    };
    // A `]` right after the `[` is a member, not the end.
    let end = body.iter().skip(1).position(|c| *c == ']')? + 1;
    let (set, after) = (&body[..end], &body[end + 1..]);
    let matcher = move |c: char| {
        let mut i = 0;
        let mut hit = false;
        while i < set.len() {
            if i + 2 < set.len() && set[i + 1] == '-' {
                hit |= set[i] <= c && c <= set[i + 2];
                i += 3;
            } else {
                hit |= set[i] == c;
                i += 1;
            }
        }
        hit != negated
    };
    Some((Box::new(matcher), after))
}

#[cfg(test)]
mod tests {
    use super::Ignore;

    #[test]
    fn plain_names_and_folders() {
        let ignore = Ignore::parse("# build output\ntarget\n/.git\n*.log\n");
        assert!(ignore.excludes("target"));
        assert!(ignore.excludes("target/debug/app"), "a matched folder takes its contents");
        assert!(ignore.excludes(".git/config"));
        assert!(ignore.excludes("app.log"));
        assert!(!ignore.excludes("logs/app.log"), "* stays within one segment");
        assert!(!ignore.excludes("src/main.rs"));
    }

    #[test]
    fn double_stars_classes_and_exceptions() {
        let ignore = Ignore::parse("**/*.tmp\ndocs/[a-c]?.md\n*.md\n!README.md\n");
        assert!(ignore.excludes("a/b/c.tmp") && ignore.excludes("c.tmp"));
        assert!(ignore.excludes("docs/b1.md"));
        assert!(!ignore.excludes("docs/d1.md"));
        assert!(ignore.excludes("NOTES.md"));
        assert!(!ignore.excludes("README.md"), "the last matching line wins");
        let ignore = Ignore::parse("data/**\n!data/keep/**\n");
        assert!(ignore.excludes("data/x.bin"));
        assert!(!ignore.excludes("data/keep/y.bin"));
    }

    #[test]
    fn escapes_and_negated_classes() {
        let ignore = Ignore::parse("\\*.txt\nfile[^0-9]\n");
        assert!(ignore.excludes("*.txt") && !ignore.excludes("a.txt"));
        assert!(ignore.excludes("filex") && !ignore.excludes("file1"));
    }
}
