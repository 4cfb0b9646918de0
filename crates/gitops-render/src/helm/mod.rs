//! Helm charts rendered natively, byte for byte like `helm template` (Helm v4.2):
//! [`chart`] loads a chart (directory or `.tgz`), [`values`] computes values the way Helm does,
//! [`engine`] executes the templates with the Sprig and Helm functions of [`funcs`], and
//! [`output`] orders and prints the documents; [`repo`] reads a chart repository's index and
//! picks a version.
//!
//! Hooks keep their `helm.sh/hook` annotation and are returned apart ([`HelmOutput::hooks`]),
//! after the other objects, so that later stages can order them. CRDs from `crds/` come first.
//! Non-deterministic functions (`randAlphaNum`, `uuidv4`, `now`, ...) work and give different
//! values on every render, as in Helm; `lookup` returns an empty map, as in `helm template`.

pub mod chart;
mod engine;
mod funcs;
mod ignore;
mod objects;
pub mod output;
pub mod repo;
mod schema;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitops_core::SourcedObject;
use serde_json::{Map, Value as Json};

use crate::gotemplate::Value;
pub use chart::Chart;
pub use output::Manifest;

/// Options of a Helm render, as the flags of `helm template`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HelmOptions {
    /// Release name (`.Release.Name`).
    pub release_name: String,
    /// Release namespace (`.Release.Namespace`).
    pub namespace: String,
    /// Values files (`-f`), merged in order.
    pub values_files: Vec<PathBuf>,
    /// Values given as data (a HelmRelease's `valuesFrom` and `values`, already merged), on top
    /// of the values files and under `--set`.
    pub values: Map<String, Json>,
    /// `--set` arguments.
    pub set: Vec<String>,
    /// `--set-string` arguments.
    pub set_string: Vec<String>,
    /// `--kube-version`.
    pub kube_version: Option<String>,
    /// `--api-versions` (each may hold a comma-separated list).
    pub api_versions: Vec<String>,
    /// `--include-crds`: print `crds/` files in the text output (objects always include them).
    pub include_crds: bool,
    /// `--skip-tests`: leave out hooks of the `test` event.
    pub skip_tests: bool,
    /// `--show-only`: print only the templates whose path below the chart
    /// (`templates/x.yaml`, `charts/sub/templates/y.yaml`) matches one of these globs.
    pub show_only: Vec<String>,
    /// Where the chart's files may be read from, links followed: the root of the repository the
    /// chart is in. `None`: the chart's own directory. Values files are the caller's to check:
    /// `-f` may name any file the user can read, a HelmRelease's `valuesFiles` may not.
    pub boundary: Option<gitops_core::confine::Boundary>,
}

impl Default for HelmOptions {
    fn default() -> Self {
        HelmOptions {
            release_name: "release-name".to_owned(),
            namespace: "default".to_owned(),
            values_files: Vec::new(),
            values: Map::new(),
            set: Vec::new(),
            set_string: Vec::new(),
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            skip_tests: false,
            show_only: Vec::new(),
            boundary: None,
        }
    }
}

/// Why a chart could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HelmError {
    /// A file could not be read.
    #[error("cannot read `{}`", .path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The chart is malformed (Chart.yaml, values.yaml, archive, subchart).
    #[error("chart {chart}: {message}")]
    Load {
        /// The chart's path.
        chart: String,
        /// Helm's message.
        message: String,
    },
    /// A values file or `--set` argument is malformed.
    #[error("{message}")]
    Values {
        /// What is wrong.
        message: String,
    },
    /// Values violate a chart's `values.schema.json`.
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{message}"
    )]
    Schema {
        /// Violations per chart.
        message: String,
    },
    /// A template does not parse.
    #[error("{message}")]
    Parse {
        /// Go's message with template and line.
        message: String,
    },
    /// A template failed while executing.
    #[error("{message}")]
    Render {
        /// Go's message with template, line, column and node.
        message: String,
    },
    /// A rendered document is not valid YAML.
    #[error("{message}")]
    Yaml {
        /// Helm's message naming the template.
        message: String,
    },
    /// A rendered document is not a Kubernetes object.
    #[error(transparent)]
    Manifest(#[from] gitops_core::ManifestError),
    /// A `--show-only` pattern matches no rendered template.
    #[error("could not find template {pattern} in chart")]
    ShowOnly {
        /// The pattern, as given.
        pattern: String,
    },
    /// `--name-template` does not render.
    #[error("cannot render the release name template: {message}")]
    NameTemplate {
        /// Go's message.
        message: String,
    },
}

/// The result of rendering a chart.
#[derive(Debug, Clone)]
pub struct HelmOutput {
    /// Every rendered template (path → text), `NOTES.txt` included, partials excluded.
    pub templates: BTreeMap<String, String>,
    /// `crds/` files of the chart and its subcharts: path and text.
    pub crds: Vec<(String, String)>,
}

