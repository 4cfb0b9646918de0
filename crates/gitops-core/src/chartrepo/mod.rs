//! The I/O edge of Helm chart repositories: HTTP downloads of a repository's `index.yaml` and
//! of chart archives, with basic auth, an extra CA, a timeout, a size limit and a digest check.
//! What the index means (which version to take) is `gitops_render::helm::repo`'s job. OCI
//! registries ([`oci`]) serve charts as artifacts instead, listed by tag.

pub mod oci;

use std::time::Duration;

use reqwest::Url;

/// Largest index accepted (large public repositories serve indexes of tens of MiB).
pub const MAX_INDEX_BYTES: u64 = 128 << 20;
/// Largest chart archive accepted.
pub const MAX_CHART_BYTES: u64 = 64 << 20;

/// A chart repository to download from.
#[derive(Debug, Clone)]
pub struct ChartRepo {
    url: Url,
    /// Timeout of one download.
    pub timeout: Duration,
    /// Basic-auth user name and password.
    pub basic_auth: Option<(String, String)>,
    /// Extra CA certificates (PEM) to trust besides the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// Send the credentials to hosts other than the repository's (chart URLs elsewhere).
    pub pass_credentials: bool,
}

/// Why a download failed. Messages name the URL (without credentials).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartRepoError {
    /// The repository URL or a chart URL is not a valid `http(s)://` URL.
    #[error("`{url}` is not a valid http(s) URL: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The extra CA is not PEM.
    #[error("the CA certificate is not valid PEM: {0}")]
    Ca(String),
    /// The connection or the transfer failed.
    #[error("GET {url}: {reason}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("GET {url}: the server answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than the limit.
    #[error("GET {url}: the body is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The archive's SHA-256 is not the one the index gives.
    #[error(
        "{url}: digest mismatch: the index says sha256:{expected}, the download is sha256:{found}"
    )]
    Digest {
        /// The URL.
        url: String,
        /// The digest in the index.
        expected: String,
        /// The digest of what was downloaded.
        found: String,
    },
}

