//! Loading charts from a directory or a `.tgz` archive into memory, as Helm's loader does:
//! `Chart.yaml` (validated), `values.yaml`, `values.schema.json`, `templates/`, `crds/`, other
//! files for `.Files`, and subcharts under `charts/` (directories and archives), honouring
//! `.helmignore`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde_json::Value as Json;

use gitops_core::confine::Boundary;

use super::HelmError;
use super::funcs::semver_valid;
use super::ignore::Rules;

/// A dependency as declared in `Chart.yaml` (or `requirements.yaml` of v1 charts).
#[derive(Debug, Clone, Default)]
pub struct Dependency {
    /// Chart name.
    pub name: String,
    /// Version constraint.
    pub version: String,
    /// Repository URL.
    pub repository: String,
    /// Comma-separated value paths that enable or disable it.
    pub condition: String,
    /// Tags that enable or disable it.
    pub tags: Vec<String>,
    /// Values imported into the parent.
    pub import_values: Vec<Json>,
    /// Name the chart takes in the parent.
    pub alias: String,
    /// Raw entry (for `.Chart.Dependencies`).
    pub raw: Json,
}

/// A loaded chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Chart name (the alias once dependencies are resolved).
    pub name: String,
    /// Chart version.
    pub version: String,
    /// `application` or `library` (empty means application).
    pub chart_type: String,
    /// `Chart.yaml` as parsed.
    pub metadata: serde_json::Map<String, Json>,
    /// Declared dependencies.
    pub dependencies: Vec<Dependency>,
    /// `values.yaml` (numbers as float64, as Helm reads them).
    pub values: serde_json::Map<String, Json>,
    /// `values.schema.json`, without the annotations validation does not read (`description`,
    /// `default`, `title`, `examples`, `$comment`) unless it has a `$ref`.
    pub schema: Option<Json>,
    /// `templates/...` files: path relative to the chart, and text.
    pub templates: Vec<(String, String)>,
    /// `crds/...` files.
    pub crds: Vec<(String, String)>,
    /// Other files, for `.Files`.
    pub files: Vec<(String, Vec<u8>)>,
    /// Subcharts from `charts/`.
    pub subcharts: Vec<Chart>,
}

/// Loads a chart from a directory or a `.tgz` file, reading nothing outside the chart's
/// directory.
///
/// # Errors
/// Unreadable files, malformed `Chart.yaml`/`values.yaml`, or metadata Helm refuses.
pub fn load(path: &Path) -> Result<Chart, HelmError> {
    load_within(path, None)
}

/// Loads a chart from a directory or a `.tgz` file. Links in a chart directory are followed as
/// Helm follows them, but only to files and directories inside `boundary` (the chart's own
/// directory when `None`), and each real directory is read once.
///
/// # Errors
/// As [`load`], and a link that leads outside the boundary.
pub fn load_within(path: &Path, boundary: Option<&Boundary>) -> Result<Chart, HelmError> {
    let read_err = |source| HelmError::Read {
        path: path.to_owned(),
        source,
    };
    let files = if path.is_dir() {
        let own;
        let boundary = match boundary {
            Some(b) => b,
            None => {
                own = Boundary::new(path).map_err(read_err)?;
                &own
            }
        };
        boundary.resolve(path).map_err(read_err)?;
        read_dir(path, boundary)?
    } else {
        let data = match boundary {
            Some(b) => b.read(path),
            None => gitops_core::confine::read_file(path),
        }
        .map_err(read_err)?;
        read_archive(&data).map_err(|message| HelmError::Load {
            chart: path.display().to_string(),
            message,
        })?
    };
    from_files(files).map_err(|message| HelmError::Load {
        chart: path.display().to_string(),
        message,
    })
}

