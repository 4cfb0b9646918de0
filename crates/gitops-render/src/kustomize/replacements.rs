//! `replacements`: copy a field of one object into fields of others. Field paths are dotted
//! (`spec.template.spec.containers.[name=app].image`), with `[key=value]` list selectors,
//! numeric indexes and `*`; `options` split values at a delimiter and can create fields.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::kustfile::Selector;
use super::patches::Matcher;
use super::resource::Resource;

type Result<T> = std::result::Result<T, String>;

/// One replacement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Replacement {
    pub source: Source,
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
}

/// Where the value comes from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Source {
    #[serde(flatten)]
    pub selector: Selector,
    #[serde(default)]
    pub field_path: String,
    #[serde(default)]
    pub options: FieldOptions,
}

/// Where the value goes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct TargetSpec {
    pub select: Selector,
    #[serde(default)]
    pub reject: Vec<Selector>,
    #[serde(default)]
    pub field_paths: Vec<String>,
    #[serde(default)]
    pub options: FieldOptions,
}

/// `options` of a source or target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct FieldOptions {
    #[serde(default)]
    pub delimiter: String,
    #[serde(default)]
    pub index: i64,
    #[serde(default)]
    pub create: bool,
}

/// Applies `replacement` to `resources`.
pub(super) fn apply(resources: &mut [Resource], replacement: &Replacement) -> Result<()> {
    let source_matcher = Matcher::new(&replacement.source.selector)?;
    let sources: Vec<&Resource> = resources
        .iter()
        .filter(|r| source_matcher.matches(r))
        .collect();
    let source = match sources.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "nothing selected by the source {:?}",
                replacement.source.selector
            ));
        }
        _ => {
            return Err(format!(
                "the source {:?} selects several objects",
                replacement.source.selector
            ));
        }
    };
    let path = if replacement.source.field_path.is_empty() {
        "metadata.name"
    } else {
        &replacement.source.field_path
    };
    let root = Value::Object(source.obj.clone());
    let mut found = Vec::new();
    collect(&root, &split(path), &mut found);
    let Some(mut value) = found.into_iter().next() else {
        return Err(format!(
            "field `{path}` not found in the source {}",
            source.cur_id()
        ));
    };
    let o = &replacement.source.options;
    if !o.delimiter.is_empty() {
        let s = value.as_str().unwrap_or_default().to_owned();
        let parts: Vec<&str> = s.split(o.delimiter.as_str()).collect();
        let i = usize::try_from(o.index).ok().filter(|i| *i < parts.len());
        let Some(i) = i else {
            return Err(format!(
                "options.index {} is out of range for `{s}`",
                o.index
            ));
        };
        value = Value::String(parts[i].to_owned());
    }
    for target in &replacement.targets {
        let select = Matcher::new(&target.select)?;
        let rejects = target
            .reject
            .iter()
            .map(Matcher::new)
            .collect::<Result<Vec<_>>>()?;
        for r in resources.iter_mut() {
            if !select.matches(r) || rejects.iter().any(|m| m.matches(r)) {
                continue;
            }
            for fp in &target.field_paths {
                let mut root = Value::Object(std::mem::take(&mut r.obj));
                let n = set(&mut root, &split(fp), &value, &target.options);
                if let Value::Object(m) = root {
                    r.obj = m;
                }
                if n == 0 && !target.options.create {
                    return Err(format!(
                        "unable to find field `{fp}` in replacement target {}",
                        r.cur_id()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Splits a field path at dots outside brackets.
fn split(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

fn selector(seg: &str) -> Option<(&str, &str)> {
    seg.strip_prefix('[')?.strip_suffix(']')?.split_once('=')
}

fn children<'a>(v: &'a Value, seg: &str) -> Vec<&'a Value> {
    match (v, selector(seg)) {
        (Value::Array(items), Some((k, want))) => items
            .iter()
            .filter(|e| e.get(k).is_some_and(|x| scalar(x) == want))
            .collect(),
        (Value::Array(items), None) if seg == "*" => items.iter().collect(),
        (Value::Array(items), None) => seg
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get(i))
            .into_iter()
            .collect(),
        (Value::Object(m), None) if seg == "*" => m.values().collect(),
        (Value::Object(m), None) => m.get(seg).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn collect(v: &Value, path: &[String], out: &mut Vec<Value>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(v.clone());
        return;
    };
    for c in children(v, first) {
        collect(c, rest, out);
    }
}

/// Sets `value` at `path`; returns how many fields were set.
fn set(v: &mut Value, path: &[String], value: &Value, o: &FieldOptions) -> usize {
    let Some((first, rest)) = path.split_first() else {
        if o.delimiter.is_empty() {
            *v = value.clone();
        } else {
            let cur = v.as_str().unwrap_or_default().to_owned();
            let mut parts: Vec<String> =
                cur.split(o.delimiter.as_str()).map(str::to_owned).collect();
            let new = scalar(value);
            match usize::try_from(o.index) {
                Ok(i) if i < parts.len() => parts[i] = new,
                Ok(_) => parts.push(new),
                Err(_) => parts.insert(0, new),
            }
            *v = Value::String(parts.join(&o.delimiter));
        }
        return 1;
    };
    match v {
        Value::Array(items) => {
            let mut n = 0;
            let sel = selector(first);
            for (i, item) in items.iter_mut().enumerate() {
                let hit = match sel {
                    Some((k, want)) => item.get(k).is_some_and(|x| scalar(x) == want),
                    None => first == "*" || first.parse::<usize>().ok() == Some(i),
                };
                if hit {
                    n += set(item, rest, value, o);
                }
            }
            n
        }
        Value::Object(m) => {
            if first == "*" {
                return m.values_mut().map(|c| set(c, rest, value, o)).sum();
            }
            if !m.contains_key(first.as_str()) {
                if !o.create {
                    return 0;
                }
                let new = match rest.first().and_then(|s| selector(s)) {
                    Some((k, want)) => {
                        let mut e = Map::new();
                        e.insert(k.to_owned(), Value::String(want.to_owned()));
                        Value::Array(vec![Value::Object(e)])
                    }
                    None => Value::Object(Map::new()),
                };
                m.insert(first.clone(), new);
            }
            m.get_mut(first.as_str())
                .map_or(0, |c| set(c, rest, value, o))
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_select_list_elements_and_split_values() {
        let mut v = json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}});
        let o = FieldOptions {
            delimiter: ":".into(),
            index: 1,
            create: false,
        };
        assert_eq!(
            set(
                &mut v,
                &split("spec.containers.[name=b].image"),
                &json!("2"),
                &o
            ),
            1
        );
        assert_eq!(v["spec"]["containers"][1]["image"], "y:2");
        assert_eq!(v["spec"]["containers"][0]["image"], "x:1");
        let mut found = Vec::new();
        collect(&v, &split("spec.containers.0.name"), &mut found);
        assert_eq!(found, [json!("a")]);
    }
}