impl ChartRepo {
    /// A repository at `url` (`http://` or `https://`), with a 60-second timeout and no
    /// credentials.
    ///
    /// # Errors
    /// A URL that does not parse or is not HTTP(S).
    pub fn new(url: &str) -> Result<Self, ChartRepoError> {
        let refuse = |reason: &str| ChartRepoError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        // A trailing slash makes relative chart URLs resolve under the repository's path.
        let mut parsed = Url::parse(url).map_err(|e| refuse(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(refuse("expected the scheme http or https"));
        }
        if !parsed.path().ends_with('/') {
            let path = format!("{}/", parsed.path());
            parsed.set_path(&path);
        }
        Ok(Self {
            url: parsed,
            timeout: Duration::from_secs(60),
            basic_auth: None,
            ca_pem: None,
            pass_credentials: false,
        })
    }

    /// The URL of the repository's index.
    #[must_use]
    pub fn index_url(&self) -> Url {
        let mut url = self.url.clone();
        let path = format!("{}index.yaml", url.path());
        url.set_path(&path);
        url
    }

    /// Where a chart URL of the index points: absolute URLs as they are, others relative to
    /// the repository URL, as Helm resolves them.
    ///
    /// # Errors
    /// A reference that does not resolve to an HTTP(S) URL.
    pub fn resolve(&self, reference: &str) -> Result<Url, ChartRepoError> {
        let url = self.url.join(reference).map_err(|e| ChartRepoError::Url {
            url: reference.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ChartRepoError::Url {
                url: reference.to_owned(),
                reason: "expected the scheme http or https".to_owned(),
            });
        }
        Ok(url)
    }

    /// Downloads the index.
    ///
    /// # Errors
    /// See [`ChartRepoError`].
    pub fn fetch_index(&self) -> Result<Vec<u8>, ChartRepoError> {
        self.get(&self.index_url(), MAX_INDEX_BYTES)
    }

    /// Downloads the chart archive at `url` and, when `digest` (hex SHA-256, as in the index)
    /// is given, checks it. Returns the archive and its hex SHA-256.
    ///
    /// # Errors
    /// See [`ChartRepoError`].
    pub fn fetch_chart(
        &self,
        url: &Url,
        digest: Option<&str>,
    ) -> Result<(Vec<u8>, String), ChartRepoError> {
        let body = self.get(url, MAX_CHART_BYTES)?;
        let found = crate::git::digest::sha256_hex(&body);
        if let Some(expected) = digest.map(str::trim).filter(|d| !d.is_empty())
            && !expected.eq_ignore_ascii_case(&found)
        {
            return Err(ChartRepoError::Digest {
                url: redact(url),
                expected: expected.to_owned(),
                found,
            });
        }
        Ok((body, found))
    }

    fn get(&self, url: &Url, limit: u64) -> Result<Vec<u8>, ChartRepoError> {
        let client = http_client(self.timeout, self.ca_pem.as_deref())?;
        // URL user info is credentials too; it is sent as basic auth and never shown.
        let from_url = (!url.username().is_empty()).then(|| {
            (
                url.username().to_owned(),
                url.password().unwrap_or_default().to_owned(),
            )
        });
        let same_host = url.host_str() == self.url.host_str() && url.port() == self.url.port();
        let auth = match from_url.or_else(|| {
            self.basic_auth
                .clone()
                .filter(|_| same_host || self.pass_credentials)
        }) {
            Some((user, password)) => Auth::Basic(user, password),
            None => Auth::None,
        };
        let response = send(&client, url, &auth, None)?;
        read_body(response, url, limit)
    }
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

/// A blocking HTTP client with `timeout` and, when given, an extra CA (PEM).
pub(crate) fn http_client(
    timeout: Duration,
    ca_pem: Option<&[u8]>,
) -> Result<reqwest::blocking::Client, ChartRepoError> {
    crate::git::init_crypto();
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("gitops/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ChartRepoError::Ca(e.to_string()))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| ChartRepoError::Transport {
        url: String::new(),
        reason: e.to_string(),
    })
}

/// Sends a GET with `auth` and the `Accept` header `accept`; the response whatever its status.
pub(crate) fn send(
    client: &reqwest::blocking::Client,
    url: &Url,
    auth: &Auth,
    accept: Option<&str>,
) -> Result<reqwest::blocking::Response, ChartRepoError> {
    let mut request = client.get(url.clone());
    request = match auth {
        Auth::None => request,
        Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
        Auth::Bearer(token) => request.bearer_auth(token),
    };
    if let Some(accept) = accept {
        request = request.header(reqwest::header::ACCEPT, accept);
    }
    request.send().map_err(|e| ChartRepoError::Transport {
        url: redact(url),
        reason: crate::git::error::chain_text(&e),
    })
}

/// The body of a successful response, at most `limit` bytes; other statuses are errors.
pub(crate) fn read_body(
    response: reqwest::blocking::Response,
    url: &Url,
    limit: u64,
) -> Result<Vec<u8>, ChartRepoError> {
    use std::io::Read as _;
    let shown = redact(url);
    let status = response.status();
    if !status.is_success() {
        return Err(ChartRepoError::Status {
            url: shown,
            status: status.as_u16(),
        });
    }
    let too_large = || ChartRepoError::TooLarge {
        url: shown.clone(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    response
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| ChartRepoError::Transport {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
    if body.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(body)
}

/// A URL without its user info, for messages.
pub(crate) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_urls_resolve_against_the_repository_url_as_helm_does() {
        let repo = ChartRepo::new("http://127.0.0.1:8080/charts").unwrap();
        assert_eq!(
            repo.index_url().as_str(),
            "http://127.0.0.1:8080/charts/index.yaml"
        );
        let at = |r: &str| repo.resolve(r).unwrap().to_string();
        assert_eq!(
            at("podinfo-1.0.0.tgz"),
            "http://127.0.0.1:8080/charts/podinfo-1.0.0.tgz"
        );
        assert_eq!(
            at("/other/podinfo-1.0.0.tgz"),
            "http://127.0.0.1:8080/other/podinfo-1.0.0.tgz"
        );
        assert_eq!(
            at("https://cdn.example/p-1.tgz"),
            "https://cdn.example/p-1.tgz"
        );
        assert!(repo.resolve("file:///etc/passwd").is_err());
    }

    #[test]
    fn only_http_repositories_are_accepted_and_credentials_never_shown() {
        assert!(ChartRepo::new("oci://ghcr.io/x").is_err());
        assert!(ChartRepo::new("not a url").is_err());
        let url = Url::parse("https://user:secret@example.com/i.yaml").unwrap();
        assert_eq!(redact(&url), "https://example.com/i.yaml");
    }
}
