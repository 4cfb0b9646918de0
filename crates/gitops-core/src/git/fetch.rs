//! Fetching with gix into a per-source bare cache repository. Blocking: call it from a plain
//! thread or `spawn_blocking`, never on an async executor's thread (gix's HTTP client runs its
//! own runtime).
//!
//! The cache keeps one local ref per fetched remote ref (`refs/gitops/<remote ref>`), so the next
//! fetch of the same source tells the server what it already has and receives only new objects.
//! Refspecs are forced (`+`): a force-pushed branch replaces what the cache had.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gix::bstr::ByteSlice as _;
use gix::protocol::handshake::Ref;
use gix::protocol::transport::client::blocking_io::http;
use gix::remote::Direction;
use gix::remote::fetch::Shallow;

use super::credentials::{Credentials, Materialized};
use super::error::chain_text;
use super::reference::{self, GitRef, RefError, RemoteRef, Resolved, Wanted};

/// What to fetch.
#[derive(Debug, Clone)]
pub(crate) struct FetchSpec {
    /// The URL without user info.
    pub(crate) url: String,
    pub(crate) wanted: GitRef,
    pub(crate) credentials: Credentials,
    /// `None` fetches full history.
    pub(crate) depth: Option<NonZeroU32>,
    pub(crate) timeout: Duration,
}

/// Why a fetch failed, before the caller adds URL and reference.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The transport or the server said no; the message, unredacted.
    Transport(String),
    /// The reference did not resolve.
    Ref(RefError),
    /// The cache could not be opened or read.
    Repository(String),
}

fn transport(err: impl std::error::Error + 'static) -> Failure {
    Failure::Transport(chain_text(&err))
}

fn repository(err: impl std::error::Error + 'static) -> Failure {
    Failure::Repository(chain_text(&err))
}

/// Opens the bare cache repository at `path`, creating it if needed, isolated from the user's
/// and the system's Git configuration and environment.
pub(crate) fn open_cache(path: &Path) -> Result<gix::Repository, String> {
    if !path.join("HEAD").is_file() {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        gix::init_bare(path).map_err(|e| chain_text(&e))?;
    }
    gix::open_opts(path, gix::open::Options::isolated()).map_err(|e| chain_text(&e))
}

/// The local ref that caches remote ref `name`.
fn local_ref(name: &str) -> String {
    format!("refs/gitops/{name}")
}

fn remote_refs(refs: &[Ref]) -> Vec<RemoteRef> {
    refs.iter()
        .filter_map(|r| match r {
            Ref::Direct {
                full_ref_name,
                object,
            } => Some(RemoteRef {
                name: full_ref_name.to_str_lossy().into_owned(),
                commit: object.to_string(),
                target: None,
            }),
            Ref::Peeled {
                full_ref_name,
                object,
                ..
            } => Some(RemoteRef {
                name: full_ref_name.to_str_lossy().into_owned(),
                commit: object.to_string(),
                target: None,
            }),
            Ref::Symbolic {
                full_ref_name,
                target,
                object,
                ..
            } => Some(RemoteRef {
                name: full_ref_name.to_str_lossy().into_owned(),
                commit: object.to_string(),
                target: Some(target.to_str_lossy().into_owned()),
            }),
            Ref::Unborn { .. } => None,
        })
        .collect()
}

/// Everything a connection needs besides the refspecs: credentials, HTTP options, ssh program.
struct Session {
    repo: gix::Repository,
    spec: FetchSpec,
    files: Materialized,
    http_options: Option<http::Options>,
}

impl Session {
    fn new(cache: &Path, spec: &FetchSpec) -> Result<Session, Failure> {
        let mut repo = open_cache(cache).map_err(Failure::Repository)?;
        let files = Materialized::new(&spec.credentials, spec.timeout.as_secs().max(1))
            .map_err(repository)?;
        {
            let mut config = repo.config_snapshot_mut();
            // The `ssh` wrapper checks host keys against the given known_hosts and never prompts
            // (gix runs it as Git would run `GIT_SSH_COMMAND`).
            config
                .set_value(
                    &gix::config::tree::Core::SSH_COMMAND,
                    files.ssh_program.to_string_lossy().as_ref(),
                )
                .map_err(repository)?;
            config
                .set_value(&gix::config::tree::Ssh::VARIANT, "ssh")
                .map_err(repository)?;
            config.commit().map_err(repository)?;
        }
        let http_options = Self::http_options(&repo, spec, &files)?;
        Ok(Session {
            repo,
            spec: spec.clone(),
            files,
            http_options,
        })
    }

