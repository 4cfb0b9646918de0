//! Git sources (Flux's `GitRepository`): fetch a reference, resolve it to a commit, and store the
//! commit's tree as a content-addressed, filtered **artifact**; and, for image automation and
//! rollback, commit changed files and push them ([`push`]).
//!
//! Fetching uses gix, over `https://`/`http://` (basic auth, bearer token, extra CA
//! certificates), `git://`, `ssh://` (the `ssh` program with the given key, host keys checked
//! against the given known_hosts, never a prompt), `file://` and local paths. Every fetch is
//! shallow (depth 1) unless asked otherwise, and goes into a persistent bare repository per source
//! in a [`Cache`], so the next fetch only receives new objects.
//!
//! All of this is blocking I/O. From async code, run it with `tokio::task::spawn_blocking`: gix's
//! HTTP client starts its own runtime and must not run on an executor's thread.
//!
//! The pure parts are separate modules and tested on their own: [`reference`] (which commit a
//! reference means, Flux's precedence and semver), [`ignore`] (what goes into an artifact),
//! [`digest`] (the artifact digest) and [`url`] (transports, redaction, failure kinds).
//!
//! ```no_run
//! use gitops_core::git::{ArtifactStore, Cache, GitRef, GitSource};
//!
//! let source = GitSource::new("https://example.com/org/fleet.git").with_ref(GitRef::branch("main"));
//! let artifact = source.artifact(&Cache::new("/var/cache/gitops/git"), &ArtifactStore::new("/var/lib/gitops/artifacts"))?;
//! println!("{} {} {}", artifact.revision, artifact.digest, artifact.path.display());
//! # Ok::<(), gitops_core::git::GitError>(())
//! ```

mod credentials;
pub mod digest;
pub(crate) mod error;
mod export;
mod fetch;
pub mod ignore;
pub mod push;
pub mod reference;
pub mod url;

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use credentials::{Credentials, CredentialsError, SECRET_KEYS};
pub use error::GitError;
pub use reference::{GitRef, RefError};
pub use url::{FailureKind, RedactedUrl, Transport};

use fetch::{Failure, FetchSpec};

/// Installs rustls' ring provider as the process default if none is installed: reqwest is built
/// without a provider of its own (see the workspace Cargo.toml).
pub(crate) fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A Git repository to fetch from: URL, reference, credentials and fetch settings.
#[derive(Debug, Clone)]
pub struct GitSource {
    /// The URL (`https://…`, `http://…`, `git://…`, `ssh://…`, `user@host:path`, `file://…` or a
    /// local path). User info in an HTTP URL is used as basic-auth credentials and never shown.
    pub url: String,
    /// The reference to check out.
    pub reference: GitRef,
    /// Credentials (from a Secret).
    pub credentials: Credentials,
    /// The spec's `ignore` patterns (gitignore syntax); they replace Flux's default exclusions.
    pub ignore: Option<String>,
    /// Fetch only the commit itself (depth 1); `false` fetches full history.
    pub shallow: bool,
    /// The limit for one fetch attempt.
    pub timeout: Duration,
    /// How often to try again after a transient failure (network, timeout), with exponential
    /// backoff starting at [`GitSource::backoff`].
    pub retries: u32,
    /// The first wait between attempts; it doubles each time, up to 30 seconds.
    pub backoff: Duration,
    /// Allow sending basic-auth credentials over plain `http://` (Flux's `insecure`); refused
    /// otherwise, since anyone on the path could read them.
    pub allow_insecure_http: bool,
}

/// What a fetch resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Flux's revision string: `main@sha1:<hex>`, `v1.2.0@sha1:<hex>` or `sha1:<hex>`.
    pub revision: String,
    /// The commit, lowercase hex.
    pub commit: String,
    /// The cache repository holding it.
    pub repository: PathBuf,
}

/// An artifact: the filtered tree of a commit in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The revision it was made from (for a composed artifact: the base's).
    pub revision: String,
    /// `sha256:<hex>` over the canonical listing of its files ([`digest`]).
    pub digest: String,
    /// Its directory.
    pub path: PathBuf,
    /// Number of files (and links) in it.
    pub files: usize,
}

