//! `gitops get`, `reconcile`, `suspend` and `resume`: read and nudge the operator's objects.
//! What a row shows and when a request counts as handled is decided by
//! `gitops_core::api::summary`; this module only talks to the API server and prints.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use gitops_core::api::status::REQUESTED_AT_ANNOTATION;
use gitops_core::api::summary::{self, Reconciled, Row};
use gitops_core::api::{GitRepository, HelmRelease, HelmRepository, Kustomization};
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use super::{ExitStatus, install::connect, source};
use crate::cli::{
    GetArgs, GetCommand, KubeArgs, ObjectArgs, ReconcileArgs, ReconcileCommand, SuspendCommand,
    TableFormat,
};
use crate::printer::Printer;

/// The field manager of the CLI's patches.
const FIELD_MANAGER: &str = "gitops";
/// How often `--watch` and `reconcile` look at the objects again.
const POLL: Duration = Duration::from_millis(500);

/// One of our kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Kustomization,
    HelmRelease,
    GitRepository,
    HelmRepository,
}

const UNITS: [Kind; 2] = [Kind::Kustomization, Kind::HelmRelease];
const SOURCES: [Kind; 2] = [Kind::GitRepository, Kind::HelmRepository];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Kustomization => "Kustomization",
            Self::HelmRelease => "HelmRelease",
            Self::GitRepository => "GitRepository",
            Self::HelmRepository => "HelmRepository",
        }
    }

    fn resource(self) -> ApiResource {
        match self {
            Self::Kustomization => ApiResource::erase::<Kustomization>(&()),
            Self::HelmRelease => ApiResource::erase::<HelmRelease>(&()),
            Self::GitRepository => ApiResource::erase::<GitRepository>(&()),
            Self::HelmRepository => ApiResource::erase::<HelmRepository>(&()),
        }
    }

    /// The kind named by a `kind/` prefix of an argument (as kubectl and flux accept them).
    fn from_prefix(prefix: &str) -> Option<Self> {
        match prefix.to_ascii_lowercase().as_str() {
            "kustomization" | "ks" => Some(Self::Kustomization),
            "helmrelease" | "hr" => Some(Self::HelmRelease),
            "gitrepository" | "gitrepo" => Some(Self::GitRepository),
            "helmrepository" | "helmrepo" => Some(Self::HelmRepository),
            _ => None,
        }
    }
}

/// An object found in the cluster.
struct Target {
    kind: Kind,
    namespace: String,
    name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.kind.name(), self.namespace, self.name)
    }
}

impl Target {
    fn api(&self, client: &Client) -> Api<DynamicObject> {
        Api::namespaced_with(client.clone(), &self.namespace, &self.kind.resource())
    }

    async fn get(&self, client: &Client) -> anyhow::Result<Value> {
        let object = self
            .api(client)
            .get(&self.name)
            .await
            .with_context(|| format!("cannot read {self}"))?;
        Ok(serde_json::to_value(object)?)
    }

    async fn patch(&self, client: &Client, patch: &Value) -> anyhow::Result<Value> {
        let object = self
            .api(client)
            .patch(
                &self.name,
                &PatchParams {
                    field_manager: Some(FIELD_MANAGER.to_owned()),
                    ..PatchParams::default()
                },
                &Patch::Merge(patch),
            )
            .await
            .with_context(|| format!("cannot patch {self}"))?;
        Ok(serde_json::to_value(object)?)
    }
}

pub(crate) fn block_on<T>(
    kube: &KubeArgs,
    f: impl AsyncFnOnce(Client) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let runtime = source::runtime()?;
    runtime.block_on(async {
        let discovery = connect(kube).await?;
        f(discovery.client().clone()).await
    })
}

/// Explains a 404 on a list: the CRDs are missing.
fn not_installed(e: kube::Error, kind: Kind) -> anyhow::Error {
    match &e {
        kube::Error::Api(status) if status.code == 404 => anyhow::anyhow!(
            "the cluster does not serve {}s (gitops.rs/v1alpha1)\n  hint: install the operator with `gitops install`",
            kind.name()
        ),
        _ => anyhow::Error::new(e).context(format!("cannot list {}s", kind.name())),
    }
}

