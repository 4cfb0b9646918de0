//! The control plane of `scripts/testenv` and per-test namespaces.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

/// A running control plane: where its kubeconfig is, and whether this process started it.
#[derive(Debug)]
pub struct Cluster {
    kubeconfig: PathBuf,
    state_dir: Option<PathBuf>,
    bin_dir: Option<PathBuf>,
}

static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The path of `scripts/testenv`, or `$GITOPS_TESTENV_SCRIPT` when set.
fn script() -> PathBuf {
    std::env::var_os("GITOPS_TESTENV_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("scripts/testenv"))
}

impl Cluster {
    /// The control plane of this test process, started on first use (which blocks for the time
    /// `scripts/testenv up` takes, some seconds when the binaries are built), or the one named by
    /// `KUBECONFIG` when `GITOPS_TESTENV_REUSE=1`. Later calls return the same one; a failed
    /// start is reported to every caller.
    pub fn shared() -> anyhow::Result<&'static Cluster> {
        crate::init_crypto();
        SHARED
            .get_or_init(|| Self::start().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow!("the test control plane is not available: {e}"))
    }

    fn start() -> anyhow::Result<Cluster> {
        if std::env::var("GITOPS_TESTENV_REUSE").is_ok_and(|v| v == "1") {
            let kubeconfig = std::env::var_os("KUBECONFIG")
                .context("GITOPS_TESTENV_REUSE=1 needs KUBECONFIG to name the kubeconfig")?;
            return Ok(Cluster {
                kubeconfig: PathBuf::from(kubeconfig),
                state_dir: None,
                bin_dir: std::env::var_os("GITOPS_TESTENV_BIN").map(PathBuf::from),
            });
        }
        let pid = std::process::id();
        let state_dir = std::env::temp_dir().join(format!("gitops-testenv-{pid}"));
        let script = script();
        let output = Command::new(&script)
            .arg("up")
            .arg("--owner-pid")
            .arg(pid.to_string())
            .env("GITOPS_TESTENV_DIR", &state_dir)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !output.status.success() {
            bail!("{} up failed with {}", script.display(), output.status);
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let exported = |name: &str| {
            stdout.lines().find_map(|line| {
                line.strip_prefix("export ")?
                    .strip_prefix(name)?
                    .strip_prefix('=')
                    .map(PathBuf::from)
            })
        };
        let kubeconfig = exported("KUBECONFIG")
            .with_context(|| format!("`testenv up` printed no KUBECONFIG: {stdout}"))?;
        Ok(Cluster {
            kubeconfig,
            state_dir: Some(state_dir),
            bin_dir: exported("GITOPS_TESTENV_BIN"),
        })
    }

    /// The admin kubeconfig (client certificate in `system:masters`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The state directory of a control plane this process started (logs are in `logs/`).
    pub fn state_dir(&self) -> Option<&Path> {
        self.state_dir.as_deref()
    }

    /// The directory of the built binaries (it has `kubectl`), when known.
    pub fn bin_dir(&self) -> Option<&Path> {
        self.bin_dir.as_deref()
    }

    /// Kills one component of a control plane this process started (`etcd`, `kube-apiserver`,
    /// `kube-controller-manager`, `kube-scheduler`, `kwok`) at once, as a crash would. Fault
    /// tests that do this must own their control plane: run them in a test binary of their own.
    ///
    /// # Errors
    /// When this process did not start the control plane, or the script fails.
    pub fn stop_component(&self, name: &str) -> anyhow::Result<()> {
        self.component("stop-component", name)
    }

    /// Starts a component stopped by [`Cluster::stop_component`] again with the arguments it
    /// had, and waits until it serves (etcd and the apiserver).
    ///
    /// # Errors
    /// As [`Cluster::stop_component`].
    pub fn start_component(&self, name: &str) -> anyhow::Result<()> {
        self.component("start-component", name)
    }

    fn component(&self, verb: &str, name: &str) -> anyhow::Result<()> {
        let state_dir = self
            .state_dir
            .as_ref()
            .context("this process did not start the control plane (GITOPS_TESTENV_REUSE)")?;
        let script = script();
        let status = Command::new(&script)
            .arg(verb)
            .arg(name)
            .env("GITOPS_TESTENV_DIR", state_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("running {}", script.display()))?;
        if !status.success() {
            bail!("{} {verb} {name} failed with {status}", script.display());
        }
        Ok(())
    }

    /// The kube client configuration for the admin kubeconfig.
    pub async fn config(&self) -> anyhow::Result<Config> {
        crate::init_crypto();
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)
            .with_context(|| format!("reading {}", self.kubeconfig.display()))?;
        Ok(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?)
    }

    /// A new admin client. Make one per test: a client belongs to the tokio runtime it was made
    /// in, and each `#[tokio::test]` has its own.
    pub async fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::try_from(self.config().await?)?)
    }
}

