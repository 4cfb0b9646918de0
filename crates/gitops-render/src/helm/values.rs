//! Values as Helm computes them: user values files merged in order, `--set`/`--set-string`
//! parsed with Helm's path syntax, chart defaults coalesced under them (nulls delete keys,
//! subcharts get their section plus `global`), dependency conditions/tags/aliases and
//! `import-values`.

use serde_json::{Map, Value as Json};

use super::chart::{Chart, Dependency};
use super::funcs::semver_satisfies;

type Table = Map<String, Json>;

/// Merges `overlay` into `base` as Helm merges `-f` files: maps recursively, everything else
/// replaced.
pub(crate) fn merge_maps(base: &mut Table, overlay: Table) {
    for (k, v) in overlay {
        match (base.get_mut(&k), v) {
            (Some(Json::Object(b)), Json::Object(o)) => merge_maps(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// `CoalesceValues(chart, vals)`: the chart's defaults (and its subcharts') under `vals`.
pub(crate) fn coalesce_values(chart: &Chart, vals: &Table, merge: bool) -> Table {
    let mut dest = vals.clone();
    coalesce(chart, &mut dest, merge);
    dest
}

fn coalesce(chart: &Chart, dest: &mut Table, merge: bool) {
    coalesce_chart_values(chart, dest, merge);
    for sub in &chart.subcharts {
        let entry = dest
            .entry(sub.name.clone())
            .or_insert_with(|| Json::Object(Map::new()));
        if !entry.is_object() {
            continue;
        }
        let globals = dest.get("global").cloned();
        let Some(Json::Object(dv)) = dest.get_mut(&sub.name) else {
            continue;
        };
        coalesce_globals(dv, globals.as_ref());
        coalesce(sub, dv, merge);
    }
}

fn coalesce_globals(dest: &mut Table, src_global: Option<&Json>) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Json::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let sg = match src_global {
        None => Map::new(),
        Some(Json::Object(m)) => m.clone(),
        Some(_) => return,
    };
    for (k, v) in sg {
        match v {
            Json::Object(vv) => match dg.get(&k) {
                None => {
                    dg.insert(k, Json::Object(vv));
                }
                Some(Json::Object(dv)) => {
                    let mut merged = vv;
                    coalesce_tables(&mut merged, dv.clone(), true);
                    dg.insert(k, Json::Object(merged));
                }
                Some(_) => {}
            },
            other => {
                if !matches!(dg.get(&k), Some(Json::Object(_))) {
                    dg.insert(k, other);
                }
            }
        }
    }
    dest.insert("global".to_owned(), Json::Object(dg));
}

fn coalesce_chart_values(chart: &Chart, v: &mut Table, merge: bool) {
    for (key, val) in &chart.values {
        match v.get_mut(key) {
            Some(Json::Null) if !merge => {
                v.remove(key);
            }
            Some(Json::Object(dest)) => {
                if let Json::Object(src) = val {
                    let is_child = chart.subcharts.iter().any(|s| &s.name == key);
                    coalesce_tables(dest, src.clone(), merge || is_child);
                }
            }
            Some(_) => {}
            None => {
                v.insert(key.clone(), val.clone());
            }
        }
    }
}

/// `coalesceTablesFullKey`: `dst` wins; `src` fills what is missing; nulls in `dst` delete
/// (unless merging).
pub(crate) fn coalesce_tables(dst: &mut Table, mut src: Table, merge: bool) {
    for (k, v) in dst.iter() {
        if v.is_null() {
            src.insert(k.clone(), Json::Null);
        }
    }
    for (k, sv) in src {
        match dst.get_mut(&k) {
            Some(Json::Null) if !merge => {
                dst.remove(&k);
            }
            None => {
                dst.insert(k, sv);
            }
            Some(Json::Object(dv)) => {
                if let Json::Object(sm) = sv {
                    coalesce_tables(dv, sm, merge);
                }
            }
            Some(_) => {}
        }
    }
}

fn path_value<'a>(vals: &'a Table, path: &str) -> Option<&'a Json> {
    let mut parts = path.split('.');
    let last = parts.next_back()?;
    let mut cur = vals;
    for p in parts {
        cur = cur.get(p)?.as_object()?;
    }
    cur.get(last)
}

fn table<'a>(vals: &'a Table, path: &str) -> Option<&'a Table> {
    let mut cur = vals;
    for p in path.split('.').filter(|p| !p.is_empty()) {
        cur = cur.get(p)?.as_object()?;
    }
    Some(cur)
}

/// `ProcessDependenciesWithMerge`: drops disabled subcharts, applies aliases and imports
/// values from children.
pub(crate) fn process_dependencies(chart: &mut Chart, vals: &Table) {
    process_enabled(chart, vals, "");
    process_imports(chart);
}

