//! Upgrade failure remediation of a HelmRelease: the release's last good state (chart revision
//! and values) is recorded after every success in a Secret next to the release, and a rollback
//! re-renders the chart at that revision with those values and rolls it out. Helm keeps the
//! same facts in its release Secrets; ours is one Secret per release, owned by it.

use std::collections::BTreeMap;
use std::time::Duration;

use gitops_core::api::{GitRepository, HelmChartTemplate, HelmRelease, HelmReleaseStatus};
use gitops_core::cluster::Discovery;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Resource as _;
use kube::api::{Patch, PatchParams};

use super::chart::render;
use super::release::roll_out;
use super::repochart::{LocatedChart, locate};
use super::{Context, FIELD_MANAGER};
use crate::deps::UnitKey;

/// Key of the last good values (JSON) in the record Secret.
const VALUES_KEY: &str = "values.json";
/// Key of the last good chart revision in the record Secret.
const REVISION_KEY: &str = "revision";

/// Name of the Secret recording the last good state of HelmRelease `name`.
pub(super) fn record_name(name: &str) -> String {
    format!("gitops.rs.release.{name}")
}

/// Records `revision` and `values` as the release's last good state (one apply of the record
/// Secret, owned by the release so that it goes with it).
pub(super) async fn remember_good(
    ctx: &Context,
    hr: &HelmRelease,
    key: &UnitKey,
    revision: &str,
    values: &str,
) -> Result<(), String> {
    let mut secret = Secret {
        data: Some(BTreeMap::from([
            (
                VALUES_KEY.to_owned(),
                ByteString(values.as_bytes().to_vec()),
            ),
            (
                REVISION_KEY.to_owned(),
                ByteString(revision.as_bytes().to_vec()),
            ),
        ])),
        type_: Some("gitops.rs/release".to_owned()),
        ..Secret::default()
    };
    let name = record_name(&key.name);
    secret.metadata.name = Some(name.clone());
    secret.metadata.namespace = Some(key.namespace.clone());
    secret.metadata.labels = Some(BTreeMap::from([(
        "gitops.rs/release".to_owned(),
        key.name.clone(),
    )]));
    secret.metadata.owner_references = hr.controller_owner_ref(&()).map(|o| vec![o]);
    let mut value = serde_json::to_value(&secret).map_err(|e| e.to_string())?;
    value["apiVersion"] = "v1".into();
    value["kind"] = "Secret".into();
    ctx.api::<Secret>(&key.namespace)
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&value),
        )
        .await
        .map_err(|e| format!("cannot write Secret {}/{name}: {e}", key.namespace))?;
    Ok(())
}

/// The recorded last good (revision, values) of the release, if any.
async fn last_good(ctx: &Context, key: &UnitKey) -> Option<(String, String)> {
    let secret = ctx
        .api::<Secret>(&key.namespace)
        .get_opt(&record_name(&key.name))
        .await
        .ok()??;
    let data = secret.data?;
    let text = |k: &str| {
        data.get(k)
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
    };
    Some((text(REVISION_KEY)?, text(VALUES_KEY)?))
}

/// A rollback: the chart re-rendered at the last good revision (the Git commit, or the chart
/// version of a HelmRepository) with the last good values, and rolled out.
pub(super) struct Rollback<'a> {
    pub(super) chart: &'a HelmChartTemplate,
    /// The values of the failed attempt: used only when no record of the last good ones exists.
    pub(super) values: &'a str,
    pub(super) release: String,
    pub(super) namespace: &'a str,
    pub(super) timeout: Duration,
}

impl Rollback<'_> {
    /// Rolls back to `last_good` (the release's `lastAppliedRevision`); returns what it rolled
    /// back to, for the condition message.
    pub(super) async fn run(
        &self,
        ctx: &Context,
        key: &UnitKey,
        discovery: &Discovery,
        last_good_revision: Option<&str>,
        status: &mut HelmReleaseStatus,
    ) -> Result<String, String> {
        let revision = last_good_revision.ok_or("there is no earlier successful revision")?;
        let (values, with) = match last_good(ctx, key).await {
            Some((recorded, values)) if recorded == revision => (values, "its values"),
            _ => (self.values.to_owned(), "the current values"),
        };
        let located = self.locate(ctx, key, revision).await?;
        let (objects, _) = render(
            ctx.settings.render_limits,
            &located.root,
            &located.chart,
            &located.values_files,
            &values,
            self.release.clone(),
            self.namespace.to_owned(),
        )
        .await?;
        roll_out(
            ctx,
            discovery,
            self.namespace,
            self.timeout,
            objects,
            &[],
            false,
            status,
        )
        .await?;
        Ok(format!("{revision} with {with}"))
    }

    /// The chart as it was at `revision`.
    async fn locate(
        &self,
        ctx: &Context,
        key: &UnitKey,
        revision: &str,
    ) -> Result<LocatedChart, String> {
        let spec = &self.chart.spec;
        if spec.source_ref.kind == "HelmRepository" {
            return locate(ctx, spec, &key.namespace, Some(revision))
                .await?
                .ok_or_else(|| "the repository's index is not on this replica yet".to_owned());
        }
        let (_, commit) = revision
            .rsplit_once("sha1:")
            .ok_or_else(|| format!("revision {revision} names no commit"))?;
        let repo_ns = spec
            .source_ref
            .namespace
            .clone()
            .unwrap_or_else(|| key.namespace.clone());
        let repo = ctx
            .api::<GitRepository>(&repo_ns)
            .get(&spec.source_ref.name)
            .await
            .map_err(|e| {
                format!(
                    "cannot read GitRepository {repo_ns}/{}: {e}",
                    spec.source_ref.name
                )
            })?;
        let artifact = super::source::fetch(&repo, &repo_ns, ctx, Some(commit.to_owned()))
            .await
            .map_err(|(_, message, _)| message)?;
        Ok(LocatedChart {
            root: artifact.path,
            chart: spec.chart.clone(),
            values_files: spec.values_files.clone(),
            revision: revision.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_named_after_the_release() {
        assert_eq!(record_name("podinfo"), "gitops.rs.release.podinfo");
    }
}
