//! The errors of Git sources. Every message names the URL (credentials redacted) and, for fetches,
//! the reference; causes from transports are scrubbed of secrets before they get here.

use std::path::PathBuf;

use super::credentials::CredentialsError;
use super::reference::RefError;
use super::url::{FailureKind, RedactedUrl};

/// Why a Git source operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The URL's scheme is not one we speak.
    #[error(
        "unsupported Git URL {url}: expected https://, http://, git://, ssh://, file:// or a local path"
    )]
    UnsupportedUrl {
        /// The URL.
        url: RedactedUrl,
    },
    /// Credentials would travel in clear text.
    #[error(
        "refusing to send credentials to {url} over plain http://: use https://, or allow insecure HTTP for this source"
    )]
    InsecureCredentials {
        /// The URL.
        url: RedactedUrl,
    },
    /// Talking to the remote failed.
    #[error("fetching {reference} from {url}: {}: {cause}", kind.describe())]
    Fetch {
        /// The URL.
        url: RedactedUrl,
        /// The reference, as [`super::GitRef`] displays it.
        reference: String,
        /// What kind of failure it was.
        kind: FailureKind,
        /// What the transport said, secrets removed.
        cause: String,
    },
    /// The whole operation took longer than the timeout.
    #[error("fetching {reference} from {url} timed out after {seconds}s")]
    Timeout {
        /// The URL.
        url: RedactedUrl,
        /// The reference.
        reference: String,
        /// The timeout.
        seconds: u64,
    },
    /// The reference does not resolve on the remote.
    #[error("{url}: {source}")]
    Ref {
        /// The URL.
        url: RedactedUrl,
        /// What did not resolve.
        #[source]
        source: RefError,
    },
    /// The credentials cannot be used.
    #[error("credentials for {url}: {source}")]
    Credentials {
        /// The URL.
        url: RedactedUrl,
        /// What is wrong.
        #[source]
        source: CredentialsError,
    },
    /// A local file operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What we were doing (`writing`, `creating the cache directory`, ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Reading the fetched objects failed (a corrupt or incomplete cache, or a missing object).
    #[error("reading {what} of {url}: {cause}")]
    Repository {
        /// The URL.
        url: RedactedUrl,
        /// What we were reading (`commit 1234…`, `the cache at …`).
        what: String,
        /// What gix said.
        cause: String,
    },
    /// A push was refused because the branch moved on the remote.
    #[error(
        "pushing to branch {branch} of {url} was rejected: not a fast-forward (the branch moved since {base}; fetch and try again)"
    )]
    PushRejected {
        /// The URL.
        url: RedactedUrl,
        /// The branch.
        branch: String,
        /// The commit our commit was based on.
        base: String,
    },
    /// The `git` program failed.
    #[error("`git {command}` for {url} failed: {cause}")]
    GitProgram {
        /// The subcommand (`push`, `commit`, ...), without secrets.
        command: String,
        /// The URL.
        url: RedactedUrl,
        /// What git printed, secrets removed.
        cause: String,
    },
    /// An artifact directory's `include` has an unusable path.
    #[error("include path {path:?}: {reason}")]
    IncludePath {
        /// The path as given.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl GitError {
    /// An [`GitError::Io`] for `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> GitError {
        let path = path.into();
        move |source| GitError::Io {
            action,
            path,
            source,
        }
    }

    /// Whether the operation may succeed if tried again.
    pub fn is_transient(&self) -> bool {
        match self {
            GitError::Fetch { kind, .. } => kind.is_transient(),
            GitError::Timeout { .. } => true,
            _ => false,
        }
    }
}

pub(crate) use crate::error_chain as chain_text;