impl HelmOutput {
    /// The documents in Helm's order: (manifests, hooks).
    ///
    /// # Errors
    /// A document that is not valid YAML, naming its template.
    pub fn sorted(&self) -> Result<(Vec<Manifest>, Vec<Manifest>), HelmError> {
        output::sort_manifests(&self.templates)
    }

    /// What `helm template` prints (with `--include-crds` when `include_crds`).
    ///
    /// # Errors
    /// A document that is not valid YAML, naming its template.
    pub fn text(&self, include_crds: bool) -> Result<String, HelmError> {
        let crds: &[(String, String)] = if include_crds { &self.crds } else { &[] };
        let (manifests, hooks) = self.sorted()?;
        Ok(output::template_text(crds, &manifests, &hooks))
    }

    /// What `helm template` prints with the output flags of `options`: `--include-crds`,
    /// `--skip-tests` and `--show-only`.
    ///
    /// # Errors
    /// A document that is not valid YAML, naming its template; a `--show-only` pattern that
    /// matches nothing.
    pub fn template_text(&self, options: &HelmOptions) -> Result<String, HelmError> {
        let crds: &[(String, String)] = if options.include_crds {
            &self.crds
        } else {
            &[]
        };
        let (manifests, mut hooks) = self.sorted()?;
        if options.skip_tests {
            hooks.retain(|h| !output::is_test_hook(h));
        }
        let text = output::template_text(crds, &manifests, &hooks);
        if options.show_only.is_empty() {
            Ok(text)
        } else {
            output::show_only(&text, &options.show_only)
        }
    }

    /// What `helm template --debug` prints when a rendered document is not valid YAML: every
    /// non-empty template as rendered, in path order, so that the broken one can be read.
    #[must_use]
    pub fn debug_text(&self) -> String {
        let mut out = String::new();
        for (path, text) in &self.templates {
            if path.ends_with("NOTES.txt") || text.trim().is_empty() {
                continue;
            }
            out.push_str(&format!("---\n# Source: {path}\n{text}\n"));
        }
        format!("{}\n", out.trim())
    }

    /// The objects: CRDs first, then manifests, then hooks; origins name the template.
    ///
    /// # Errors
    /// A document that is not a Kubernetes object.
    pub fn objects(&self) -> Result<Vec<SourcedObject>, HelmError> {
        let mut out = Vec::new();
        let (manifests, hooks) = self.sorted()?;
        let docs = self
            .crds
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .chain(
                manifests
                    .iter()
                    .chain(&hooks)
                    .map(|m| (m.path.as_str(), m.content.as_str())),
            );
        for (path, text) in docs {
            let file: Arc<Path> = Arc::from(Path::new(path));
            out.extend(gitops_core::manifest::parse_yaml(
                text,
                Some(file),
                gitops_core::yaml::Schema::Yaml11,
            )?);
        }
        Ok(out)
    }
}

/// The release name from `--name-template`: the text rendered as a Go template with the Sprig
/// functions and no data (`foobar-{{ randAlpha 4 | lower }}`).
///
/// # Errors
/// A template that does not parse or execute.
pub fn render_name_template(template: &str) -> Result<String, HelmError> {
    let render = || {
        let mut t = crate::gotemplate::Templates::new();
        let name = "name-template";
        t.parse(name, template)
            .map_err(|message| HelmError::NameTemplate { message })?;
        t.execute(&funcs::helm_funcs(), name, &Value::Nil)
            .map_err(|e| HelmError::NameTemplate {
                message: e.to_string(),
            })
    };
    crate::stack::run_with_stack("helm", RENDER_STACK, render)
        .unwrap_or_else(|message| Err(HelmError::NameTemplate { message }))
}

/// Merges `overlay` into `base` as Helm merges values files (maps recursively, anything else
/// replaced); what a HelmRelease's `valuesFrom` documents and `values` go through.
pub fn merge_values(base: &mut Map<String, Json>, overlay: Map<String, Json>) {
    values::merge_maps(base, overlay);
}

/// Sets one value with Helm's `--set` syntax (`a.b[0].c=v`; `strings` as `--set-string`); what a
/// HelmRelease's `valuesFrom` with a `targetPath` does.
///
/// # Errors
/// A malformed expression, in Helm's words.
pub fn set_value(
    expression: &str,
    into: &mut Map<String, Json>,
    strings: bool,
) -> Result<(), String> {
    values::parse_set(expression, into, strings)
}

/// The dependencies that the chart at `path` declares but does not vendor in `charts/`: `helm
/// template` refuses such a chart until `helm dependency build` fetched them, while Helm's render
/// (the reference of our conformance tests) goes on without them.
///
/// # Errors
/// A chart that does not load.
pub fn missing_dependencies(path: &Path) -> Result<Vec<String>, HelmError> {
    let chart = chart::load(path)?;
    Ok(chart
        .dependencies
        .iter()
        .filter(|d| !chart.subcharts.iter().any(|c| c.name == d.name))
        .map(|d| d.name.clone())
        .collect())
}

