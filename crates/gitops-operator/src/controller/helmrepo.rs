//! The HelmRepository controller: downloads the repository's `index.yaml` on the interval and on
//! demand, checks that it is an index, stores it under the storage path and reports it as
//! `status.artifact` (revision and digest: the index's SHA-256). An OCI repository has no index:
//! its settings are checked and it is Ready without an artifact. Charts are downloaded later, by
//! the releases that use them ([`super::repochart`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gitops_core::api::{Artifact, HelmRepository};
use gitops_core::chartrepo::ChartRepo;
use gitops_core::chartrepo::oci::OciRepo;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;

use super::source::{SourceRun, begin};
use super::{Context, Error, chain, now};
use crate::conditions::{self, reason};
use crate::deps::UnitKey;
use crate::duration;
use crate::plan;

const KIND: &str = "HelmRepository";
/// Ready reason when the index cannot be downloaded or is not an index.
pub(crate) const INDEX_FAILED: &str = "IndexationFailed";

/// Reconciles one HelmRepository.
pub(crate) async fn reconcile(
    repo: Arc<HelmRepository>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Some(SourceRun {
        key,
        old,
        mut status,
        generation,
        facts,
    }) = begin(&*repo, repo.spec.suspend, repo.status.as_ref(), KIND, &ctx)
    else {
        return Ok(Action::await_change());
    };
    let timestamp = now();
    let interval = duration::field(
        repo.spec.interval.as_deref(),
        "interval",
        ctx.settings.default_interval,
    )
    .map(|i| i.max(Duration::from_secs(1)));
    if let Ok(interval) = interval
        && let Some(wait) = plan::plan_source(&facts, interval)
    {
        return Ok(Action::requeue(wait));
    }
    let start = Instant::now();
    let result = match &interval {
        Ok(_) if is_oci(&repo) => check_oci(&repo, &key.namespace, &ctx).await,
        Ok(_) => store_index(&repo, &key, &ctx).await,
        Err(message) => Err((reason::INVALID_SPEC, message.clone(), true)),
    };
    ctx.observer
        .observe_fetch(start.elapsed().as_secs_f64(), result.is_ok());
    ctx.remember(KIND, &key, result.is_ok());
    let success = result.is_ok();
    let period = interval.unwrap_or(ctx.settings.default_interval);
    let requeue = match result {
        Ok(None) => {
            conditions::mark_ready(
                &mut status.conditions,
                reason::SUCCEEDED,
                "OCI repository: charts are pulled by the releases that use them".to_owned(),
                generation,
                &timestamp,
            );
            status.artifact = None;
            Action::requeue(period)
        }
        Ok(Some(stored)) => {
            let unchanged = old
                .artifact
                .as_ref()
                .is_some_and(|a| a.revision == stored.revision);
            let last_update_time = match (&old.artifact, unchanged) {
                (Some(a), true) => a.last_update_time.clone(),
                _ => timestamp.clone(),
            };
            conditions::mark_ready(
                &mut status.conditions,
                reason::SUCCEEDED,
                format!(
                    "stored index with {} charts for revision '{}'",
                    stored.charts, stored.revision
                ),
                generation,
                &timestamp,
            );
            status.artifact = Some(Artifact {
                revision: stored.revision.clone(),
                digest: stored.revision,
                last_update_time,
                path: Some(stored.path),
            });
            tracing::info!(kind = KIND, namespace = %key.namespace, name = %key.name, duration_ms = start.elapsed().as_millis() as u64, "fetched");
            Action::requeue(period)
        }
        Err((why, message, stalled)) => {
            tracing::warn!(kind = KIND, namespace = %key.namespace, name = %key.name, reason = why, "{message}");
            conditions::mark_failed(
                &mut status.conditions,
                why,
                message,
                stalled,
                generation,
                &timestamp,
            );
            if stalled {
                Action::await_change()
            } else {
                Action::requeue(plan::retry_delay(
                    period.min(Duration::from_secs(60)),
                    ctx.memory(KIND, &key).failures.max(1),
                ))
            }
        }
    };
    ctx.observer
        .observe_reconcile(KIND, start.elapsed().as_secs_f64(), success);
    if old != status {
        super::apply_status(
            &ctx,
            &*repo,
            &key,
            KIND,
            &status,
            &old.conditions,
            &status.conditions,
        )
        .await?;
    }
    ctx.observer
        .set_ready(KIND, &key.namespace, &key.name, success);
    Ok(requeue)
}

