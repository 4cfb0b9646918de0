//! Errors of the cluster engine: each leads with the object it is about and carries the API
//! server's reason.

use std::time::Duration;

use crate::ObjectRef;

/// Why an operation on one object (or on the unit's inventory) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server does not serve the object's kind, and no CRD in the same set defines it.
    #[error(
        "{object}: the server has no resource for kind `{kind}` in `{api_version}` (is its CRD installed?)"
    )]
    UnknownKind {
        /// The object.
        object: ObjectRef,
        /// Its kind.
        kind: String,
        /// Its apiVersion.
        api_version: String,
    },
    /// The API server refused a request.
    #[error("{object}: {verb} failed: {reason} ({code}): {message}{hint}")]
    Api {
        /// The object.
        object: ObjectRef,
        /// What was being done: `apply`, `dry-run apply`, `get`, `delete`.
        verb: &'static str,
        /// The status reason (`Invalid`, `Forbidden`, `Conflict`, ...).
        reason: String,
        /// The HTTP code.
        code: u16,
        /// The server's message.
        message: String,
        /// What the user can do about it, with a leading space, or empty.
        hint: String,
    },
    /// The request did not reach the server or its answer could not be read.
    #[error("{object}: {verb} failed")]
    Request {
        /// The object.
        object: ObjectRef,
        /// What was being done.
        verb: &'static str,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// API discovery of a group version failed.
    #[error("discovery of `{group_version}` failed")]
    Discovery {
        /// `group/version`.
        group_version: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// An object did not become ready in time (CRD not Established, Namespace not Active,
    /// object not gone after a delete).
    #[error("{object}: timed out after {timeout:?} waiting until {what}")]
    Timeout {
        /// The object.
        object: ObjectRef,
        /// What was awaited.
        what: &'static str,
        /// How long.
        timeout: Duration,
    },
    /// The inventory ConfigMap could not be read or holds something else.
    #[error("inventory ConfigMap {namespace}/{name}: {message}")]
    Inventory {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A safety rule stopped the operation.
    #[error("refusing to {what}: {reason}")]
    Refused {
        /// `apply`, `prune`.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The object's JSON does not fit the API types (a bug, or a server answering oddly).
    #[error("{object}: {message}")]
    Invalid {
        /// The object.
        object: ObjectRef,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Turns a client error about `object` into an [`Error`], keeping the server's reason.
    pub(crate) fn from_kube(object: &ObjectRef, verb: &'static str, source: kube::Error) -> Self {
        match source {
            kube::Error::Api(status) => Self::Api {
                object: object.clone(),
                verb,
                reason: status.reason.clone(),
                code: status.code,
                message: status.message.clone(),
                hint: String::new(),
            },
            source => Self::Request {
                object: object.clone(),
                verb,
                source,
            },
        }
    }

    /// Whether the server rejected a change of an immutable field (a Job's template, a
    /// Service's clusterIP, a Deployment's selector), which only a delete and re-create can
    /// apply.
    #[must_use]
    pub fn is_immutable(&self) -> bool {
        matches!(self, Self::Api { code: 422, message, .. }
            if message.contains("immutable") || message.contains("may not change once set"))
    }

    /// The HTTP code of an API error, if this is one.
    #[must_use]
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Adds a hint to an API error (other errors are returned unchanged).
    #[must_use]
    pub(crate) fn with_hint(mut self, text: &str) -> Self {
        if let Self::Api { hint, .. } = &mut self {
            *hint = format!(" ({text})");
        }
        self
    }
}

/// Whether a client error is the API's 404.
pub(crate) fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}
