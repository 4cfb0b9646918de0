//! The cluster side of the webhook handler: look receivers and tokens up, annotate the
//! resources a webhook names, record refused requests as Events.

use futures::future::BoxFuture;
use gitops_core::api::status::REQUESTED_AT_ANNOTATION;
use gitops_core::api::{GitRepository, HelmRelease, Kustomization, Receiver, ReceiverResource};
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client};

use super::handler::{Backend, Resolved};
use super::verify::webhook_path;
use super::{ReceiverKey, Registry};

/// Why a resource could not be triggered.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The resource is of a kind that has no reconcile request.
    #[error(
        "resource kind `{kind}` cannot be triggered: expected GitRepository, Kustomization or HelmRelease"
    )]
    UnknownKind {
        /// The kind in `spec.resources`.
        kind: String,
    },
    /// The API server refused to list or patch.
    #[error("cannot {verb} {object}")]
    Api {
        /// `list` or `annotate`.
        verb: &'static str,
        /// `GitRepository/ns/name` (name `*` for a list).
        object: String,
        /// The server's answer.
        #[source]
        source: kube::Error,
    },
}

/// The API resource of a kind a receiver may trigger.
fn api_resource(kind: &str) -> Result<ApiResource, TriggerError> {
    match kind {
        "GitRepository" => Ok(ApiResource::erase::<GitRepository>(&())),
        "HelmRepository" => Ok(ApiResource::erase::<gitops_core::api::HelmRepository>(&())),
        "Kustomization" => Ok(ApiResource::erase::<Kustomization>(&())),
        "HelmRelease" => Ok(ApiResource::erase::<HelmRelease>(&())),
        other => Err(TriggerError::UnknownKind {
            kind: other.to_owned(),
        }),
    }
}

/// Writes `reconcile.gitops.rs/requestedAt: <requested_at>` on the objects `resource` names in
/// `namespace` (its own namespace wins): one object by name, or with name `*` every object of
/// the kind that has the resource's `matchLabels`. Returns the objects annotated.
///
/// # Errors
///
/// [`TriggerError`] for an unknown kind or a refused list or patch; objects annotated before
/// the error stay annotated.
pub async fn request_reconcile(
    client: &Client,
    namespace: &str,
    resource: &ReceiverResource,
    requested_at: &str,
) -> Result<Vec<String>, TriggerError> {
    let ar = api_resource(&resource.kind)?;
    let namespace = resource.namespace.as_deref().unwrap_or(namespace);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let names = if resource.name == "*" {
        let selector = resource
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let list = api
            .list_metadata(&ListParams::default().labels(&selector))
            .await
            .map_err(|source| TriggerError::Api {
                verb: "list",
                object: format!("{}/{namespace}/*", resource.kind),
                source,
            })?;
        list.items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect()
    } else {
        vec![resource.name.clone()]
    };
    let patch = serde_json::json!({
        "metadata": {"annotations": {REQUESTED_AT_ANNOTATION: requested_at}}
    });
    let mut done = Vec::with_capacity(names.len());
    for name in names {
        let object = format!("{}/{namespace}/{name}", resource.kind);
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|source| TriggerError::Api {
                verb: "annotate",
                object: object.clone(),
                source,
            })?;
        done.push(object);
    }
    Ok(done)
}

/// The current time as the annotation value: RFC 3339, whole seconds, UTC.
pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// [`Backend`] over the Kubernetes API.
pub(crate) struct KubeBackend {
    client: Client,
    registry: Registry,
    recorder: Recorder,
}

impl KubeBackend {
    pub(crate) fn new(client: Client, registry: Registry, controller: String) -> Self {
        let reporter = Reporter {
            controller,
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            registry,
        }
    }

    async fn lookup(&self, path: &str) -> Result<Option<Resolved>, String> {
        let Some(key) = self.registry.get(path) else {
            return Ok(None);
        };
        let ReceiverKey { namespace, name } = &key;
        let receivers: Api<Receiver> = Api::namespaced(self.client.clone(), namespace);
        let receiver = receivers
            .get_opt(name)
            .await
            .map_err(|e| format!("cannot read Receiver {namespace}/{name}: {e}"))?;
        let Some(receiver) = receiver else {
            // Deleted since the controller saw it.
            self.registry.remove(&key);
            return Ok(None);
        };
        let secret_name = &receiver.spec.secret_ref.name;
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = secrets
            .get_opt(secret_name)
            .await
            .map_err(|e| format!("cannot read Secret {namespace}/{secret_name}: {e}"))?;
        let token = secret
            .and_then(|s| s.data)
            .and_then(|mut d| d.remove("token"))
            .map(|t| t.0)
            .ok_or_else(|| {
                format!(
                    "Secret {namespace}/{secret_name} of Receiver {namespace}/{name} has no `token`"
                )
            })?;
        // A rotated token moves the path: the old one is no longer served.
        let text = String::from_utf8_lossy(&token);
        if webhook_path(&text, name, namespace) != path {
            return Ok(None);
        }
        Ok(Some(Resolved {
            uid: receiver.metadata.uid.clone(),
            spec: receiver.spec,
            token,
            key,
        }))
    }

    async fn annotate(&self, receiver: &Resolved) -> Result<Vec<String>, String> {
        let now = now_rfc3339();
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for resource in &receiver.spec.resources {
            match request_reconcile(&self.client, &receiver.key.namespace, resource, &now).await {
                Ok(objects) => done.extend(objects),
                Err(e) => errors.push(error_chain(&e)),
            }
        }
        if errors.is_empty() {
            Ok(done)
        } else {
            Err(errors.join("; "))
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Backend for KubeBackend {
    fn resolve<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Option<Resolved>, String>> {
        Box::pin(self.lookup(path))
    }

    fn trigger<'a>(&'a self, receiver: &'a Resolved) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(self.annotate(receiver))
    }

    fn rejected<'a>(&'a self, receiver: &'a Resolved, message: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let reference = ObjectReference {
                api_version: Some(gitops_core::api::API_VERSION.to_owned()),
                kind: Some("Receiver".to_owned()),
                name: Some(receiver.key.name.clone()),
                namespace: Some(receiver.key.namespace.clone()),
                uid: receiver.uid.clone(),
                ..ObjectReference::default()
            };
            let event = Event {
                type_: EventType::Warning,
                reason: "ValidationFailed".to_owned(),
                note: Some(message.chars().take(1024).collect()),
                action: "ValidateWebhook".to_owned(),
                secondary: None,
            };
            if let Err(e) = self.recorder.publish(&event, &reference).await {
                tracing::warn!(error = %e, "cannot record the refused webhook as an Event");
            }
        })
    }
}