/// Persistent bare repositories, one per source URL, for incremental fetches.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// A cache under `root` (created on first use).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache repository of `url` (credentials do not change the location).
    pub fn repository(&self, url: &str) -> PathBuf {
        let (plain, _) = url::split_userinfo(url);
        let key = digest::sha256_hex(plain.as_bytes());
        self.root.join(&key[..24])
    }
}

/// A directory of artifacts, each in a subdirectory named after the hex of its digest: the same
/// content is stored once, and an artifact's directory never changes once written.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
}

/// Another artifact to place into a composed one (Flux's `include`).
#[derive(Debug, Clone)]
pub struct Include<'a> {
    /// The artifact to copy from.
    pub artifact: &'a Artifact,
    /// The directory inside it to copy (`None`: all of it).
    pub from_path: Option<String>,
    /// Where it goes in the composed artifact (relative, no `..`).
    pub to_path: String,
}

fn check_relative(path: &str) -> Result<(), GitError> {
    let p = Path::new(path);
    let bad = |reason| GitError::IncludePath {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(bad("must not be empty"));
    }
    if p.is_absolute() {
        return Err(bad("must be relative"));
    }
    if p.components().any(|c| {
        !matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    }) {
        return Err(bad("must not contain `..`"));
    }
    Ok(())
}

impl ArtifactStore {
    /// A store under `root` (created on first use).
    pub fn new(root: impl Into<PathBuf>) -> ArtifactStore {
        ArtifactStore { root: root.into() }
    }

    /// Where an artifact with `digest` is stored.
    pub fn path_of(&self, digest: &str) -> PathBuf {
        self.root
            .join(digest.strip_prefix("sha256:").unwrap_or(digest))
    }

    /// A fresh scratch directory inside the store (so the final rename stays on one file system).
    fn staging(&self) -> Result<tempfile::TempDir, GitError> {
        std::fs::create_dir_all(&self.root)
            .map_err(GitError::io("creating the artifact store", &self.root))?;
        tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&self.root)
            .map_err(GitError::io("creating a directory in", &self.root))
    }

    /// Moves a filled staging directory to its content address.
    fn commit(
        &self,
        staging: tempfile::TempDir,
        revision: String,
        entries: &[digest::Entry],
    ) -> Result<Artifact, GitError> {
        let digest = digest::digest(entries);
        let path = self.path_of(&digest);
        if !path.is_dir() {
            let from = staging.keep();
            if let Err(e) = std::fs::rename(&from, &path) {
                // Another process stored the same content first: theirs is as good as ours.
                let _ = std::fs::remove_dir_all(&from);
                if !path.is_dir() {
                    return Err(GitError::io("storing the artifact at", &path)(e));
                }
            }
        }
        Ok(Artifact {
            revision,
            digest,
            path,
            files: entries.len(),
        })
    }

    /// A new artifact made of `base` with each of `includes` copied in at its `to_path`
    /// (replacing what `base` has there), as Flux composes a `GitRepository` with `include`.
    pub fn compose(&self, base: &Artifact, includes: &[Include<'_>]) -> Result<Artifact, GitError> {
        let staging = self.staging()?;
        export::copy_tree(&base.path, staging.path())?;
        for include in includes {
            check_relative(&include.to_path)?;
            let from = match &include.from_path {
                Some(p) => {
                    check_relative(p)?;
                    include.artifact.path.join(p)
                }
                None => include.artifact.path.clone(),
            };
            let to = staging.path().join(&include.to_path);
            if to.exists() {
                std::fs::remove_dir_all(&to)
                    .or_else(|_| std::fs::remove_file(&to))
                    .map_err(GitError::io("replacing", &to))?;
            }
            export::copy_tree(&from, &to)?;
        }
        // An included tree's links are checked again where they landed.
        export::remove_escaping_links(staging.path())?;
        let entries = export::scan_dir(staging.path())?;
        self.commit(staging, base.revision.clone(), &entries)
    }
}