    /// gix's HTTP options from configuration, plus what the credentials and timeout add: a
    /// bearer header, extra CA certificates and request timeouts (set on the reqwest client).
    fn http_options(
        repo: &gix::Repository,
        spec: &FetchSpec,
        files: &Materialized,
    ) -> Result<Option<http::Options>, Failure> {
        let lower = spec.url.to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            return Ok(None);
        }
        let mut options = repo
            .transport_options(spec.url.as_str(), None)
            .map_err(repository)?
            .and_then(|b| b.downcast::<http::Options>().ok())
            .map(|b| *b)
            .unwrap_or_default();
        options.connect_timeout = Some(spec.timeout);
        if let Some(token) = &spec.credentials.bearer_token {
            options
                .extra_headers
                .push(format!("Authorization: Bearer {token}"));
        }
        let certs = match &files.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(repository)?;
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    Failure::Transport(format!("the CA certificate is not valid PEM: {e}"))
                })?
            }
            None => Vec::new(),
        };
        let timeout = spec.timeout;
        let backend = http::reqwest::Options {
            configure_client: Some(Box::new(move |builder| {
                Ok(builder.timeout(timeout).tls_certs_merge(certs.clone()))
            })),
            configure_request: None,
        };
        options.backend = Some(Arc::new(Mutex::new(backend)));
        Ok(Some(options))
    }

    fn remote(&self, refspecs: &[String]) -> Result<gix::Remote<'_>, Failure> {
        self.repo
            .remote_at(self.spec.url.as_str())
            .map_err(transport)?
            .with_fetch_tags(gix::remote::fetch::Tags::None)
            .with_refspecs(refspecs.iter().map(String::as_str), Direction::Fetch)
            .map_err(transport)
    }

    /// Connects, lists the refs matching `refspecs`, and if `fetch` says so for the listed refs,
    /// receives the pack. Returns the refs.
    fn exchange(
        &self,
        refspecs: &[String],
        interrupt: &AtomicBool,
        mut decide: impl FnMut(&[RemoteRef]) -> Result<bool, Failure>,
    ) -> Result<Vec<RemoteRef>, Failure> {
        let remote = self.remote(refspecs)?;
        let username = self.spec.credentials.username.clone();
        let password = self.spec.credentials.password.clone();
        let mut connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| self.transport(e))?
            .with_credentials(move |action| match action {
                gix::credentials::helper::Action::Get(context) => {
                    match (&username, &password) {
                        (Some(username), Some(password)) => {
                            Ok(Some(gix::credentials::protocol::Outcome {
                                identity: gix::sec::identity::Account {
                                    username: username.clone(),
                                    password: password.clone(),
                                    oauth_refresh_token: None,
                                },
                                next: context.into(),
                            }))
                        }
                        // No credentials to offer: never ask anyone (no prompt, no helper).
                        _ => Ok(None),
                    }
                }
                _ => Ok(None),
            });
        if let Some(options) = &self.http_options {
            connection = connection.with_transport_options(Box::new(options.clone()));
        }
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| self.transport(e))?;
        let refs = remote_refs(&prepare.ref_map().remote_refs);
        if !decide(&refs)? {
            return Ok(refs);
        }
        let shallow = match self.spec.depth {
            Some(depth) => Shallow::DepthAtRemote(depth),
            None if self.repo.is_shallow().unwrap_or(false) => Shallow::undo(),
            None => Shallow::NoChange,
        };
        prepare
            .with_shallow(shallow)
            .receive(gix::progress::Discard, interrupt)
            .map_err(|e| self.transport(e))?;
        Ok(refs)
    }

    /// A transport failure with what ssh printed, if it ran.
    fn transport(&self, err: impl std::error::Error + 'static) -> Failure {
        Failure::Transport(self.files.with_ssh_stderr(chain_text(&err)))
    }

    fn has_commit(&self, commit: &str) -> bool {
        gix::ObjectId::from_hex(commit.as_bytes())
            .ok()
            .and_then(|id| self.repo.find_object(id).ok())
            .is_some_and(|o| o.kind == gix::object::Kind::Commit)
    }
}

