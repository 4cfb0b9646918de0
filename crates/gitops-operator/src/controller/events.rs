//! Kubernetes Events for condition transitions and notable actions (drift healed, pruned on
//! deletion). Publishing is best effort: a refused Event is logged, never fails a reconcile.

use gitops_core::api::Condition;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType};

use super::Context;
use crate::conditions;

/// Publishes one Event about `object`; the note is cut to the API's 1 kB limit.
pub(crate) async fn publish(
    ctx: &Context,
    object: &ObjectReference,
    normal: bool,
    reason: &str,
    action: &str,
    note: &str,
) {
    let mut note = note.to_owned();
    if note.len() > 1000 {
        let mut cut = 997;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
        note.push_str("...");
    }
    let event = Event {
        type_: if normal {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason: reason.to_owned(),
        note: Some(note),
        action: action.to_owned(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, object).await {
        tracing::warn!(error = %e, reason, "cannot publish an event");
    }
}

/// Publishes an Event for each transition from `old` to `new` conditions.
pub(crate) async fn publish_transitions(
    ctx: &Context,
    object: &ObjectReference,
    old: &[Condition],
    new: &[Condition],
) {
    for t in conditions::transitions(old, new) {
        publish(ctx, object, t.normal, &t.reason, "Reconcile", &t.message).await;
    }
}