/// Loads and renders the chart at `path`.
///
/// # Errors
/// Any [`HelmError`].
pub fn render_chart(path: &Path, options: &HelmOptions) -> Result<HelmOutput, HelmError> {
    let chart = chart::load_within(path, options.boundary.as_ref())?;
    let mut user = Map::new();
    for f in &options.values_files {
        let text = gitops_core::confine::read_to_string(f).map_err(|source| HelmError::Read {
            path: f.clone(),
            source,
        })?;
        let v = gitops_core::yaml::parse_value(&text, gitops_core::yaml::Schema::Yaml11).map_err(
            |e| HelmError::Values {
                message: format!("failed to parse {}: {e}", f.display()),
            },
        )?;
        match chart::floatify(v) {
            Json::Object(m) => values::merge_maps(&mut user, m),
            Json::Null => {}
            _ => {
                return Err(HelmError::Values {
                    message: format!("failed to parse {}: not a map", f.display()),
                });
            }
        }
    }
    if !options.values.is_empty()
        && let Json::Object(m) = chart::floatify(Json::Object(options.values.clone()))
    {
        values::merge_maps(&mut user, m);
    }
    for s in &options.set {
        values::parse_set(s, &mut user, false).map_err(|e| HelmError::Values {
            message: format!("failed parsing --set data: {e}"),
        })?;
    }
    for s in &options.set_string {
        values::parse_set(s, &mut user, true).map_err(|e| HelmError::Values {
            message: format!("failed parsing --set-string data: {e}"),
        })?;
    }
    render(chart, &user, options)
}

/// Renders a loaded chart with user values.
///
/// # Errors
/// Any [`HelmError`].
pub fn render(
    chart: Chart,
    user: &Map<String, Json>,
    options: &HelmOptions,
) -> Result<HelmOutput, HelmError> {
    // Templates call each other, and actions nest, as deeply as the bounds of the template
    // engine let them (`gotemplate::MAX_DEPTH`).
    crate::stack::run_with_stack("helm", RENDER_STACK, || render_here(chart, user, options))
        .unwrap_or_else(|message| Err(HelmError::Render { message }))
}

/// The stack a render runs on: [`crate::gotemplate::MAX_DEPTH`] levels of template calls and
/// actions take up to 160 MB of a debug build's stack (8 KiB a level, measured with `include`
/// chains), and less in a release build. Only touched pages are committed, but the whole
/// reservation counts against an address-space limit (the operator's render budget).
const RENDER_STACK: usize = 256 << 20;

fn render_here(
    mut chart: Chart,
    user: &Map<String, Json>,
    options: &HelmOptions,
) -> Result<HelmOutput, HelmError> {
    values::process_dependencies(&mut chart, user);
    let vals = Json::Object(values::coalesce_values(&chart, user, false));
    let mut problems = String::new();
    validate_schemas(&chart, &vals, &mut problems);
    if !problems.is_empty() {
        return Err(HelmError::Schema { message: problems });
    }
    let mut release = BTreeMap::new();
    release.insert("Name".to_owned(), Value::str(options.release_name.as_str()));
    release.insert(
        "Namespace".to_owned(),
        Value::str(options.namespace.as_str()),
    );
    release.insert("IsInstall".to_owned(), Value::Bool(true));
    release.insert("IsUpgrade".to_owned(), Value::Bool(false));
    release.insert("Revision".to_owned(), Value::Int(1));
    release.insert("Service".to_owned(), Value::from("Helm"));
    let apis: Vec<String> = options
        .api_versions
        .iter()
        .flat_map(|a| {
            a.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
        .collect();
    let caps = engine::capabilities(options.kube_version.as_deref(), &apis);
    let templates = engine::render(
        &mut chart,
        Value::from_json_owned(vals, true),
        Value::map(release),
        caps,
    )?;
    let mut crds = Vec::new();
    collect_crds(&chart, &chart.name, &mut crds);
    Ok(HelmOutput { templates, crds })
}

fn collect_crds(chart: &Chart, full: &str, out: &mut Vec<(String, String)>) {
    for (p, t) in &chart.crds {
        if p.ends_with(".yaml") || p.ends_with(".yml") || p.ends_with(".json") {
            out.push((format!("{full}/{p}"), t.clone()));
        }
    }
    for s in &chart.subcharts {
        collect_crds(s, &format!("{full}/charts/{}", s.name), out);
    }
}

/// Validates each chart's section of the values (`vals` is a map) against its schema.
fn validate_schemas(chart: &Chart, vals: &Json, out: &mut String) {
    if let Some(schema) = &chart.schema {
        let errs = schema::validate(schema, vals);
        if !errs.is_empty() {
            out.push_str(&format!("{}:\n{}\n", chart.name, errs.join("\n")));
        }
    }
    let empty = Json::Object(Map::new());
    for s in &chart.subcharts {
        let sub = match vals.get(&s.name) {
            Some(m @ Json::Object(_)) => m,
            _ => &empty,
        };
        validate_schemas(s, sub, out);
    }
}