async fn rows(
    client: &Client,
    kinds: &[Kind],
    namespace: Option<&str>,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for kind in kinds {
        let resource = kind.resource();
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| not_installed(e, *kind))?;
        for item in list.items {
            let mut value = serde_json::to_value(item)?;
            // Items of a list carry no kind.
            value["kind"] = json!(kind.name());
            rows.push(summary::row(&value));
        }
    }
    Ok(rows)
}

pub(crate) fn get(command: &GetCommand, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (args, kinds, what): (&GetArgs, &[Kind], &str) = match command {
        GetCommand::Units(args) => (args, &UNITS, "units"),
        GetCommand::Sources(args) => (args, &SOURCES, "sources"),
        GetCommand::Rollouts(_) => bail!("rollouts are listed by `rollouts::get`"),
    };
    let namespace = (!args.all_namespaces).then_some(args.namespace.as_str());
    block_on(&args.kube, async |client| {
        let mut last: Option<Vec<Row>> = None;
        loop {
            let mut current = rows(&client, kinds, namespace).await?;
            current.sort_by(|a, b| {
                (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name))
            });
            if last.as_ref() != Some(&current) {
                print_rows(printer, &current, args, what, last.is_some())?;
                last = Some(current);
            }
            if !args.watch {
                return Ok(ExitStatus::Success);
            }
            tokio::time::sleep(POLL).await;
        }
    })
}

fn print_rows(
    printer: &Printer,
    rows: &[Row],
    args: &GetArgs,
    what: &str,
    again: bool,
) -> anyhow::Result<()> {
    match args.output {
        TableFormat::Json => {
            let mut text = serde_json::to_string_pretty(rows)?;
            text.push('\n');
            printer.data(&text)?;
        }
        TableFormat::Table => {
            if rows.is_empty() {
                let scope = if args.all_namespaces {
                    "any namespace".to_owned()
                } else {
                    format!("namespace `{}`", args.namespace)
                };
                printer.note(&format!("no {what} in {scope}"));
            } else {
                if again {
                    printer.data("\n")?;
                }
                printer.data(&summary::table(rows, args.all_namespaces))?;
            }
        }
    }
    Ok(())
}

