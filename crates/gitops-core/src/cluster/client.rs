//! Building a [`kube::Client`] from a kubeconfig file or the environment.

use std::path::{Path, PathBuf};

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kubeconfig file could not be read or parsed.
    #[error("cannot read kubeconfig `{}`", .path.display())]
    ReadKubeconfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No kubeconfig and no in-cluster environment.
    #[error("cannot infer a Kubernetes configuration (set KUBECONFIG or pass --kubeconfig)")]
    Infer(#[source] kube::config::InferConfigError),
    /// The configuration is valid but a client cannot be made from it (TLS setup, proxy).
    #[error("cannot create a Kubernetes client")]
    Client(#[source] kube::Error),
    /// The kubeconfig has no such context.
    #[error("cannot load context from kubeconfig")]
    Context(#[source] kube::config::KubeconfigError),
}

/// Loads the configuration (a given file and context, else `KUBECONFIG`, `~/.kube/config`, or the
/// in-cluster service account) and creates a client.
///
/// The binary must have installed a rustls crypto provider before calling this.
///
/// # Errors
/// See [`Error`].
pub async fn client_from_kubeconfig(
    path: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Client, Error> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let config = match path {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|source| {
                Error::ReadKubeconfig {
                    path: path.to_owned(),
                    source,
                }
            })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(Error::Context)?
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(Error::Context)?,
        None => kube::Config::infer().await.map_err(Error::Infer)?,
    };
    kube::Client::try_from(config).map_err(Error::Client)
}
