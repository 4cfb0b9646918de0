//! The `Receiver` controller: each Receiver's token gives its webhook path; the controller
//! publishes it in `status.webhookPath` with a Ready condition and registers it for the handler.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use gitops_core::api::status::{Condition, ConditionStatus, READY, set_condition};
use gitops_core::api::{Receiver, ReceiverStatus};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};

use super::trigger::now_rfc3339;
use super::verify::webhook_path;
use super::{ReceiverKey, Registry};

/// How often a ready receiver is looked at again (a rotated token moves its path).
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
    let context = Arc::new(Context { client, registry });
    Controller::new(receivers, watcher::Config::default())
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