/// Retries after an error of [`reconcile`] (a failed status write).
pub(crate) fn error_policy(
    _repo: Arc<HelmRepository>,
    error: &Error,
    _ctx: Arc<Context>,
) -> Action {
    tracing::warn!(error = %chain(error), "HelmRepository reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

/// A stored index.
struct Stored {
    revision: String,
    /// Relative to the storage directory.
    path: String,
    charts: usize,
}

type Failure = (&'static str, String, bool);

/// Downloads, checks and stores the index; older indexes of the repository are removed.
async fn store_index(
    repo: &HelmRepository,
    key: &UnitKey,
    ctx: &Context,
) -> Result<Option<Stored>, Failure> {
    let client = client(repo, &key.namespace, ctx).await?;
    let relative = PathBuf::from("helmrepositories")
        .join(&key.namespace)
        .join(&key.name);
    let dir = ctx.settings.storage.join(&relative);
    let url = client.index_url().to_string();
    tokio::task::spawn_blocking(move || {
        let body = client
            .fetch_index()
            .map_err(|e| (INDEX_FAILED, chain(&e), false))?;
        let text = String::from_utf8_lossy(&body);
        let index = gitops_render::helm::repo::parse_index(&text)
            .map_err(|e| (INDEX_FAILED, format!("{url}: {e}"), false))?;
        let hex = gitops_core::git::digest::sha256_hex(&body);
        let name = format!("index-{hex}.yaml");
        write_replacing(&dir, &name, &body).map_err(|e| {
            (
                INDEX_FAILED,
                format!("cannot store the index in {}: {e}", dir.display()),
                false,
            )
        })?;
        Ok(Some(Stored {
            revision: format!("sha256:{hex}"),
            path: relative.join(name).to_string_lossy().into_owned(),
            charts: index.entries.len(),
        }))
    })
    .await
    .map_err(|e| (INDEX_FAILED, format!("the fetch task failed: {e}"), false))?
}

/// Writes `dir/name` atomically and removes the directory's other files.
fn write_replacing(dir: &Path, name: &str, body: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let target = dir.join(name);
    if !target.is_file() {
        let partial = dir.join(format!(".{name}.partial"));
        std::fs::write(&partial, body)?;
        std::fs::rename(&partial, &target)?;
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_name() != name {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Whether `repo` is an OCI registry.
pub(super) fn is_oci(repo: &HelmRepository) -> bool {
    repo.spec.type_.as_deref() == Some("oci")
}

/// An OCI repository has no index: its settings are checked, and releases list its tags.
async fn check_oci(
    repo: &HelmRepository,
    namespace: &str,
    ctx: &Context,
) -> Result<Option<Stored>, Failure> {
    oci_client(repo, namespace, ctx).await.map(|_| None)
}

/// The pull client of an OCI `repo`: URL, `insecure`, timeout, and the credentials and CA of
/// `spec.secretRef`/`spec.certSecretRef`.
pub(super) async fn oci_client(
    repo: &HelmRepository,
    namespace: &str,
    ctx: &Context,
) -> Result<OciRepo, Failure> {
    let spec = &repo.spec;
    let mut client = OciRepo::new(&spec.url, spec.insecure)
        .map_err(|e| (reason::INVALID_SPEC, format!("spec.url: {e}"), true))?;
    client.timeout = duration::field(spec.timeout.as_deref(), "timeout", Duration::from_secs(60))
        .map_err(|m| (reason::INVALID_SPEC, m, true))?;
    let (basic_auth, ca) = credentials(spec, namespace, ctx).await?;
    client.basic_auth = basic_auth;
    client.ca_pem = ca;
    Ok(client)
}

/// The data of Secret `name`, named by `field`.
async fn secret_data(
    ctx: &Context,
    namespace: &str,
    name: &str,
    field: &str,
) -> Result<std::collections::BTreeMap<String, k8s_openapi::ByteString>, Failure> {
    let what = format!("Secret {namespace}/{name} named by {field}");
    let secret = ctx
        .api::<Secret>(namespace)
        .get_opt(name)
        .await
        .map_err(|e| {
            (
                reason::AUTHENTICATION_FAILED,
                format!("cannot read {what}: {e}"),
                false,
            )
        })?
        .ok_or_else(|| {
            (
                reason::AUTHENTICATION_FAILED,
                format!("{what} does not exist"),
                false,
            )
        })?;
    Ok(secret.data.unwrap_or_default())
}

/// The CA certificate (PEM) of Secret data: `ca.crt`, or the older `caFile`.
fn ca_of(data: &std::collections::BTreeMap<String, k8s_openapi::ByteString>) -> Option<Vec<u8>> {
    data.get("ca.crt")
        .or_else(|| data.get("caFile"))
        .map(|v| v.0.clone())
}

/// Basic-auth credentials (`spec.secretRef`: `username`, `password`) and the extra CA
/// (`ca.crt` of `spec.certSecretRef`, else of `spec.secretRef`).
async fn credentials(
    spec: &gitops_core::api::HelmRepositorySpec,
    namespace: &str,
    ctx: &Context,
) -> Result<(Option<(String, String)>, Option<Vec<u8>>), Failure> {
    let (mut basic_auth, mut ca) = (None, None);
    if let Some(secret) = &spec.secret_ref {
        let data = secret_data(ctx, namespace, &secret.name, "spec.secretRef").await?;
        let text = |k: &str| {
            data.get(k)
                .map(|v| String::from_utf8_lossy(&v.0).into_owned())
        };
        match (text("username"), text("password")) {
            (Some(user), Some(password)) => basic_auth = Some((user, password)),
            (None, None) => {}
            _ => {
                return Err((
                    reason::AUTHENTICATION_FAILED,
                    format!(
                        "Secret {namespace}/{} named by spec.secretRef: expected both \
                         `username` and `password`, found one",
                        secret.name
                    ),
                    true,
                ));
            }
        }
        ca = ca_of(&data);
    }
    // Flux's place for TLS settings; only the CA is used (client certificates are not).
    if let Some(secret) = &spec.cert_secret_ref {
        let data = secret_data(ctx, namespace, &secret.name, "spec.certSecretRef").await?;
        ca = ca_of(&data).or(ca);
    }
    Ok((basic_auth, ca))
}

/// The download client of `repo`: URL, timeout, and the credentials and CA of `spec.secretRef`.
pub(super) async fn client(
    repo: &HelmRepository,
    namespace: &str,
    ctx: &Context,
) -> Result<ChartRepo, Failure> {
    let spec = &repo.spec;
    if spec
        .type_
        .as_deref()
        .is_some_and(|t| t != "default" && t != "oci")
    {
        return Err((
            reason::INVALID_SPEC,
            format!(
                "spec.type `{}` is not supported (expected `default` or `oci`)",
                spec.type_.as_deref().unwrap_or_default()
            ),
            true,
        ));
    }
    let mut client = ChartRepo::new(&spec.url)
        .map_err(|e| (reason::INVALID_SPEC, format!("spec.url: {e}"), true))?;
    client.timeout = duration::field(spec.timeout.as_deref(), "timeout", Duration::from_secs(60))
        .map_err(|m| (reason::INVALID_SPEC, m, true))?;
    client.pass_credentials = spec.pass_credentials;
    let (basic_auth, ca) = credentials(spec, namespace, ctx).await?;
    client.basic_auth = basic_auth;
    client.ca_pem = ca;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_index_replaces_the_older_ones() {
        let dir = tempfile::tempdir().unwrap();
        write_replacing(dir.path(), "index-a.yaml", b"a").unwrap();
        write_replacing(dir.path(), "index-b.yaml", b"b").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["index-b.yaml"]);
        assert_eq!(
            std::fs::read(dir.path().join("index-b.yaml")).unwrap(),
            b"b"
        );
    }
}
