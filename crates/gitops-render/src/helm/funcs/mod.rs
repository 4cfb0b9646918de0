//! The function library Helm registers: Sprig's functions (by family, one module each) and
//! Helm's own (`include`, `tpl`, `required`, `toYaml`...). Argument conversions follow Sprig's
//! (which uses `cast` for numbers) and Go's for typed parameters.

mod certs;
mod conv;
mod crypto;
mod dates;
mod der;
mod dicts;
mod encoding;
mod helmfns;
mod lists;
mod math;
mod reflection;
mod regex;
mod rsakey;
mod semver;
mod strings;
mod url;

use crate::gotemplate::{FuncMap, builtin_funcs};

pub(crate) use conv::to_yaml_text;
pub(crate) use encoding::b64encode;
pub(crate) use helmfns::{ERR_END, ERR_START, RenderMemo};
pub(crate) use regex::compile as compile_regex;

/// Whether Helm accepts `v` as a chart version (Masterminds semver, loose).
pub(crate) fn semver_valid(v: &str) -> bool {
    semver::parse_version(v).is_some()
}

/// Semver precedence of two versions; `None` when either is not a version.
pub(crate) fn semver_cmp(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    Some(semver::parse_version(a)?.cmp(&semver::parse_version(b)?))
}

/// Whether `constraint` parses (an empty one does not).
pub(crate) fn semver_constraint_valid(constraint: &str) -> bool {
    semver::satisfies(constraint, "0.0.0").is_ok()
}

/// Whether `version` satisfies the constraint (false for an empty or invalid constraint).
pub(crate) fn semver_satisfies(constraint: &str, version: &str) -> bool {
    semver::satisfies(constraint, version).unwrap_or(false)
}

/// Go's builtins, Sprig's functions and Helm's, as `helm template` sees them.
pub(crate) fn helm_funcs() -> FuncMap {
    let mut m = builtin_funcs();
    strings::register(&mut m);
    lists::register(&mut m);
    dicts::register(&mut m);
    math::register(&mut m);
    encoding::register(&mut m);
    crypto::register(&mut m);
    certs::register(&mut m);
    dates::register(&mut m);
    semver::register(&mut m);
    regex::register(&mut m);
    reflection::register(&mut m);
    helmfns::register(&mut m);
    url::register(&mut m);
    m
}

#[cfg(test)]
mod tests;
