//! The `Receiver` controller: each Receiver's token gives its webhook path; the controller
//! publishes it in `status.webhookPath` with a Ready condition and registers it for the handler.
//!
//! The controller also watches Secrets (metadata only) and wakes the Receivers that name a
//! changed Secret in `spec.secretRef`: a rotated token moves the webhook path, and the handler
//! can only find a receiver by a path the [`Registry`] already holds, so the registry must follow
//! the Secret at once rather than at the next resync.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use gitops_core::api::status::{Condition, ConditionStatus, READY, set_condition};
use gitops_core::api::{Receiver, ReceiverStatus};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{PartialObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};

use super::trigger::now_rfc3339;
use super::verify::webhook_path;
use super::{ReceiverKey, Registry};

/// How often a ready receiver is looked at again (Secret changes wake it at once; this is the
/// safety net for a missed watch event).
const RESYNC: Duration = Duration::from_secs(600);
/// How soon a receiver without a usable token is looked at again.
const RETRY: Duration = Duration::from_secs(30);

/// Why a reconciliation of a Receiver failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The token Secret could not be read.
    #[error("cannot read Secret {namespace}/{name}")]
    ReadSecret {
        /// Namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// The server's answer.
        #[source]
        source: kube::Error,
    },
    /// The status could not be written.
    #[error("cannot update the status of Receiver {namespace}/{name}")]
    WriteStatus {
        /// Namespace.
        namespace: String,
        /// The Receiver's name.
        name: String,
        /// The server's answer.
        #[source]
        source: kube::Error,
    },
}

struct Context {
    client: Client,
    registry: Registry,
}

/// Runs the Receiver controller over every namespace until `shutdown` completes, keeping
/// `registry` (shared with [`super::routes`]) equal to the receivers' webhook paths.
pub async fn run(
    client: Client,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let receivers: Api<Receiver> = Api::all(client.clone());
    // Metadata only: the controller needs to know that a Secret changed, not its data (it reads
    // the token itself), and the operator does not keep every Secret of the cluster in memory.
    let secrets: Api<PartialObjectMeta<Secret>> = Api::all(client.clone());
    let controller = Controller::new(receivers, watcher::Config::default());
    let store = controller.store();
    let context = Arc::new(Context { client, registry });
    controller
        .watches(secrets, watcher::Config::default(), move |secret| {
            referencing(&store.state(), &secret)
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(receiver = %object, "reconciled"),
                Err(e) => tracing::warn!(error = %e, "receiver reconciliation failed"),
            }
        })
        .await;
}

/// The Receivers (among `receivers`) whose `spec.secretRef` names `secret`.
fn referencing(
    receivers: &[Arc<Receiver>],
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<Receiver>> {
    let namespace = secret.namespace();
    let name = secret.name_any();
    receivers
        .iter()
        .filter(|r| r.namespace() == namespace && r.spec.secret_ref.name == name)
        .map(|r| ObjectRef::from_obj(&**r))
        .collect()
}

fn error_policy(receiver: Arc<Receiver>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(
        receiver = %format!("{}/{}", receiver.namespace().unwrap_or_default(), receiver.name_any()),
        error = %error,
        "receiver reconciliation failed; retrying"
    );
    Action::requeue(RETRY)
}

async fn reconcile(receiver: Arc<Receiver>, context: Arc<Context>) -> Result<Action, Error> {
    let namespace = receiver.namespace().unwrap_or_default();
    let name = receiver.name_any();
    let key = ReceiverKey {
        namespace: namespace.clone(),
        name: name.clone(),
    };
    let secret_name = &receiver.spec.secret_ref.name;
    let secrets: Api<Secret> = Api::namespaced(context.client.clone(), &namespace);
    let secret = secrets
        .get_opt(secret_name)
        .await
        .map_err(|source| Error::ReadSecret {
            namespace: namespace.clone(),
            name: secret_name.clone(),
            source,
        })?;
    let token = secret
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .and_then(|d| d.get("token"))
        .map(|t| String::from_utf8_lossy(&t.0).into_owned());
    let (condition, path) = match (&secret, token) {
        (_, Some(token)) => {
            let path = webhook_path(&token, &name, &namespace);
            context.registry.set(&key, &path);
            (
                ready(
                    ConditionStatus::True,
                    "Succeeded",
                    format!("Receiver initialized for path: {path}"),
                ),
                Some(path),
            )
        }
        (None, None) => (
            ready(
                ConditionStatus::False,
                "SecretNotFound",
                format!("Secret {namespace}/{secret_name} not found"),
            ),
            None,
        ),
        (Some(_), None) => (
            ready(
                ConditionStatus::False,
                "TokenNotFound",
                format!("Secret {namespace}/{secret_name} has no `token` key"),
            ),
            None,
        ),
    };
    if path.is_none() {
        context.registry.remove(&key);
    }
    let old = receiver.status.clone().unwrap_or_default();
    let mut status = ReceiverStatus {
        observed_generation: receiver.metadata.generation,
        webhook_path: path.clone(),
        ..old.clone()
    };
    let mut condition = condition;
    condition.observed_generation = receiver.metadata.generation;
    set_condition(&mut status.conditions, condition);
    if status != old {
        let mut body = serde_json::to_value(&status).unwrap_or_default();
        if path.is_none() {
            // A merge patch keeps fields it does not mention: clear the old path explicitly.
            body["webhookPath"] = serde_json::Value::Null;
        }
        let receivers: Api<Receiver> = Api::namespaced(context.client.clone(), &namespace);
        receivers
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "status": body })),
            )
            .await
            .map_err(|source| Error::WriteStatus {
                namespace: namespace.clone(),
                name: name.clone(),
                source,
            })?;
    }
    Ok(Action::requeue(if path.is_some() { RESYNC } else { RETRY }))
}

fn ready(status: ConditionStatus, reason: &str, message: String) -> Condition {
    Condition {
        type_: READY.to_owned(),
        status,
        reason: reason.to_owned(),
        message,
        last_transition_time: now_rfc3339(),
        observed_generation: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn receiver(namespace: &str, name: &str, secret: &str) -> Arc<Receiver> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "gitops.rs/v1alpha1", "kind": "Receiver",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"type": "generic", "secretRef": {"name": secret}, "resources": []},
            }))
            .unwrap(),
        )
    }

    fn secret(namespace: &str, name: &str) -> PartialObjectMeta<Secret> {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
        }))
        .unwrap()
    }

    #[test]
    fn a_secret_wakes_the_receivers_of_its_namespace_that_name_it() {
        let receivers = [
            receiver("a", "github", "token"),
            receiver("a", "gitlab", "token"),
            receiver("a", "other", "other-token"),
            receiver("b", "github", "token"),
        ];
        let mut woken: Vec<String> = referencing(&receivers, &secret("a", "token"))
            .into_iter()
            .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
            .collect();
        woken.sort();
        assert_eq!(woken, ["a/github", "a/gitlab"]);
        assert!(referencing(&receivers, &secret("c", "token")).is_empty());
    }
}
