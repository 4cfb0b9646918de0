//! The Prometheus HTTP API client: instant queries (`GET /api/v1/query`) with a per-request
//! timeout and retries on transport errors and 5xx answers. This is the module's only I/O.

use std::time::Duration;

use serde_json::Value;

use super::{MetricSource, SourceError};

/// Why a query got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrometheusError {
    /// No address in the metric and no default.
    #[error("no Prometheus address: set provider.prometheus.address or the operator's default")]
    NoAddress,
    /// The server could not be reached (after retries).
    #[error("{url}: {message} (after {attempts} attempt(s))")]
    Transport {
        /// The request.
        url: String,
        /// What failed.
        message: String,
        /// How many tries.
        attempts: u32,
    },
    /// Prometheus refused the query (bad PromQL, bad request).
    #[error("{url}: Prometheus answered {status}: {error_type}: {error}")]
    Api {
        /// The request.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Prometheus's `errorType`.
        error_type: String,
        /// Prometheus's `error`.
        error: String,
    },
    /// The answer is not the API's JSON.
    #[error("{url}: unexpected answer: {message}")]
    Decode {
        /// The request.
        url: String,
        /// What was wrong.
        message: String,
    },
}

/// A Prometheus server (or several: metrics may name their own address).
#[derive(Debug, Clone)]
pub struct Prometheus {
    /// Used when a metric gives no address.
    pub default_address: Option<String>,
    /// Per-request timeout when the metric gives none.
    pub timeout: Duration,
    /// Tries per query (at least 1).
    pub attempts: u32,
    /// Pause between tries, doubled each time.
    pub backoff: Duration,
}

impl Default for Prometheus {
    fn default() -> Self {
        Self {
            default_address: None,
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(200),
        }
    }
}

impl Prometheus {
    /// A client for `address` with the default timeout (10s) and retries (3 tries).
    #[must_use]
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            default_address: Some(address.into()),
            ..Self::default()
        }
    }

    /// Runs an instant query; returns the sample values (one per series; a scalar gives one).
    ///
    /// # Errors
    /// No address, the server unreachable after the retries, a refused query or an answer that
    /// is not Prometheus JSON.
    pub fn query(
        &self,
        address: Option<&str>,
        query: &str,
        timeout: Option<Duration>,
    ) -> Result<Vec<f64>, PrometheusError> {
        let address = address
            .or(self.default_address.as_deref())
            .ok_or(PrometheusError::NoAddress)?;
        let url = format!("{}/api/v1/query", address.trim_end_matches('/'));
        let timeout = timeout.unwrap_or(self.timeout);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let attempts = self.attempts.max(1);
        let mut backoff = self.backoff;
        let mut last = String::new();
        for attempt in 1..=attempts {
            let sent = agent
                .get(&url)
                .query("query", query)
                .call()
                .and_then(|mut r| {
                    let status = r.status().as_u16();
                    r.body_mut().read_to_string().map(|body| (status, body))
                });
            match sent {
                Ok((status, body)) if status < 500 => return decode(&url, status, &body),
                Ok((status, body)) => last = format!("HTTP {status}: {}", body.trim()),
                Err(e) => last = e.to_string(),
            }
            if attempt < attempts {
                std::thread::sleep(backoff);
                backoff = backoff.saturating_mul(2);
            }
        }
        Err(PrometheusError::Transport {
            url,
            message: last,
            attempts,
        })
    }
}

fn decode(url: &str, status: u16, body: &str) -> Result<Vec<f64>, PrometheusError> {
    let bad = |message: String| PrometheusError::Decode {
        url: url.to_owned(),
        message,
    };
    let v: Value = serde_json::from_str(body)
        .map_err(|e| bad(format!("HTTP {status}, not JSON ({e}): {}", body.trim())))?;
    if v["status"] != "success" {
        return Err(PrometheusError::Api {
            url: url.to_owned(),
            status,
            error_type: v["errorType"].as_str().unwrap_or("unknown").to_owned(),
            error: v["error"].as_str().unwrap_or_default().to_owned(),
        });
    }
    let data = &v["data"];
    let sample = |pair: &Value| -> Result<f64, PrometheusError> {
        let text = pair
            .get(1)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("expected a [time, \"value\"] pair, found {pair}")))?;
        text.parse::<f64>()
            .map_err(|_| bad(format!("expected a number, found {text:?}")))
    };
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .ok_or_else(|| bad("expected data.result to be a list".to_owned()))?
            .iter()
            .map(|series| sample(&series["value"]))
            .collect(),
        Some("scalar") => Ok(vec![sample(&data["result"])?]),
        other => Err(bad(format!(
            "expected a vector or scalar result of an instant query, found {}",
            other.unwrap_or("none")
        ))),
    }
}

impl MetricSource for Prometheus {
    fn query(
        &self,
        address: Option<&str>,
        query: &str,
        timeout: Option<u64>,
    ) -> Result<Vec<f64>, SourceError> {
        Self::query(self, address, query, timeout.map(Duration::from_secs))
            .map_err(|e| SourceError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_vectors_scalars_and_errors() {
        let url = "http://p/api/v1/query";
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"a":"1"},"value":[1700000000.1,"0.5"]},
            {"metric":{},"value":[1700000000.1,"NaN"]}]}}"#;
        let got = decode(url, 200, vector).unwrap();
        assert_eq!(got[0], 0.5);
        assert!(got[1].is_nan());
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#;
        assert_eq!(decode(url, 200, scalar).unwrap(), vec![2.0]);
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(decode(url, 200, empty).unwrap(), Vec::<f64>::new());
        let refused = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(
            decode(url, 400, refused).unwrap_err().to_string(),
            "http://p/api/v1/query: Prometheus answered 400: bad_data: parse error"
        );
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(
            decode(url, 200, matrix)
                .unwrap_err()
                .to_string()
                .contains("found matrix")
        );
        assert!(
            decode(url, 502, "<html>")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
    }

    #[test]
    fn an_unreachable_server_is_retried_then_reported() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Prometheus {
            attempts: 2,
            backoff: Duration::from_millis(1),
            timeout: Duration::from_secs(2),
            ..Prometheus::new(format!("http://127.0.0.1:{port}"))
        };
        let err = client.query(None, "up", None).unwrap_err();
        assert!(
            matches!(err, PrometheusError::Transport { attempts: 2, .. }),
            "{err}"
        );
        assert_eq!(
            Prometheus::default().query(None, "up", None).unwrap_err(),
            PrometheusError::NoAddress
        );
    }
}
