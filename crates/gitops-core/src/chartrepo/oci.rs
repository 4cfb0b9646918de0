//! Helm charts in an OCI registry (`oci://host[:port]/path`, Helm's `helm push` layout): the
//! tags of `<path>/<chart>` are its versions (`+` written `_`), a tag's manifest has one layer of
//! type `application/vnd.cncf.helm.chart.content.v1.tar+gzip`, the chart archive. Anonymous,
//! basic and token (`WWW-Authenticate: Bearer`) authentication, as registries ask for it.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::{Auth, ChartRepoError, MAX_CHART_BYTES, http_client, read_body, redact, send};

/// Media type of the chart archive layer of a Helm OCI artifact.
pub const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const MAX_JSON_BYTES: u64 = 4 << 20;

/// A chart repository in an OCI registry.
#[derive(Debug)]
pub struct OciRepo {
    /// `http(s)://host[:port]/`.
    registry: Url,
    /// The repository path under the registry, without slashes at the ends (may be empty).
    path: String,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Basic-auth user name and password (sent to the registry, or to its token service).
    pub basic_auth: Option<(String, String)>,
    /// Extra CA certificates (PEM).
    pub ca_pem: Option<Vec<u8>>,
    token: Mutex<Option<String>>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
}

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl OciRepo {
    /// A repository at `url` (`oci://host[:port][/path]`); `insecure` talks plain HTTP to the
    /// registry (Flux's `insecure`), for registries on loopback.
    ///
    /// # Errors
    /// A URL that is not `oci://` with a host.
    pub fn new(url: &str, insecure: bool) -> Result<Self, ChartRepoError> {
        let refuse = |reason: &str| ChartRepoError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("oci://")
            .ok_or_else(|| refuse("expected the scheme oci"))?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() {
            return Err(refuse("expected a registry host"));
        }
        let scheme = if insecure { "http" } else { "https" };
        let registry =
            Url::parse(&format!("{scheme}://{host}/")).map_err(|e| refuse(&e.to_string()))?;
        Ok(Self {
            registry,
            path: path.trim_matches('/').to_owned(),
            timeout: Duration::from_secs(60),
            basic_auth: None,
            ca_pem: None,
            token: Mutex::new(None),
        })
    }

    /// The repository of chart `chart`: `<path>/<chart>`.
    fn repository(&self, chart: &str) -> String {
        if self.path.is_empty() {
            chart.to_owned()
        } else {
            format!("{}/{chart}", self.path)
        }
    }

    fn url(&self, chart: &str, rest: &str) -> Result<Url, ChartRepoError> {
        let path = format!("v2/{}/{rest}", self.repository(chart));
        self.registry.join(&path).map_err(|e| ChartRepoError::Url {
            url: path,
            reason: e.to_string(),
        })
    }

    /// The tags of chart `chart`.
    ///
    /// # Errors
    /// See [`ChartRepoError`].
    pub fn tags(&self, chart: &str) -> Result<Vec<String>, ChartRepoError> {
        let url = self.url(chart, "tags/list")?;
        let body = self.get(&url, None, MAX_JSON_BYTES, chart)?;
        let list: TagList =
            serde_json::from_slice(&body).map_err(|e| ChartRepoError::Transport {
                url: redact(&url),
                reason: format!("not a tag list: {e}"),
            })?;
        Ok(list.tags.unwrap_or_default())
    }

    /// Pulls the chart archive of `chart` at `tag`, checked against its layer digest. Returns
    /// the archive and the layer digest (`sha256:<hex>`).
    ///
    /// # Errors
    /// See [`ChartRepoError`]; a manifest without a Helm chart layer is a transport error that
    /// says so.
    pub fn pull(&self, chart: &str, tag: &str) -> Result<(Vec<u8>, String), ChartRepoError> {
        let url = self.url(chart, &format!("manifests/{tag}"))?;
        let body = self.get(&url, Some(MANIFEST_TYPES), MAX_JSON_BYTES, chart)?;
        let manifest: Manifest =
            serde_json::from_slice(&body).map_err(|e| ChartRepoError::Transport {
                url: redact(&url),
                reason: format!("not an image manifest: {e}"),
            })?;
        let layer = manifest
            .layers
            .iter()
            .find(|l| l.media_type == CHART_LAYER)
            .ok_or_else(|| ChartRepoError::Transport {
                url: redact(&url),
                reason: format!(
                    "the manifest has no layer of type {CHART_LAYER}: not a Helm chart"
                ),
            })?;
        let blob = self.url(chart, &format!("blobs/{}", layer.digest))?;
        let archive = self.get(&blob, None, MAX_CHART_BYTES, chart)?;
        let found = format!("sha256:{}", crate::git::digest::sha256_hex(&archive));
        if found != layer.digest {
            return Err(ChartRepoError::Digest {
                url: redact(&blob),
                expected: layer.digest.clone(),
                found,
            });
        }
        Ok((archive, found))
    }

    /// A GET with the credentials the registry asks for: first with the token of an earlier
    /// challenge (or none), then once more after answering a 401's challenge.
    fn get(
        &self,
        url: &Url,
        accept: Option<&str>,
        limit: u64,
        chart: &str,
    ) -> Result<Vec<u8>, ChartRepoError> {
        let client = http_client(self.timeout, self.ca_pem.as_deref())?;
        let token = self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let first = match (token, &self.basic_auth) {
            (Some(token), _) => Auth::Bearer(token),
            (None, Some((user, password))) => Auth::Basic(user.clone(), password.clone()),
            (None, None) => Auth::None,
        };
        let response = send(&client, url, &first, accept)?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return read_body(response, url, limit);
        }
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default();
        let Some(params) = bearer_challenge(&challenge) else {
            return read_body(response, url, limit);
        };
        let token = self.fetch_token(&client, &params, chart)?;
        *self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token.clone());
        let response = send(&client, url, &Auth::Bearer(token), accept)?;
        read_body(response, url, limit)
    }

    /// A token from the realm of a Bearer challenge, for pulling `chart`.
    fn fetch_token(
        &self,
        client: &reqwest::blocking::Client,
        params: &[(String, String)],
        chart: &str,
    ) -> Result<String, ChartRepoError> {
        let param = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let realm = param("realm").unwrap_or_default();
        let mut url = Url::parse(&realm).map_err(|e| ChartRepoError::Url {
            url: realm.clone(),
            reason: format!("the registry's token realm: {e}"),
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = param("service") {
                query.append_pair("service", &service);
            }
            let scope = param("scope")
                .unwrap_or_else(|| format!("repository:{}:pull", self.repository(chart)));
            query.append_pair("scope", &scope);
        }
        let auth = match &self.basic_auth {
            Some((user, password)) => Auth::Basic(user.clone(), password.clone()),
            None => Auth::None,
        };
        let body = read_body(send(client, &url, &auth, None)?, &url, MAX_JSON_BYTES)?;
        let token: Token =
            serde_json::from_slice(&body).map_err(|e| ChartRepoError::Transport {
                url: redact(&url),
                reason: format!("not a token answer: {e}"),
            })?;
        token
            .token
            .or(token.access_token)
            .ok_or_else(|| ChartRepoError::Transport {
                url: redact(&url),
                reason: "the token answer has no token".to_owned(),
            })
    }
}

