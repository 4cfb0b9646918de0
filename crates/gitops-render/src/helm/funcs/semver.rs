//! `semver` and `semverCompare` with Masterminds/semver v3 rules: loose versions (`v1.2`),
//! constraints joined by `,`/space (and) and `||` (or), operators `= != > < >= <= ~ ^`,
//! wildcards and hyphen ranges; a version with a pre-release only matches constraints that
//! carry one.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::gotemplate::{FuncMap, Value, arity, want_str};

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) patch: u64,
    pub(crate) pre: String,
    pub(crate) meta: String,
}

/// Parses a version loosely (`v` prefix, missing minor/patch).
pub(crate) fn parse_version(s: &str) -> Option<Version> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    let (s, meta) = s.split_once('+').map_or((s, ""), |(a, b)| (a, b));
    let (core, pre) = s.split_once('-').map_or((s, ""), |(a, b)| (a, b));
    let mut nums = core.split('.');
    let mut next = |req: bool| -> Option<u64> {
        match nums.next() {
            Some(n) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => n.parse().ok(),
            None if !req => Some(0),
            _ => None,
        }
    };
    let major = next(true)?;
    let minor = next(false)?;
    let patch = next(false)?;
    if nums.next().is_some() {
        return None;
    }
    Some(Version {
        major,
        minor,
        patch,
        pre: pre.to_owned(),
        meta: meta.to_owned(),
    })
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

impl Version {
    /// Semver precedence (build metadata ignored).
    pub(crate) fn cmp(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

struct Constraint {
    op: String,
    v: Version,
    /// How many of major/minor/patch were given as numbers (wildcards and omissions count as
    /// missing).
    given: usize,
}

fn parse_constraint_part(s: &str) -> Option<Constraint> {
    let s = s.trim();
    let op_len = s
        .find(|c: char| c.is_ascii_alphanumeric() || c == '*')
        .unwrap_or(s.len());
    let op = s[..op_len].trim().to_owned();
    let rest = s[op_len..].trim();
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let (core, tail) = match rest.find(['-', '+']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut given = 0;
    let mut nums = Vec::new();
    for (i, p) in core.split('.').enumerate() {
        if i > 2 {
            return None;
        }
        if p == "x" || p == "X" || p == "*" {
            break;
        }
        nums.push(p.parse::<u64>().ok()?);
        given += 1;
    }
    let text = format!(
        "{}.{}.{}{tail}",
        nums.first().unwrap_or(&0),
        nums.get(1).unwrap_or(&0),
        nums.get(2).unwrap_or(&0)
    );
    let v = parse_version(&text)?;
    let op = match op.as_str() {
        "" | "=" | "==" => "=",
        "=>" => ">=",
        "=<" => "<=",
        "~>" => "~",
        o => o,
    }
    .to_owned();
    Some(Constraint { op, v, given })
}

fn bump(v: &Version, at: usize) -> Version {
    let mut n = v.clone();
    n.pre.clear();
    match at {
        0 => {
            n.major += 1;
            n.minor = 0;
            n.patch = 0;
        }
        1 => {
            n.minor += 1;
            n.patch = 0;
        }
        _ => n.patch += 1,
    }
    n
}

fn check(c: &Constraint, v: &Version) -> bool {
    if !v.pre.is_empty() && c.v.pre.is_empty() {
        return false;
    }
    let ge = |x: &Version| v.cmp(x) != Ordering::Less;
    let lt = |x: &Version| v.cmp(x) == Ordering::Less;
    match c.op.as_str() {
        "=" => {
            if c.given >= 3 {
                v.cmp(&c.v) == Ordering::Equal
            } else if c.given == 0 {
                true
            } else {
                ge(&c.v) && lt(&bump(&c.v, c.given - 1))
            }
        }
        "!=" => {
            if c.given >= 3 {
                v.cmp(&c.v) != Ordering::Equal
            } else if c.given == 0 {
                false
            } else {
                !(ge(&c.v) && lt(&bump(&c.v, c.given - 1)))
            }
        }
        ">" => {
            if c.given >= 3 {
                v.cmp(&c.v) == Ordering::Greater
            } else if c.given == 0 {
                false
            } else {
                ge(&bump(&c.v, c.given - 1))
            }
        }
        ">=" => ge(&c.v),
        "<" => lt(&c.v),
        "<=" => {
            if c.given >= 3 || c.given == 0 {
                c.given == 0 || v.cmp(&c.v) != Ordering::Greater
            } else {
                lt(&bump(&c.v, c.given - 1))
            }
        }
        "~" => {
            let upper = if c.given <= 1 {
                bump(&c.v, 0)
            } else {
                bump(&c.v, 1)
            };
            ge(&c.v) && lt(&upper)
        }
        "^" => {
            let upper = if c.v.major > 0 || c.given <= 1 {
                bump(&c.v, 0)
            } else if c.v.minor > 0 || c.given == 2 {
                bump(&c.v, 1)
            } else {
                bump(&c.v, 2)
            };
            ge(&c.v) && lt(&upper)
        }
        _ => false,
    }
}

/// Whether `version` satisfies `constraint`.
pub(crate) fn satisfies(constraint: &str, version: &str) -> Result<bool, String> {
    let v = parse_version(version).ok_or_else(|| "Invalid Semantic Version".to_owned())?;
    for alt in constraint.split("||") {
        let alt = alt.trim();
        let mut ok = true;
        // Hyphen ranges: `1.2 - 1.4.5`.
        let parts: Vec<String> = if let Some((lo, hi)) = alt.split_once(" - ") {
            vec![format!(">={}", lo.trim()), format!("<={}", hi.trim())]
        } else {
            split_and(alt)
        };
        for p in parts {
            let c = parse_constraint_part(&p)
                .ok_or_else(|| format!("improper constraint: {constraint}"))?;
            if !check(&c, &v) {
                ok = false;
                break;
            }
        }
        if ok {
            return Ok(true);
        }
    }
    Ok(false)
}

fn split_and(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tok in s.split([',', ' ']).filter(|t| !t.is_empty()) {
        // An operator alone (`>= 1.2`) joins the next token.
        if let Some(last) = out.last_mut()
            && last.chars().all(|c| "=<>!~^".contains(c))
        {
            last.push_str(tok);
            continue;
        }
        out.push(tok.to_owned());
    }
    out
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("semverCompare", |_, a| {
        arity("semverCompare", a, 2)?;
        satisfies(want_str(&a[0])?, want_str(&a[1])?).map(Value::Bool)
    });
    m.insert("semver", |_, a| {
        arity("semver", a, 1)?;
        let s = want_str(&a[0])?;
        let v = parse_version(s).ok_or_else(|| "Invalid Semantic Version".to_owned())?;
        let mut m = BTreeMap::new();
        m.insert("Major".to_owned(), Value::Int(v.major as i64));
        m.insert("Minor".to_owned(), Value::Int(v.minor as i64));
        m.insert("Patch".to_owned(), Value::Int(v.patch as i64));
        m.insert("Prerelease".to_owned(), Value::str(v.pre));
        m.insert("Metadata".to_owned(), Value::str(v.meta));
        m.insert("Original".to_owned(), Value::str(s));
        Ok(Value::map(m))
    });
}