fn compatible(d: &Dependency, c: &Chart) -> bool {
    semver_satisfies(&d.version, &c.version)
}

fn process_enabled(chart: &mut Chart, vals: &Table, path: &str) {
    if chart.dependencies.is_empty() {
        return;
    }
    // Subcharts move to their place; one is copied only when a later dependency (an alias of
    // the same chart) still needs it.
    let mut existing: Vec<Option<Chart>> = std::mem::take(&mut chart.subcharts)
        .into_iter()
        .map(Some)
        .collect();
    let mut deps: Vec<Chart> = Vec::new();
    for slot in &mut existing {
        let undeclared = slot.as_ref().is_some_and(|c| {
            !chart
                .dependencies
                .iter()
                .any(|d| d.name == c.name && compatible(d, c))
        });
        if undeclared && let Some(c) = slot.take() {
            deps.push(c);
        }
    }
    for i in 0..chart.dependencies.len() {
        let d = &chart.dependencies[i];
        let found = existing.iter().position(|c| {
            c.as_ref()
                .is_some_and(|c| c.name == d.name && compatible(d, c))
        });
        if let Some(j) = found {
            let needed_later = chart.dependencies[i + 1..].iter().any(|later| {
                existing[j]
                    .as_ref()
                    .is_some_and(|c| c.name == later.name && compatible(later, c))
            });
            let c = if needed_later {
                existing[j].clone()
            } else {
                existing[j].take()
            };
            if let Some(mut c) = c {
                let d = &chart.dependencies[i];
                if !d.alias.is_empty() {
                    c.name = d.alias.clone();
                    c.metadata
                        .insert("name".to_owned(), Json::String(d.alias.clone()));
                }
                deps.push(c);
            }
        }
        let d = &mut chart.dependencies[i];
        if !d.alias.is_empty() {
            d.name = d.alias.clone();
        }
    }
    chart.subcharts = deps;
    let cvals = coalesce_values(chart, vals, false);
    let mut enabled: Vec<bool> = vec![true; chart.dependencies.len()];
    // Tags.
    if let Some(tags) = table(&cvals, "tags") {
        for (i, d) in chart.dependencies.iter().enumerate() {
            let (mut has_true, mut has_false) = (false, false);
            for t in &d.tags {
                match tags.get(t) {
                    Some(Json::Bool(true)) => has_true = true,
                    Some(Json::Bool(false)) => has_false = true,
                    _ => {}
                }
            }
            enabled[i] = has_true || !has_false;
        }
    }
    // Conditions win over tags.
    for (i, d) in chart.dependencies.iter().enumerate() {
        for c in d.condition.trim().split(',') {
            let c = c.trim();
            if c.is_empty() {
                continue;
            }
            if let Some(Json::Bool(b)) = path_value(&cvals, &format!("{path}{c}")) {
                enabled[i] = *b;
                break;
            }
        }
    }
    let removed: Vec<String> = chart
        .dependencies
        .iter()
        .zip(&enabled)
        .filter(|(_, e)| !**e)
        .map(|(d, _)| d.name.clone())
        .collect();
    chart.subcharts.retain(|c| !removed.contains(&c.name));
    chart.dependencies.retain(|d| !removed.contains(&d.name));
    for sub in &mut chart.subcharts {
        let subpath = format!("{path}{}.", sub.name);
        process_enabled(sub, &cvals, &subpath);
    }
}

fn path_to_map(path: &str, data: Table) -> Table {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for p in path
        .split('.')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let mut m = Map::new();
        m.insert(p.to_owned(), Json::Object(cur));
        cur = m;
    }
    cur
}

fn process_imports(chart: &mut Chart) {
    for sub in &mut chart.subcharts {
        process_imports(sub);
    }
    if chart.dependencies.is_empty() {
        return;
    }
    let cvals = coalesce_values(chart, &Map::new(), true);
    let mut b = Map::new();
    for d in &chart.dependencies {
        for iv in &d.import_values {
            let (child, parent) = match iv {
                Json::Object(m) => (
                    m.get("child")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    m.get("parent")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                ),
                Json::String(s) => (format!("exports.{s}"), ".".to_owned()),
                _ => continue,
            };
            if let Some(t) = table(&cvals, &format!("{}.{child}", d.name)) {
                let src = path_to_map(&parent, t.clone());
                coalesce_tables(&mut b, src, true);
            }
        }
    }
    let mut merged = cvals;
    coalesce_tables(&mut merged, b, true);
    chart.values = merged;
}

/// Helm's `strvals.MaxIndex`: the largest list index `--set` accepts.
const MAX_INDEX: usize = 65_536;