/// Finds `NAME` (or `kind/NAME`) among `kinds` in the namespace.
async fn find(client: &Client, kinds: &[Kind], args: &ObjectArgs) -> anyhow::Result<Target> {
    let (candidates, name) = match args.name.split_once('/') {
        Some((prefix, name)) => match Kind::from_prefix(prefix).filter(|k| kinds.contains(k)) {
            Some(kind) => (vec![kind], name),
            None => bail!(
                "unknown kind `{prefix}` in `{}`: expected {}",
                args.name,
                kinds
                    .iter()
                    .map(|k| k.name().to_lowercase())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        },
        None => (kinds.to_vec(), args.name.as_str()),
    };
    let mut found = Vec::new();
    for kind in candidates {
        let target = Target {
            kind,
            namespace: args.namespace.clone(),
            name: name.to_owned(),
        };
        let exists = target
            .api(client)
            .get_opt(name)
            .await
            .map_err(|e| not_installed(e, kind))?;
        if exists.is_some() {
            found.push(target);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!(
            "no {} named `{name}` in namespace `{}`",
            kinds
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(" or "),
            args.namespace
        ),
        _ => bail!(
            "`{name}` is both a Kustomization and a HelmRelease in namespace `{}`\n  hint: name one as `kustomization/{name}` or `helmrelease/{name}`",
            args.namespace
        ),
    }
}

fn requested_at_now() -> String {
    // Nanoseconds: two requests in the same second must differ.
    jiff::Timestamp::now().to_string()
}

pub(crate) fn reconcile(
    command: &ReconcileCommand,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (args, kinds, with_source): (&ReconcileArgs, &[Kind], bool) = match command {
        ReconcileCommand::Unit(args) => (&args.reconcile, &UNITS, args.with_source),
        ReconcileCommand::Source(args) => (args, &SOURCES, false),
    };
    block_on(&args.object.kube, async |client| {
        let deadline = Instant::now() + args.timeout;
        let target = find(&client, kinds, &args.object).await?;
        if with_source {
            let object = target.get(&client).await?;
            let source = source_of(&target, &object)?;
            if !request_and_wait(&client, &source, deadline, args.timeout, printer).await? {
                return Ok(ExitStatus::Failure);
            }
        }
        Ok(
            if request_and_wait(&client, &target, deadline, args.timeout, printer).await? {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            },
        )
    })
}

/// The source a unit reads: `spec.sourceRef` of a Kustomization, `spec.chart.spec.sourceRef`
/// of a HelmRelease; in the unit's namespace unless it names one.
fn source_of(unit: &Target, object: &Value) -> anyhow::Result<Target> {
    let pointer = match unit.kind {
        Kind::HelmRelease => "/spec/chart/spec/sourceRef",
        _ => "/spec/sourceRef",
    };
    let reference = object
        .pointer(pointer)
        .with_context(|| format!("{unit} has no `{}`", &pointer[1..].replace('/', ".")))?;
    let kind_name = reference["kind"].as_str().unwrap_or_default();
    let kind = Kind::from_prefix(kind_name)
        .filter(|k| SOURCES.contains(k))
        .with_context(|| {
            format!("{unit} reads a source of kind `{kind_name}`, which --with-source cannot reconcile: expected GitRepository or HelmRepository")
        })?;
    Ok(Target {
        kind,
        namespace: reference["namespace"]
            .as_str()
            .unwrap_or(&unit.namespace)
            .to_owned(),
        name: reference["name"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Requests a reconciliation of `target` and waits until it is handled. Returns whether the
/// object ended Ready; an unready outcome is printed as an error.
async fn request_and_wait(
    client: &Client,
    target: &Target,
    deadline: Instant,
    timeout: Duration,
    printer: &Printer,
) -> anyhow::Result<bool> {
    let object = target.get(client).await?;
    if object.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        bail!(
            "{target} is suspended\n  hint: resume it with `gitops resume {} {} -n {}`",
            if SOURCES.contains(&target.kind) {
                "source"
            } else {
                "unit"
            },
            target.name,
            target.namespace
        );
    }
    let requested_at = requested_at_now();
    target
        .patch(
            client,
            &json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: requested_at}}}),
        )
        .await?;
    printer.note(&format!("reconciliation of {target} requested; waiting"));
    loop {
        let object = target.get(client).await?;
        match summary::reconciled(&object, &requested_at) {
            Reconciled::Ready { revision } => {
                printer.line(&format!("{target} reconciled: revision {revision}"));
                return Ok(true);
            }
            Reconciled::Failed { message } => {
                printer.error(&anyhow::anyhow!("{target} is not Ready: {message}"));
                return Ok(false);
            }
            Reconciled::Pending => {}
        }
        if Instant::now() >= deadline {
            let row = summary::row(&object);
            bail!(
                "timed out after {}s waiting for the operator to reconcile {target} (Ready {}: {})",
                timeout.as_secs(),
                row.ready,
                if row.message.is_empty() {
                    "no message"
                } else {
                    &row.message
                }
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

pub(crate) fn suspend(
    command: &SuspendCommand,
    printer: &Printer,
    suspend: bool,
) -> anyhow::Result<ExitStatus> {
    let (args, kinds): (&ObjectArgs, &[Kind]) = match command {
        SuspendCommand::Unit(args) => (args, &UNITS),
        SuspendCommand::Source(args) => (args, &SOURCES),
    };
    block_on(&args.kube, async |client| {
        let target = find(&client, kinds, args).await?;
        if suspend {
            target
                .patch(&client, &json!({"spec": {"suspend": true}}))
                .await?;
            printer.line(&format!("{target} suspended"));
        } else {
            target
                .patch(
                    &client,
                    &json!({
                        "spec": {"suspend": false},
                        "metadata": {"annotations": {REQUESTED_AT_ANNOTATION: requested_at_now()}},
                    }),
                )
                .await?;
            printer.line(&format!("{target} resumed; reconciliation requested"));
        }
        Ok(ExitStatus::Success)
    })
}
