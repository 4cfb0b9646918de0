//! `gitops install`: print the operator's manifests, or apply them to the current cluster.

use std::sync::Arc;

use anyhow::Context as _;
use gitops_core::Object;
use gitops_core::api::install::{InstallOptions, install_manifests};
use gitops_core::cluster::{self, ApplyOptions, Discovery, OnChange, client_from_kubeconfig};
use gitops_core::yaml;

use super::{ExitStatus, source};
use crate::cli::{InstallArgs, KubeArgs};
use crate::printer::Printer;

/// The field manager of `gitops install`, so that a later `install` owns the same fields.
const FIELD_MANAGER: &str = "gitops-install";

pub(crate) fn run(args: &InstallArgs, printer: &Arc<Printer>) -> anyhow::Result<ExitStatus> {
    let mut options = InstallOptions {
        namespace: args.namespace.clone(),
        extra_crds: vec![gitops_rollout::object::crd()],
        ..InstallOptions::default()
    };
    if let Some(image) = &args.image {
        options.image.clone_from(image);
    }
    let manifests = install_manifests(&options);
    if args.export {
        printer.data(&yaml::to_string_multi(&manifests))?;
        return Ok(ExitStatus::Success);
    }
    let runtime = source::runtime()?;
    let succeeded = runtime.block_on(async {
        let discovery = connect(&args.kube).await?;
        anyhow::Ok(
            apply_values(
                &discovery,
                manifests,
                &args.namespace,
                args.timeout,
                printer,
                "install",
            )
            .await?,
        )
    })?;
    Ok(if succeeded {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Applies generated manifests (staged: CRDs first, Established before the rest), printing one
/// line per object and a summary; returns whether every object was applied.
pub(crate) async fn apply_values(
    discovery: &Discovery,
    manifests: Vec<serde_json::Value>,
    namespace: &str,
    timeout: std::time::Duration,
    printer: &Arc<Printer>,
    what: &str,
) -> anyhow::Result<bool> {
    let objects = manifests
        .into_iter()
        .map(Object::from_value)
        .collect::<Result<Vec<_>, _>>()
        .context("the generated manifests are not Kubernetes objects")?;
    let on_change: OnChange = {
        let printer = Arc::clone(printer);
        Arc::new(move |change| printer.line(&change.to_string()))
    };
    let apply = ApplyOptions {
        field_manager: FIELD_MANAGER.to_owned(),
        default_namespace: namespace.to_owned(),
        timeout,
        on_change: Some(on_change),
        ..ApplyOptions::default()
    };
    let report = cluster::apply(discovery, objects, &apply).await;
    for e in &report.errors {
        printer.error(&anyhow::anyhow!("{e}"));
    }
    printer.note(&format!(
        "{what} in `{namespace}`: {}",
        report.changes.summary()
    ));
    Ok(report.succeeded())
}

/// A Kubernetes client and discovery cache for `--kubeconfig`/`--context`.
pub(crate) async fn connect(args: &KubeArgs) -> anyhow::Result<Discovery> {
    let client = client_from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref())
        .await
        .context("cannot connect to the cluster")?;
    Ok(Discovery::new(client))
}
