//! `.helmignore` rules and Go's `filepath.Match` glob, as Helm's `ignore` package applies
//! them: a pattern without `/` matches the base name, `!` negates, a trailing `/` matches
//! directories only; `templates/.?*` is always ignored.

/// Parsed `.helmignore` rules.
#[derive(Debug, Default, Clone)]
pub(crate) struct Rules {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The glob as characters (split once: every file of a chart is matched against it).
    glob: Vec<char>,
    /// Where it applies: the whole path (it has a `/`) or the base name.
    whole_path: bool,
    negate: bool,
    dir_only: bool,
}

impl Rules {
    /// Parses the text of a `.helmignore` file (plus Helm's default rule).
    pub(crate) fn parse(text: &str) -> Self {
        let mut rules = Rules::default();
        for line in text.lines().chain(std::iter::once("templates/.?*")) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, rest) = match line.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, line),
            };
            let (dir_only, rest) = match rest.strip_suffix('/') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            // A leading `/` anchors the glob at the chart root: it then matches the whole path,
            // as one with a `/` inside does.
            let (whole_path, glob) = match rest.strip_prefix('/') {
                Some(abs) => (true, abs),
                None => (rest.contains('/'), rest),
            };
            rules.patterns.push(Pattern {
                glob: glob.chars().collect(),
                whole_path,
                negate,
                dir_only,
            });
        }
        rules
    }

    /// Whether `path` (relative, `/`-separated) is ignored.
    pub(crate) fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." {
            return false;
        }
        let full: Vec<char> = path.chars().collect();
        let base = full
            .iter()
            .rposition(|&c| c == '/')
            .map_or(&full[..], |i| &full[i + 1..]);
        for p in &self.patterns {
            let matched = match_from(&p.glob, if p.whole_path { &full } else { base });
            if p.negate {
                if p.dir_only && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if p.dir_only && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `path.Match`: `*` and `?` do not cross `/`, `[...]` classes with ranges and `^`/`!`
/// negation, `\` escapes.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' if n[ni] != '/' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&p[pi..], n[ni])
                        && ok
                    {
                        pi += len;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                c if c == n[ni] && c != '?' && c != '\\' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        // Backtrack: let the last star eat one more character (never a separator).
        match star {
            Some((sp, sn)) if n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            _ => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches a `[...]` class at the start of `p` against `c`: (matched, pattern length).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('^' | '!'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate && c != '/', i + 1));
        }
        first = false;
        let lo = p[i];
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if lo <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_follow_go() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(!glob_match("*.txt", "d/a.txt"));
        assert!(glob_match("files/*", "files/a"));
        assert!(glob_match("[a-c]?", "bx"));
        assert!(!glob_match("[!a]", "a"));
    }

    #[test]
    fn rules_apply_to_base_names_and_dirs() {
        let r = Rules::parse("# c\n*.bak\nsecret/\n");
        assert!(r.ignore("templates/.hidden", false));
        assert!(r.ignore("secret", true));
        assert!(!r.ignore("secret", false));
        assert!(!r.ignore("values.yaml", false));
    }

    #[test]
    fn rules_with_a_slash_match_the_whole_path() {
        let r = Rules::parse("/top.txt\nfiles/*.md\n");
        assert!(r.ignore("top.txt", false));
        assert!(!r.ignore("sub/top.txt", false));
        assert!(r.ignore("files/a.md", false));
        assert!(!r.ignore("other/files/a.md", false));
        assert!(!r.ignore("a.md", false));
    }
}