fn read_dir(root: &Path, boundary: &Boundary) -> Result<Vec<(String, Vec<u8>)>, HelmError> {
    let rules = match boundary.read_to_string(&root.join(".helmignore")) {
        Ok(t) => Rules::parse(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Rules::parse(""),
        Err(source) => {
            return Err(HelmError::Read {
                path: root.join(".helmignore"),
                source,
            });
        }
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    seen.insert(boundary.resolve(root).map_err(|source| HelmError::Read {
        path: root.to_owned(),
        source,
    })?);
    let mut stack = vec![(root.to_owned(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|source| HelmError::Read {
            path: dir.clone(),
            source,
        })?;
        let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel_path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let p = e.path();
            // The entry's type comes with the directory listing; only a symbolic link needs a
            // `stat` to learn whether it leads to a directory.
            let is_link = e.file_type().is_ok_and(|t| t.is_symlink());
            let is_dir = match e.file_type() {
                Ok(t) if !t.is_symlink() => t.is_dir(),
                _ => p.is_dir(),
            };
            if rules.ignore(&rel_path, is_dir) {
                continue;
            }
            let read_err = |source| HelmError::Read {
                path: p.clone(),
                source,
            };
            if is_dir {
                // Links are judged by where they land; a directory reached again (a link back
                // up the tree) is not read twice.
                if seen.insert(boundary.resolve(&p).map_err(read_err)?) {
                    stack.push((p, rel_path));
                }
            } else {
                let data = if is_link {
                    boundary.read(&p)
                } else {
                    gitops_core::confine::read_file(&p)
                }
                .map_err(read_err)?;
                out.push((rel_path, data));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Helm's `MaxDecompressedChartSize` (pkg/chart/loader/archive): the most a chart archive may
/// inflate to, all its files together.
const MAX_DECOMPRESSED_CHART_SIZE: u64 = 100 * 1024 * 1024;

/// Helm's `MaxDecompressedFileSize`: the most one file of a chart archive may inflate to.
const MAX_DECOMPRESSED_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// Reads a gzipped tar; paths lose their first component (the chart's directory). As Helm's
/// `LoadArchiveFiles`, it refuses entries that leave the chart's directory and archives that
/// inflate past Helm's limits, reading no more than the limits allow.
fn read_archive(data: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut ar = tar::Archive::new(gz);
    let mut raw = Vec::new();
    let mut remaining = MAX_DECOMPRESSED_CHART_SIZE;
    for entry in ar
        .entries()
        .map_err(|e| format!("cannot read archive: {e}"))?
    {
        let entry = entry.map_err(|e| format!("cannot read archive: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let rel = archive_entry_name(&path)?;
        let buf = read_entry_within(entry, &path, &mut remaining)?;
        raw.push((rel, buf));
    }
    let rules = raw.iter().find(|(n, _)| n == ".helmignore").map_or_else(
        || Rules::parse(""),
        |(_, d)| Rules::parse(&String::from_utf8_lossy(d)),
    );
    let mut out: Vec<_> = raw
        .into_iter()
        .filter(|(n, _)| !rules.ignore(n, false))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The name of archive entry `path` inside the chart (without the chart's directory, cleaned),
/// or Helm's error for a name outside the chart's directory.
fn archive_entry_name(path: &str) -> Result<String, String> {
    // Archives made on Windows may use `\`.
    let path = path.replace('\\', "/");
    let (first, rest) = path.split_once('/').unwrap_or((path.as_str(), ""));
    if rest.starts_with('/') {
        return Err(format!("chart illegally contains absolute paths: `{path}`"));
    }
    let cleaned = clean_relative(rest);
    if cleaned == "." {
        return Err(format!(
            "chart illegally contains content outside the base directory: `{path}`"
        ));
    }
    if cleaned.starts_with("..") {
        return Err(format!(
            "chart illegally references parent directory: `{path}`"
        ));
    }
    let bytes = cleaned.as_bytes();
    if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":/" {
        return Err(format!("chart contains illegally named files: `{path}`"));
    }
    if first == "Chart.yaml" {
        return Err("chart yaml not in base directory".to_owned());
    }
    Ok(cleaned)
}

/// Go's `path.Clean` of a relative path: no empty or `.` components, `..` folded where it can be.
fn clean_relative(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// Reads one archive entry, at most [`MAX_DECOMPRESSED_FILE_SIZE`] and at most what is left of
/// the chart's [`MAX_DECOMPRESSED_CHART_SIZE`] (taken from `remaining`).
fn read_entry_within(
    entry: impl std::io::Read,
    path: &str,
    remaining: &mut u64,
) -> Result<Vec<u8>, String> {
    let too_large_chart = || {
        format!(
            "decompressed chart is larger than the maximum size {MAX_DECOMPRESSED_CHART_SIZE} bytes"
        )
    };
    let too_large_file = || {
        format!(
            "decompressed chart file `{path}` is larger than the maximum file size \
             {MAX_DECOMPRESSED_FILE_SIZE} bytes"
        )
    };
    // The size in the header may lie; what is read is bounded all the same.
    let limit = MAX_DECOMPRESSED_FILE_SIZE.min(*remaining);
    let mut buf = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read archive: {e}"))?;
    let read = buf.len() as u64;
    if read > MAX_DECOMPRESSED_FILE_SIZE {
        return Err(too_large_file());
    }
    if read >= *remaining {
        return Err(too_large_chart());
    }
    *remaining -= read;
    Ok(buf)
}

fn yaml_map(text: &str, what: &str) -> Result<serde_json::Map<String, Json>, String> {
    let v =
        gitops_core::yaml::parse_value(text, gitops_core::yaml::Schema::Yaml11).map_err(|e| {
            format!(
                "cannot load {what}: error converting YAML to JSON: yaml: line {}: {}",
                e.position.line, e.message
            )
        })?;
    match v {
        Json::Object(m) => Ok(m),
        Json::Null => Ok(serde_json::Map::new()),
        _ => Err(format!(
            "cannot load {what}: error unmarshaling JSON: json: cannot unmarshal non-object into Go value of type map[string]interface {{}}"
        )),
    }
}

/// Drops nulls from chart defaults: Helm v4 does not let a null in a chart's `values.yaml`
/// delete a subchart's default, and drops it from the chart's own values.
fn strip_nulls(mut v: Json) -> Json {
    strip_nulls_in_place(&mut v);
    v
}

/// [`strip_nulls`] without rebuilding the maps (a large `values.yaml` has thousands).
fn strip_nulls_in_place(v: &mut Json) {
    if let Json::Object(m) = v {
        m.retain(|_, x| !x.is_null());
        m.values_mut().for_each(strip_nulls_in_place);
    }
}

/// Turns every number into a float, as Go's JSON decoding into `interface{}` does.
pub(crate) fn floatify(mut v: Json) -> Json {
    floatify_in_place(&mut v);
    v
}

/// [`floatify`] without rebuilding the lists and maps.
fn floatify_in_place(v: &mut Json) {
    match v {
        Json::Number(n) => {
            *v = n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Json::Null, Json::Number);
        }
        Json::Array(a) => a.iter_mut().for_each(floatify_in_place),
        Json::Object(m) => m.values_mut().for_each(floatify_in_place),
        _ => {}
    }
}

fn str_field(m: &serde_json::Map<String, Json>, k: &str) -> String {
    match m.get(k) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn parse_dependencies(list: Option<&Json>) -> Vec<Dependency> {
    let Some(Json::Array(items)) = list else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|d| {
            let m = d.as_object()?;
            Some(Dependency {
                name: str_field(m, "name"),
                version: str_field(m, "version"),
                repository: str_field(m, "repository"),
                condition: str_field(m, "condition"),
                tags: m
                    .get("tags")
                    .and_then(Json::as_array)
                    .map(|t| {
                        t.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                import_values: m
                    .get("import-values")
                    .and_then(Json::as_array)
                    .cloned()
                    .unwrap_or_default(),
                alias: str_field(m, "alias"),
                raw: d.clone(),
            })
        })
        .collect()
}

/// Builds a chart from its files (paths relative to the chart root).
/// How deeply subcharts may nest (`charts/a/charts/b/…`, or archives in archives). Helm sets no
/// bound; real charts nest two or three levels, and loading (like rendering after it) recurses
/// once a level: a few megabytes of nested archives could otherwise nest tens of thousands deep.
const MAX_SUBCHART_NESTING: usize = 100;

fn from_files(files: Vec<(String, Vec<u8>)>) -> Result<Chart, String> {
    from_files_at(files, 0)
}

/// [`from_files`] for a chart `nesting` levels below the top one.
fn from_files_at(files: Vec<(String, Vec<u8>)>, nesting: usize) -> Result<Chart, String> {
    let mut metadata = None;
    let mut values = serde_json::Map::new();
    let mut schema = None;
    let mut requirements = None;
    let mut templates = Vec::new();
    let mut crds = Vec::new();
    let mut other = Vec::new();
    let mut sub: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (name, data) in files {
        // Valid UTF-8 (nearly always) is checked without building a copy.
        let text = || match std::str::from_utf8(&data) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(&data),
        };
        match name.as_str() {
            "Chart.yaml" => metadata = Some(yaml_map(&text(), "Chart.yaml")?),
            "values.yaml" => {
                values =
                    match strip_nulls(floatify(Json::Object(yaml_map(&text(), "values.yaml")?))) {
                        Json::Object(m) => m,
                        _ => serde_json::Map::new(),
                    };
            }
            "values.schema.json" => {
                schema = Some(
                    super::schema::parse(&data)
                        .map_err(|e| format!("cannot load values.schema.json: {e}"))?,
                );
            }
            "requirements.yaml" => {
                requirements = Some(yaml_map(&text(), "requirements.yaml")?);
                other.push((name, data));
            }
            "Chart.lock" | "requirements.lock" => {}
            n if n.starts_with("templates/") => {
                // Valid UTF-8 (nearly always) becomes the text without a copy.
                let text = String::from_utf8(data)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                templates.push((name, text));
            }
            n if n.starts_with("crds/") => {
                crds.push((name.clone(), text().into_owned()));
                other.push((name, data));
            }
            n if n.starts_with("charts/") && !n.ends_with(".prov") => {
                let rest = &n["charts/".len()..];
                let (cname, inner) = rest.split_once('/').unwrap_or((rest, ""));
                sub.entry(cname.to_owned())
                    .or_default()
                    .push((inner.to_owned(), data));
            }
            _ => other.push((name, data)),
        }
    }
    let Some(mut md) = metadata else {
        return Err("Chart.yaml file is missing".to_owned());
    };
    if !md.contains_key("apiVersion") {
        md.insert("apiVersion".to_owned(), Json::String("v1".to_owned()));
    }
    validate(&md)?;
    let mut dependencies = parse_dependencies(md.get("dependencies"));
    if dependencies.is_empty()
        && let Some(r) = &requirements
    {
        dependencies = parse_dependencies(r.get("dependencies"));
    }
    let name = str_field(&md, "name");
    if nesting >= MAX_SUBCHART_NESTING && !sub.is_empty() {
        return Err(format!(
            "subcharts are nested more than {MAX_SUBCHART_NESTING} deep below the chart"
        ));
    }
    let mut subcharts = Vec::new();
    for (cname, files) in sub {
        if cname.starts_with(['_', '.']) {
            continue;
        }
        let loaded = if cname.ends_with(".tgz") || cname.ends_with(".tar.gz") {
            let data = files
                .into_iter()
                .find(|(inner, _)| inner.is_empty())
                .map(|(_, d)| d)
                .unwrap_or_default();
            read_archive(&data).and_then(|files| from_files_at(files, nesting + 1))
        } else {
            let files: Vec<_> = files
                .into_iter()
                .filter(|(inner, _)| !inner.is_empty())
                .collect();
            if files.is_empty() {
                continue;
            }
            from_files_at(files, nesting + 1)
        };
        subcharts
            .push(loaded.map_err(|e| format!("error unpacking subchart {cname} in {name}: {e}"))?);
    }
    Ok(Chart {
        name,
        version: str_field(&md, "version"),
        chart_type: str_field(&md, "type"),
        dependencies,
        metadata: md,
        values,
        schema,
        templates,
        crds,
        files: other,
        subcharts,
    })
}

/// Helm's `Metadata.Validate`.
fn validate(md: &serde_json::Map<String, Json>) -> Result<(), String> {
    let v = |m: &str| Err(format!("validation: {m}"));
    let name = str_field(md, "name");
    if str_field(md, "apiVersion").is_empty() {
        return v("chart.metadata.apiVersion is required");
    }
    if name.is_empty() {
        return v("chart.metadata.name is required");
    }
    if name == "." || name == ".." {
        return v(&format!("chart.metadata.name {name:?} is not allowed"));
    }
    if name.contains(['/', '\\']) {
        return v(&format!("chart.metadata.name {name:?} is invalid"));
    }
    let version = str_field(md, "version");
    if version.is_empty() {
        return v("chart.metadata.version is required");
    }
    if !semver_valid(&version) {
        return v(&format!("chart.metadata.version {version:?} is invalid"));
    }
    let t = str_field(md, "type");
    if !t.is_empty() && t != "application" && t != "library" {
        return v("chart.metadata.type must be application or library");
    }
    let mut seen = std::collections::HashSet::new();
    for d in parse_dependencies(md.get("dependencies")) {
        if d.name.is_empty() {
            return v("dependencies must have a name");
        }
        let key = if d.alias.is_empty() {
            d.name.clone()
        } else {
            d.alias.clone()
        };
        if !d.alias.is_empty()
            && !d
                .alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return v(&format!(
                "dependency {:?} has disallowed characters in the alias",
                d.name
            ));
        }
        if !seen.insert(key.clone()) {
            return v(&format!(
                "more than one dependency with name or alias {key:?}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floatify_and_strip_nulls_reach_nested_values() {
        let v = serde_json::json!({"a": 1, "b": [2, {"c": 3, "n": null}], "m": {"n": null, "d": 4}, "n": null});
        let f = floatify(v);
        assert_eq!(
            f,
            serde_json::json!({"a": 1.0, "b": [2.0, {"c": 3.0, "n": null}], "m": {"n": null, "d": 4.0}, "n": null})
        );
        // Nulls go from maps at any depth, not from maps inside lists.
        assert_eq!(
            strip_nulls(f),
            serde_json::json!({"a": 1.0, "b": [2.0, {"c": 3.0, "n": null}], "m": {"d": 4.0}})
        );
    }
}