/// Fetches `spec.wanted` from `spec.url` into the cache at `cache` and returns what it resolved
/// to; the commit and its tree are in the cache afterwards.
pub(crate) fn fetch(
    cache: &Path,
    spec: &FetchSpec,
    interrupt: &AtomicBool,
) -> Result<Resolved, Failure> {
    let session = Session::new(cache, spec)?;
    let wanted = spec.wanted.effective();
    let resolved = match wanted {
        Wanted::Commit { commit, .. } => {
            let resolved = reference::resolve(&spec.wanted, &[]).map_err(Failure::Ref)?;
            let commit_hex = resolved.commit.clone();
            if !session.has_commit(&commit_hex) {
                let by_id = vec![format!(
                    "+{commit_hex}:{}",
                    local_ref(&format!("commits/{commit_hex}"))
                )];
                let exact = session.exchange(&by_id, interrupt, |_| Ok(true));
                if exact.is_err() || !session.has_commit(&commit_hex) {
                    // The server does not serve commits by id: fetch every branch's history.
                    let all = vec![format!("+refs/heads/*:{}", local_ref("refs/heads/*"))];
                    let full = FetchSpec {
                        depth: None,
                        ..spec.clone()
                    };
                    let session = Session::new(cache, &full)?;
                    session.exchange(&all, interrupt, |_| Ok(true))?;
                    if !session.has_commit(&commit_hex) {
                        return Err(Failure::Ref(RefError::NotFound {
                            wanted: format!("commit {commit} (in no branch)"),
                        }));
                    }
                }
            }
            resolved
        }
        Wanted::Semver(_) => {
            let tags = vec![format!("+refs/tags/*:{}", local_ref("refs/tags/*"))];
            let refs = session.exchange(&tags, interrupt, |_| Ok(false))?;
            let resolved = reference::resolve(&spec.wanted, &refs).map_err(Failure::Ref)?;
            let name = resolved.ref_name.clone().unwrap_or_default();
            let one = vec![format!("+{name}:{}", local_ref(&name))];
            session.exchange(&one, interrupt, |_| Ok(true))?;
            resolved
        }
        Wanted::Name(name) | Wanted::Tag(name) | Wanted::Branch(name) => {
            let full = match wanted {
                Wanted::Tag(_) => format!("refs/tags/{name}"),
                Wanted::Branch(_) => format!("refs/heads/{name}"),
                _ => name.to_owned(),
            };
            let spec_line = vec![format!("+{full}:{}", local_ref(&full))];
            let mut resolved = None;
            session.exchange(&spec_line, interrupt, |refs| {
                resolved = Some(reference::resolve(&spec.wanted, refs).map_err(Failure::Ref)?);
                Ok(true)
            })?;
            resolved.ok_or_else(|| Failure::Repository("no reference resolved".to_owned()))?
        }
        Wanted::DefaultBranch => {
            let head = vec![format!("+HEAD:{}", local_ref("HEAD"))];
            let mut resolved = None;
            session.exchange(&head, interrupt, |refs| {
                resolved = Some(reference::resolve(&spec.wanted, refs).map_err(Failure::Ref)?);
                Ok(true)
            })?;
            resolved.ok_or_else(|| Failure::Repository("no reference resolved".to_owned()))?
        }
    };
    if !session.has_commit(&resolved.commit) {
        return Err(Failure::Repository(format!(
            "commit {} is missing from the cache after the fetch",
            resolved.commit
        )));
    }
    Ok(resolved)
}