/// The parameters of a `Bearer` challenge (`realm`, `service`, `scope`), or `None` for another
/// scheme.
fn bearer_challenge(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim();
    let (scheme, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.push((key.trim().to_owned(), value.to_owned()));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_urls_name_the_registry_and_the_chart_repository() {
        let repo = OciRepo::new("oci://127.0.0.1:5000/charts/team", true).unwrap();
        assert_eq!(
            repo.url("podinfo", "tags/list").unwrap().as_str(),
            "http://127.0.0.1:5000/v2/charts/team/podinfo/tags/list"
        );
        let bare = OciRepo::new("oci://ghcr.io", false).unwrap();
        assert_eq!(
            bare.url("podinfo", "manifests/1.0.0").unwrap().as_str(),
            "https://ghcr.io/v2/podinfo/manifests/1.0.0"
        );
        assert!(OciRepo::new("https://ghcr.io/x", false).is_err());
        assert!(OciRepo::new("oci:///x", false).is_err());
    }

    #[test]
    fn bearer_challenges_are_parsed_and_others_are_not() {
        let params = bearer_challenge(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/chart:pull""#,
        )
        .unwrap();
        assert_eq!(
            params,
            [
                ("realm".to_owned(), "https://ghcr.io/token".to_owned()),
                ("service".to_owned(), "ghcr.io".to_owned()),
                ("scope".to_owned(), "repository:org/chart:pull".to_owned()),
            ]
        );
        assert!(bearer_challenge(r#"Basic realm="registry""#).is_none());
    }
}