impl GitSource {
    /// A source for `url` at its default branch, shallow, with a 60 s timeout and two retries.
    pub fn new(url: impl Into<String>) -> GitSource {
        GitSource {
            url: url.into(),
            reference: GitRef::default(),
            credentials: Credentials::default(),
            ignore: None,
            shallow: true,
            timeout: Duration::from_secs(60),
            retries: 2,
            backoff: Duration::from_millis(500),
            allow_insecure_http: false,
        }
    }

    /// The same source at `reference`.
    pub fn with_ref(mut self, reference: GitRef) -> GitSource {
        self.reference = reference;
        self
    }

    /// The same source with `credentials`.
    pub fn with_credentials(mut self, credentials: Credentials) -> GitSource {
        self.credentials = credentials;
        self
    }

    /// The URL for messages, credentials redacted.
    pub fn redacted_url(&self) -> RedactedUrl {
        RedactedUrl::new(&self.url)
    }

    /// The URL gix connects to and the credentials to use: HTTP user info moves into the
    /// credentials; relative local paths become absolute.
    fn connection(&self) -> Result<(String, Credentials), GitError> {
        let unsupported = || GitError::UnsupportedUrl {
            url: self.redacted_url(),
        };
        let transport = Transport::of(&self.url).ok_or_else(unsupported)?;
        let mut creds = self.credentials.clone();
        let url = match transport {
            Transport::Http | Transport::Https => {
                let (plain, userinfo) = url::split_userinfo(&self.url);
                if let Some((user, password)) = userinfo {
                    if creds.username.is_none() {
                        creds.username = Some(url::decode_userinfo(&user));
                    }
                    if creds.password.is_none() {
                        creds.password = password.as_deref().map(url::decode_userinfo);
                    }
                }
                let has_secret = creds.password.is_some() || creds.bearer_token.is_some();
                if transport == Transport::Http && has_secret && !self.allow_insecure_http {
                    return Err(GitError::InsecureCredentials {
                        url: self.redacted_url(),
                    });
                }
                plain
            }
            Transport::File if !self.url.starts_with("file://") => std::path::absolute(&self.url)
                .map_err(GitError::io("resolving", &self.url))?
                .to_string_lossy()
                .into_owned(),
            _ => self.url.clone(),
        };
        Ok((url, creds))
    }

    fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .credentials
            .secrets()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if let (_, Some((_, Some(password)))) = url::split_userinfo(&self.url) {
            secrets.push(url::decode_userinfo(&password));
            secrets.push(password);
        }
        secrets
    }

    fn failure(&self, failure: Failure) -> GitError {
        let secrets = self.secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        match failure {
            Failure::Transport(message) => {
                let cause = url::redact(&message, &secrets);
                GitError::Fetch {
                    url: self.redacted_url(),
                    reference: self.reference.to_string(),
                    kind: FailureKind::classify(&cause),
                    cause,
                }
            }
            Failure::Ref(source) => GitError::Ref {
                url: self.redacted_url(),
                source,
            },
            Failure::Repository(cause) => GitError::Repository {
                url: self.redacted_url(),
                what: "the cache".to_owned(),
                cause: url::redact(&cause, &secrets),
            },
        }
    }

    /// Fetches the reference into `cache` and resolves it to a commit, with the timeout and
    /// retries of this source.
    pub fn fetch(&self, cache: &Cache) -> Result<Fetched, GitError> {
        init_crypto();
        let (url, credentials) = self.connection()?;
        let repository = cache.repository(&url);
        let spec = FetchSpec {
            url,
            wanted: self.reference.clone(),
            credentials,
            depth: if self.shallow {
                NonZeroU32::new(1)
            } else {
                None
            },
            timeout: self.timeout,
        };
        let mut wait = self.backoff;
        let mut attempt = 0;
        loop {
            match self.fetch_once(&repository, &spec) {
                Ok(resolved) => {
                    return Ok(Fetched {
                        revision: resolved.revision(),
                        commit: resolved.commit,
                        repository,
                    });
                }
                Err(err) if err.is_transient() && attempt < self.retries => {
                    attempt += 1;
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// One attempt, on its own thread so that it can be abandoned at the timeout (gix stops
    /// receiving at the next interrupt check; connection set-up has its own timeouts).
    fn fetch_once(
        &self,
        repository: &Path,
        spec: &FetchSpec,
    ) -> Result<reference::Resolved, GitError> {
        let interrupt = Arc::new(AtomicBool::new(false));
        let (send, receive) = std::sync::mpsc::channel();
        let thread_interrupt = Arc::clone(&interrupt);
        let thread_spec = spec.clone();
        let thread_repo = repository.to_owned();
        std::thread::Builder::new()
            .name("gitops-git-fetch".to_owned())
            .spawn(move || {
                let result = fetch::fetch(&thread_repo, &thread_spec, &thread_interrupt);
                let _ = send.send(result);
            })
            .map_err(GitError::io("starting a fetch thread for", repository))?;
        match receive.recv_timeout(spec.timeout) {
            Ok(result) => result.map_err(|f| self.failure(f)),
            Err(_) => {
                interrupt.store(true, Ordering::Relaxed);
                Err(GitError::Timeout {
                    url: self.redacted_url(),
                    reference: self.reference.to_string(),
                    seconds: spec.timeout.as_secs(),
                })
            }
        }
    }

    /// Writes the filtered tree of `fetched` into `dir` (created; must be empty if it exists)
    /// and returns the artifact there (not content-addressed: the caller chose the place).
    pub fn export(&self, fetched: &Fetched, dir: &Path) -> Result<Artifact, GitError> {
        std::fs::create_dir_all(dir).map_err(GitError::io("creating", dir))?;
        let non_empty = std::fs::read_dir(dir)
            .map_err(GitError::io("reading the directory", dir))?
            .next()
            .is_some();
        if non_empty {
            return Err(GitError::io("exporting into", dir)(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the directory is not empty",
            )));
        }
        let entries = self.export_entries(fetched, dir)?;
        Ok(Artifact {
            revision: fetched.revision.clone(),
            digest: digest::digest(&entries),
            path: dir.to_owned(),
            files: entries.len(),
        })
    }

    fn export_entries(
        &self,
        fetched: &Fetched,
        dir: &Path,
    ) -> Result<Vec<digest::Entry>, GitError> {
        let repo_error = |cause: String| GitError::Repository {
            url: self.redacted_url(),
            what: format!("commit {}", fetched.commit),
            cause,
        };
        let repo = fetch::open_cache(&fetched.repository).map_err(repo_error)?;
        let mut rules = ignore::IgnoreRules::new(self.ignore.as_deref());
        export::export_commit(&repo, &fetched.commit, &mut rules, dir).map_err(|f| match f {
            export::ExportFailure::Repository(cause) => repo_error(cause),
            export::ExportFailure::Io(e) => e,
        })
    }

    /// Fetches and stores the artifact in `store` under its digest.
    pub fn artifact(&self, cache: &Cache, store: &ArtifactStore) -> Result<Artifact, GitError> {
        let fetched = self.fetch(cache)?;
        self.store(&fetched, store)
    }

    /// Stores the artifact of an earlier [`GitSource::fetch`] in `store` under its digest.
    pub fn store(&self, fetched: &Fetched, store: &ArtifactStore) -> Result<Artifact, GitError> {
        let staging = store.staging()?;
        let entries = self.export_entries(fetched, staging.path())?;
        store.commit(staging, fetched.revision.clone(), &entries)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn percent_encoded_url_credentials_are_sent_decoded() {
        let source = GitSource::new("https://al%69ce:p%40ss@git.example.com/r.git");
        let (url, credentials) = source.connection().unwrap();
        assert_eq!(url, "https://git.example.com/r.git");
        assert_eq!(credentials.username.as_deref(), Some("alice"));
        assert_eq!(credentials.password.as_deref(), Some("p@ss"));
        let secrets = source.secrets();
        assert!(secrets.iter().any(|s| s == "p@ss") && secrets.iter().any(|s| s == "p%40ss"));
    }
}