/// Helm's `strvals.MaxNestedNameLevel`: how many `.`s a `--set` name may have.
const MAX_NESTED_NAME_LEVEL: usize = 30;

/// How deeply a `--set` path may nest names and list indexes together. Helm has no such bound
/// for indexes (`a[0][0]…` and `a[0].a[0]…` escape its name level, Go's stack grows); the
/// parser recurses per level, and real paths are a few levels deep.
const MAX_SET_DEPTH: usize = 100;

/// Parses one `--set` (or `--set-string` when `strings`) argument into `into`.
///
/// # Errors
/// Malformed paths or indexes, with Helm's wording.
pub(crate) fn parse_set(arg: &str, into: &mut Table, strings: bool) -> Result<(), String> {
    let chars: Vec<char> = arg.chars().collect();
    let mut p = SetParser {
        s: &chars,
        i: 0,
        strings,
        depth: 0,
    };
    while p.i < chars.len() {
        p.depth = 0;
        p.key(into, 0)?;
    }
    Ok(())
}

struct SetParser<'a> {
    s: &'a [char],
    i: usize,
    strings: bool,
    /// Names and indexes of the current path so far (bounded by [`MAX_SET_DEPTH`]).
    depth: usize,
}

impl SetParser<'_> {
    /// Reads until one of `stops`, handling `\` escapes. Returns the text and the stop char.
    fn until(&mut self, stops: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        while self.i < self.s.len() {
            let c = self.s[self.i];
            self.i += 1;
            if c == '\\' && self.i < self.s.len() {
                out.push(self.s[self.i]);
                self.i += 1;
                continue;
            }
            if stops.contains(&c) {
                return (out, Some(c));
            }
            out.push(c);
        }
        (out, None)
    }

    fn typed(&self, v: &str) -> Json {
        if self.strings {
            return Json::String(v.to_owned());
        }
        if v.eq_ignore_ascii_case("true") {
            return Json::Bool(true);
        }
        if v.eq_ignore_ascii_case("false") {
            return Json::Bool(false);
        }
        if v.eq_ignore_ascii_case("null") {
            return Json::Null;
        }
        if v == "0" {
            return Json::from(0i64);
        }
        if !v.is_empty()
            && !v.starts_with('0')
            && let Ok(i) = v.parse::<i64>()
        {
            return Json::from(i);
        }
        Json::String(v.to_owned())
    }

    /// Enters one more level of the path.
    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_SET_DEPTH {
            return Err(format!(
                "value path is nested more than {MAX_SET_DEPTH} levels deep"
            ));
        }
        Ok(())
    }

    /// One name of the path; `nested` is Helm's count of `.`s before it.
    fn key(&mut self, data: &mut Table, nested: usize) -> Result<(), String> {
        self.enter()?;
        let (k, stop) = self.until(&['=', '[', ',', '.']);
        match stop {
            None => {
                if k.is_empty() {
                    return Ok(());
                }
                Err(format!("key {k:?} has no value"))
            }
            Some(',') => Err(format!("key {k:?} has no value (cannot end with ,)")),
            Some('=') => {
                if self.s.get(self.i) == Some(&'{') {
                    self.i += 1;
                    let list = self.list_values()?;
                    data.insert(k, Json::Array(list));
                    if self.s.get(self.i) == Some(&',') {
                        self.i += 1;
                    }
                    return Ok(());
                }
                let (v, _) = self.until(&[',']);
                data.insert(k, self.typed(&v));
                Ok(())
            }
            Some('.') => {
                if k.is_empty() {
                    return Err("key map with no name".to_owned());
                }
                if nested + 1 > MAX_NESTED_NAME_LEVEL {
                    return Err(format!(
                        "value name nested level is greater than maximum supported nested level \
                         of {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let entry = data.entry(k).or_insert_with(|| Json::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Json::Object(Map::new());
                }
                let Json::Object(inner) = entry else {
                    return Ok(());
                };
                self.key(inner, nested + 1)
            }
            Some('[') => {
                let idx = self.index()?;
                let entry = data.entry(k).or_insert_with(|| Json::Array(Vec::new()));
                if !entry.is_array() {
                    *entry = Json::Array(Vec::new());
                }
                let Json::Array(list) = entry else {
                    return Ok(());
                };
                self.list_item(list, idx, nested)
            }
            Some(_) => Ok(()),
        }
    }

    fn index(&mut self) -> Result<usize, String> {
        let (n, stop) = self.until(&[']']);
        if stop != Some(']') {
            return Err("error parsing index: missing ]".to_owned());
        }
        let i: i64 = n.parse().map_err(|e| format!("error parsing index: {e}"))?;
        if i < 0 {
            return Err("negative 0 index not allowed".to_owned());
        }
        match usize::try_from(i) {
            Ok(i) if i <= MAX_INDEX => Ok(i),
            _ => Err(format!(
                "index of {i} is greater than maximum supported index of {MAX_INDEX}"
            )),
        }
    }

    fn list_item(&mut self, list: &mut Vec<Json>, idx: usize, nested: usize) -> Result<(), String> {
        self.enter()?;
        while list.len() <= idx {
            list.push(Json::Null);
        }
        match self.s.get(self.i) {
            Some('=') => {
                self.i += 1;
                let (v, _) = self.until(&[',']);
                list[idx] = self.typed(&v);
                Ok(())
            }
            Some('.') => {
                self.i += 1;
                if !list[idx].is_object() {
                    list[idx] = Json::Object(Map::new());
                }
                let Json::Object(inner) = &mut list[idx] else {
                    return Ok(());
                };
                self.key(inner, nested)
            }
            Some('[') => {
                self.i += 1;
                let j = self.index()?;
                if !list[idx].is_array() {
                    list[idx] = Json::Array(Vec::new());
                }
                let Json::Array(inner) = &mut list[idx] else {
                    return Ok(());
                };
                self.list_item(inner, j, nested)
            }
            _ => Err(format!("parse error after index {idx}")),
        }
    }

    fn list_values(&mut self) -> Result<Vec<Json>, String> {
        let mut out = Vec::new();
        loop {
            let (v, stop) = self.until(&[',', '}']);
            match stop {
                Some(',') => out.push(self.typed(&v)),
                Some('}') => {
                    if !v.is_empty() || !out.is_empty() {
                        out.push(self.typed(&v));
                    }
                    return Ok(out);
                }
                _ => return Err("list must terminate with '}'".to_owned()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn set(s: &str) -> Json {
        let mut m = Map::new();
        parse_set(s, &mut m, false).unwrap();
        Json::Object(m)
    }

    #[test]
    fn set_index_beyond_helms_maximum_is_refused_without_allocating() {
        let mut t = Table::new();
        assert_eq!(
            parse_set("a[99999999999]=1", &mut t, false).unwrap_err(),
            "index of 99999999999 is greater than maximum supported index of 65536"
        );
        assert_eq!(
            set("a[65536]=1")["a"].as_array().map(Vec::len),
            Some(65_537)
        );
    }

    #[test]
    fn set_key_nested_sixty_thousand_deep_is_refused_instead_of_overflowing_the_stack() {
        let mut t = Table::new();
        let names = format!("{}=v", vec!["a"; 60_000].join("."));
        assert_eq!(
            parse_set(&names, &mut t, false).unwrap_err(),
            "value name nested level is greater than maximum supported nested level of 30"
        );
        let deepest_names = format!("{}=v", vec!["a"; 31].join("."));
        assert!(parse_set(&deepest_names, &mut t, false).is_ok());
        for path in [
            format!("a{}=v", "[0]".repeat(60_000)),
            "a[0].".repeat(60_000) + "a=v",
        ] {
            assert_eq!(
                parse_set(&path, &mut Table::new(), false).unwrap_err(),
                "value path is nested more than 100 levels deep"
            );
        }
        let many = (0..1_000)
            .map(|i| format!("k{i}.a.b=1"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            set(&many).as_object().map(serde_json::Map::len),
            Some(1_000)
        );
    }

    #[test]
    fn set_paths_follow_helm() {
        assert_eq!(
            set("a.b=c,d=1"),
            serde_json::json!({"a": {"b": "c"}, "d": 1})
        );
        assert_eq!(set("x={a,b}"), serde_json::json!({"x": ["a", "b"]}));
        assert_eq!(set("l[1]=true"), serde_json::json!({"l": [null, true]}));
        assert_eq!(
            set("n=null,z=0,o=012,f=1.5"),
            serde_json::json!({"n": null, "z": 0, "o": "012", "f": "1.5"})
        );
        assert_eq!(set("a\\.b=c\\,d"), serde_json::json!({"a.b": "c,d"}));
        assert_eq!(
            set("l[0].name=x"),
            serde_json::json!({"l": [{"name": "x"}]})
        );
    }

    #[test]
    fn coalesce_tables_gives_dst_priority_and_nulls_delete() {
        let mut dst = serde_json::json!({"a": 1, "gone": null, "m": {"x": 1}})
            .as_object()
            .unwrap()
            .clone();
        let src = serde_json::json!({"a": 2, "b": 3, "gone": 4, "m": {"y": 2}})
            .as_object()
            .unwrap()
            .clone();
        coalesce_tables(&mut dst, src, false);
        assert_eq!(
            Json::Object(dst),
            serde_json::json!({"a": 1, "m": {"x": 1, "y": 2}, "b": 3})
        );
    }
}