/// A namespace of one test, created fresh and deleted afterwards: by [`TestNamespace::delete`],
/// or else when it is dropped (also when the test panics).
pub struct TestNamespace {
    name: String,
    client: Client,
    kubeconfig: PathBuf,
    deleted: bool,
}

impl std::fmt::Debug for TestNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNamespace")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A name unique in this process and among processes: `<prefix>-<pid>-<n>`, cut to fit the
/// 63-character DNS label limit.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("-{}-{n}", std::process::id());
    let mut clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    clean.truncate(63 - suffix.len());
    let clean = clean.trim_matches('-');
    let clean = if clean.is_empty() { "test" } else { clean };
    format!("{clean}{suffix}")
}

impl TestNamespace {
    /// Creates a namespace named after `prefix` (for example the test's name) in the shared
    /// control plane of this process.
    pub async fn create(prefix: &str) -> anyhow::Result<TestNamespace> {
        let cluster = Cluster::shared()?;
        let client = cluster.client().await?;
        let name = unique_name(prefix);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("gitops-testenv/test".to_owned(), "true".to_owned())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        // Pods need the namespace's default ServiceAccount, made by the controller-manager.
        let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
            Api::namespaced(client.clone(), &name);
        crate::eventually(
            "the default ServiceAccount",
            Duration::from_secs(60),
            || async { Ok(accounts.get_opt("default").await?) },
        )
        .await?;
        Ok(TestNamespace {
            name,
            client,
            kubeconfig: cluster.kubeconfig().to_owned(),
            deleted: false,
        })
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The admin client this namespace was made with.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// An API of namespaced kind `K` in this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Deletes the namespace (without waiting for its finalization).
    pub async fn delete(mut self) -> anyhow::Result<()> {
        self.deleted = true;
        delete_namespace(self.client.clone(), &self.name).await
    }
}

async fn delete_namespace(client: Client, name: &str) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client);
    match namespaces.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("deleting namespace {name}")),
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        // The test's runtime may be shutting down, and blocking inside it is not allowed: delete
        // from a thread with a runtime and client of its own.
        let name = std::mem::take(&mut self.name);
        let kubeconfig = self.kubeconfig.clone();
        let done = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let kubeconfig = Kubeconfig::read_from(&kubeconfig)?;
                let config =
                    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                        .await?;
                delete_namespace(Client::try_from(config)?, &name).await
            })
        })
        .join();
        // Failing to clean up must not turn a passing test into a failing one; the control
        // plane goes away with the process anyway.
        drop(done);
    }
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn unique_names_are_dns_labels() {
        let a = unique_name("Deployment_Becomes Available");
        let b = unique_name("Deployment_Becomes Available");
        assert_ne!(a, b);
        assert!(a.starts_with("deployment-becomes-available-"));
        let long = unique_name(&"x".repeat(100));
        assert!(long.len() <= 63);
        assert!(unique_name("--").starts_with("test-"));
    }
}
