//! Rollouts in a cluster: `gitops get rollouts`, `gitops rollout status` and the user commands
//! (`promote`, `abort`, `pause`, `resume`, `retry`), given through the annotation
//! [`COMMAND_ANNOTATION`] and acknowledged by the operator in `status.lastHandledCommand`. What
//! a row and a description show is `gitops_rollout::report`'s; this module reads and prints.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use gitops_rollout::object::{COMMAND_ANNOTATION, command_annotation};
use gitops_rollout::{Command, RolloutObject, report};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use super::ExitStatus;
use super::objects::block_on;
use crate::cli::{GetArgs, RolloutObjectArgs, RolloutStatusArgs, TableFormat, TimelineFormat};
use crate::printer::Printer;

/// The field manager of the CLI's patches.
const FIELD_MANAGER: &str = "gitops";
/// How often `--watch` and commands look at the rollout again.
const POLL: Duration = Duration::from_millis(500);

/// The pure rollout of a live object.
fn pure(object: &RolloutObject) -> gitops_rollout::Rollout {
    gitops_rollout::Rollout {
        api_version: gitops_rollout::spec::API_VERSION.to_owned(),
        kind: gitops_rollout::spec::KIND.to_owned(),
        metadata: gitops_rollout::spec::Metadata {
            name: object.name_any(),
            namespace: object.namespace(),
            labels: object.labels().clone(),
            annotations: object.annotations().clone(),
        },
        spec: object.spec.clone(),
    }
}

fn not_installed(e: kube::Error) -> anyhow::Error {
    match &e {
        kube::Error::Api(status) if status.code == 404 => anyhow::anyhow!(
            "the cluster does not serve Rollouts (gitops.rs/v1alpha1)\n  hint: install the operator with `gitops install`"
        ),
        _ => anyhow::Error::new(e).context("cannot read Rollouts"),
    }
}

/// `gitops get rollouts`.
pub(crate) fn get(args: &GetArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    block_on(&args.kube, async |client| {
        let api: Api<RolloutObject> = if args.all_namespaces {
            Api::all(client)
        } else {
            Api::namespaced(client, &args.namespace)
        };
        let mut last = None;
        loop {
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(not_installed)?;
            let mut rows: Vec<report::RolloutRow> = list
                .items
                .iter()
                .map(|r| report::row(&pure(r), r.status.as_ref()))
                .collect();
            rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
            if last.as_ref() != Some(&rows) {
                match args.output {
                    TableFormat::Json => {
                        printer.data(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
                    }
                    TableFormat::Table if rows.is_empty() => printer.note("no rollouts"),
                    TableFormat::Table => {
                        if last.is_some() {
                            printer.data("\n")?;
                        }
                        printer.data(&report::table(&rows, args.all_namespaces))?;
                    }
                }
                last = Some(rows);
            }
            if !args.watch {
                return Ok(ExitStatus::Success);
            }
            tokio::time::sleep(POLL).await;
        }
    })
}

async fn read(client: &Client, args: &RolloutObjectArgs) -> anyhow::Result<RolloutObject> {
    let api: Api<RolloutObject> = Api::namespaced(client.clone(), &args.namespace);
    match api.get_opt(&args.name).await.map_err(not_installed)? {
        Some(r) => Ok(r),
        None => bail!(
            "no Rollout named `{}` in namespace `{}`",
            args.name,
            args.namespace
        ),
    }
}

fn print(printer: &Printer, object: &RolloutObject, output: TimelineFormat) -> anyhow::Result<()> {
    match output {
        TimelineFormat::Text => {
            printer.data(&report::describe(&pure(object), object.status.as_ref()))?;
        }
        TimelineFormat::Json => {
            let value = json!({
                "row": report::row(&pure(object), object.status.as_ref()),
                "status": object.status,
            });
            printer.data(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
        }
    }
    Ok(())
}

/// `gitops rollout status`.
pub(crate) fn status(args: &RolloutStatusArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let object_args = &args.object;
    block_on(&object_args.kube, async |client| {
        let mut last = None;
        loop {
            let object = read(&client, object_args).await?;
            if last.as_ref() != Some(&object.status) {
                if last.is_some() {
                    printer.data("\n")?;
                }
                print(printer, &object, object_args.output)?;
                last = Some(object.status.clone());
            }
            if !args.watch {
                return Ok(ExitStatus::Success);
            }
            tokio::time::sleep(POLL).await;
        }
    })
}

/// `gitops rollout promote|abort|pause|resume|retry`: annotates the Rollout, waits until the
/// operator has handled the command, and prints the rollout.
pub(crate) fn command(
    args: &RolloutObjectArgs,
    command: Command,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    block_on(&args.kube, async |client| {
        read(&client, args).await?;
        let value = command_annotation(command, &jiff::Timestamp::now().to_string());
        let api: Api<RolloutObject> = Api::namespaced(client.clone(), &args.namespace);
        let patch = json!({"metadata": {"annotations": {COMMAND_ANNOTATION: value}}});
        api.patch(
            &args.name,
            &PatchParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..PatchParams::default()
            },
            &Patch::Merge(&patch),
        )
        .await
        .with_context(|| format!("cannot annotate Rollout {}/{}", args.namespace, args.name))?;
        let deadline = Instant::now() + args.timeout;
        loop {
            let object = read(&client, args).await?;
            let handled = object
                .status
                .as_ref()
                .and_then(|s| s.last_handled_command.as_deref())
                == Some(value.as_str());
            if handled {
                print(printer, &object, args.output)?;
                return Ok(ExitStatus::Success);
            }
            if Instant::now() >= deadline {
                printer.warning(&format!(
                    "the operator did not take `{value}` within {:?}",
                    args.timeout
                ));
                return Ok(ExitStatus::Failure);
            }
            tokio::time::sleep(POLL).await;
        }
    })
}
