//! What a reconciliation reads besides its own object: the source's artifact, the
//! `substituteFrom` data, the `healthChecks` references, and the client to apply with
//! (impersonating `serviceAccountName`); and rendering a unit from them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gitops_core::api::{CrossNamespaceSourceReference, GitRepository, Kustomization};
use gitops_core::{Object, ObjectRef as CoreRef, split_api_version};
use gitops_render::substitute::VariableSource;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::Context;
use crate::conditions::reason;
use crate::deps::UnitKey;

/// The source's current artifact: revision, digest and, when on this replica's disk, its
/// directory.
pub(super) struct SourceArtifact {
    pub(super) revision: String,
    /// The content's digest: it changes without the revision when an included repository
    /// (`spec.include`) changes.
    pub(super) digest: String,
    pub(super) dir: Option<PathBuf>,
}

/// The current artifact of the source `source` names (relative to `namespace`); `field` names
/// the reference in messages.
pub(super) async fn artifact_of(
    ctx: &Context,
    source: &CrossNamespaceSourceReference,
    namespace: &str,
    field: &str,
) -> Result<SourceArtifact, String> {
    if source.kind != "GitRepository" {
        return Err(format!(
            "{field}.kind `{}` is not supported (expected GitRepository)",
            source.kind
        ));
    }
    let namespace = source
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.to_owned());
    let repo = ctx
        .api::<GitRepository>(&namespace)
        .get_opt(&source.name)
        .await
        .map_err(|e| {
            format!(
                "cannot read source GitRepository {namespace}/{}: {e}",
                source.name
            )
        })?
        .ok_or_else(|| {
            format!(
                "source GitRepository {namespace}/{} does not exist",
                source.name
            )
        })?;
    let status = repo.status.unwrap_or_default();
    let Some(artifact) = status.artifact else {
        let why = gitops_core::api::status::find_condition(&status.conditions, "Ready")
            .map(|c| format!(": {}", c.message))
            .unwrap_or_default();
        return Err(format!(
            "source GitRepository {namespace}/{} has no artifact yet{why}",
            source.name
        ));
    };
    Ok(SourceArtifact {
        revision: artifact.revision,
        digest: artifact.digest,
        dir: artifact.path.map(|p| ctx.settings.storage.join(p)),
    })
}

/// Renders the unit: `substituteFrom` data read from the cluster, then the unit renderer in a
/// render process bounded by the operator's render limits.
pub(super) async fn build(
    ks: &Kustomization,
    ctx: &Context,
    key: &UnitKey,
    dir: &std::path::Path,
) -> Result<Vec<Object>, (&'static str, String)> {
    let sources = substitute_from(ks, ctx, key).await?;
    let request = crate::isolate::Request::Unit {
        root: dir.to_owned(),
        spec: Box::new(ks.spec.clone()),
        variables: sources.into_iter().map(Into::into).collect(),
    };
    let failed = |message: String| (reason::BUILD_FAILED, format!("render failed: {message}"));
    match crate::isolate::render(&request, ctx.settings.render_limits)
        .await
        .map_err(failed)?
    {
        crate::isolate::Answer::Objects(objects) => objects
            .into_iter()
            .map(Object::from_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| failed(e.to_string())),
        crate::isolate::Answer::Failed(message) => Err(failed(message)),
        crate::isolate::Answer::Release { .. } => Err(failed(
            "the render process answered a release, not a unit".to_owned(),
        )),
    }
}

async fn substitute_from(
    ks: &Kustomization,
    ctx: &Context,
    key: &UnitKey,
) -> Result<Vec<VariableSource>, (&'static str, String)> {
    let Some(post_build) = &ks.spec.post_build else {
        return Ok(Vec::new());
    };
    let mut sources = Vec::new();
    for (i, reference) in post_build.substitute_from.iter().enumerate() {
        let what = format!(
            "spec.postBuild.substituteFrom[{i}]: {} {}/{}",
            reference.kind, key.namespace, reference.name
        );
        let data: Option<BTreeMap<String, String>> = match reference.kind.as_str() {
            "ConfigMap" => ctx
                .api::<ConfigMap>(&key.namespace)
                .get_opt(&reference.name)
                .await
                .map_err(|e| (reason::BUILD_FAILED, format!("{what}: cannot read it: {e}")))?
                .map(|cm| cm.data.unwrap_or_default()),
            "Secret" => match ctx
                .api::<Secret>(&key.namespace)
                .get_opt(&reference.name)
                .await
                .map_err(|e| (reason::BUILD_FAILED, format!("{what}: cannot read it: {e}")))?
            {
                None => None,
                Some(secret) => {
                    let mut data = BTreeMap::new();
                    for (k, v) in secret.data.unwrap_or_default() {
                        let text = String::from_utf8(v.0).map_err(|_| {
                            (
                                reason::BUILD_FAILED,
                                format!("{what}: key `{k}` is not UTF-8 text"),
                            )
                        })?;
                        data.insert(k, text);
                    }
                    Some(data)
                }
            },
            other => {
                return Err((
                    reason::INVALID_SPEC,
                    format!(
                        "{what}: kind `{other}` is not supported (expected ConfigMap or Secret)"
                    ),
                ));
            }
        };
        match data {
            Some(data) => sources.push(VariableSource {
                kind: reference.kind.clone(),
                name: reference.name.clone(),
                data,
            }),
            None if reference.optional => {}
            None => {
                return Err((
                    reason::BUILD_FAILED,
                    format!("{what} does not exist (mark it `optional: true` if that is expected)"),
                ));
            }
        }
    }
    Ok(sources)
}

/// The objects of `healthChecks`, with versions taken from the rendered objects when the
/// reference has no `apiVersion`.
pub(super) fn health_refs(
    ks: &Kustomization,
    objects: &[Object],
    key: &UnitKey,
) -> Result<Vec<CoreRef>, String> {
    ks.spec
        .health_checks
        .iter()
        .enumerate()
        .map(|(i, check)| {
            let namespace = check
                .namespace
                .clone()
                .or_else(|| Some(key.namespace.clone()));
            let api_version = match &check.api_version {
                Some(v) => v.clone(),
                None => objects
                    .iter()
                    .find(|o| o.kind() == check.kind && o.name() == check.name)
                    .map(|o| o.api_version().to_owned())
                    .ok_or_else(|| {
                        format!(
                            "spec.healthChecks[{i}]: {} {} is not in the unit; give its apiVersion",
                            check.kind, check.name
                        )
                    })?,
            };
            let (group, version) = split_api_version(&api_version);
            Ok(CoreRef {
                group: group.to_owned(),
                version: version.to_owned(),
                kind: check.kind.clone(),
                namespace,
                name: check.name.clone(),
            })
        })
        .collect()
}

/// The operator's client, or one impersonating ServiceAccount `account` of `namespace`.
pub(super) fn client_as(
    ctx: &Context,
    namespace: &str,
    account: Option<&str>,
) -> Result<kube::Client, String> {
    let Some(account) = account else {
        return Ok(ctx.client.clone());
    };
    let mut config = ctx.config.clone();
    config.auth_info.impersonate = Some(format!("system:serviceaccount:{namespace}:{account}"));
    kube::Client::try_from(config).map_err(|e| {
        format!("cannot create a client impersonating ServiceAccount {namespace}/{account}: {e}")
    })
}
