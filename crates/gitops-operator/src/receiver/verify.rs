//! Webhook authentication, pure: given the receiver's type, its token, its event filter and a
//! request's headers and body, decide whether to trigger, answer a ping, ignore the event, or
//! reject the request. No I/O, so every rule is unit-tested.
//!
//! Secrets are compared in constant time: HMACs with `hmac`'s `verify_slice`, GitLab's plain
//! token with `subtle`.

use axum::http::HeaderMap;
use gitops_core::api::ReceiverType;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// GitHub's signature header: `sha256=<hex HMAC-SHA256 of the body>`.
pub const GITHUB_SIGNATURE: &str = "x-hub-signature-256";
/// GitHub's event name header (`push`, `ping`, ...).
pub const GITHUB_EVENT: &str = "x-github-event";
/// GitLab's shared-token header.
pub const GITLAB_TOKEN: &str = "x-gitlab-token";
/// GitLab's event name header (`Push Hook`, `Tag Push Hook`, ...).
pub const GITLAB_EVENT: &str = "x-gitlab-event";
/// The generic-hmac signature header: `sha256=<hex>` or `sha1=<hex>`.
pub const GENERIC_SIGNATURE: &str = "x-signature";

/// What to do with an authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Request a reconciliation of the receiver's resources.
    Trigger {
        /// The sender's event name, when it sends one.
        event: Option<String>,
    },
    /// GitHub's `ping` (sent when a webhook is created): answered, nothing triggered.
    Ping,
    /// The event is not one of `spec.events`: answered, nothing triggered.
    Ignored {
        /// The event name.
        event: String,
    },
}

/// Why a request is refused (answered 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The header that carries the proof is absent.
    #[error("missing header `{header}`")]
    MissingHeader {
        /// The header.
        header: &'static str,
    },
    /// The header is not of the expected form.
    #[error("header `{header}` should be `{expected}`, found `{found}`")]
    Malformed {
        /// The header.
        header: &'static str,
        /// Its expected form.
        expected: &'static str,
        /// What it held (a signature, not a secret; cut to 80 characters).
        found: String,
    },
    /// The signature does not match the body signed with the receiver's token.
    #[error("the signature in header `{header}` does not match the body")]
    BadSignature {
        /// The header.
        header: &'static str,
    },
    /// GitLab's token does not equal the receiver's.
    #[error("the token in header `x-gitlab-token` does not match the receiver's secret")]
    BadToken,
}

/// The path of a receiver's webhook, as Flux computes it: `/hook/` followed by the hex SHA-256
/// of token, name and namespace, so that the path itself is a secret.
#[must_use]
pub fn webhook_path(token: &str, name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{token}{name}{namespace}").as_bytes());
    format!("/hook/{}", hex::encode(digest))
}

/// Authenticates a request to a receiver of type `kind` whose secret is `token`, and decides
/// what to do with it. The signature is checked before the event filter, so an unauthenticated
/// sender learns nothing about the receiver.
///
/// # Errors
///
/// A [`Rejection`] when the request does not prove knowledge of the token.
pub fn verify(
    kind: ReceiverType,
    token: &[u8],
    events: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Decision, Rejection> {
    let event = match kind {
        ReceiverType::Github => {
            let value = header(headers, GITHUB_SIGNATURE)?;
            let signature = value
                .strip_prefix("sha256=")
                .ok_or_else(|| Rejection::Malformed {
                    header: GITHUB_SIGNATURE,
                    expected: "sha256=<hex>",
                    found: cut(value),
                })?;
            verify_hmac(GITHUB_SIGNATURE, Algorithm::Sha256, token, body, signature)?;
            let event = optional_header(headers, GITHUB_EVENT);
            if event.as_deref() == Some("ping") {
                return Ok(Decision::Ping);
            }
            event
        }
        ReceiverType::Gitlab => {
            let value = header(headers, GITLAB_TOKEN)?;
            if !bool::from(value.as_bytes().ct_eq(token)) {
                return Err(Rejection::BadToken);
            }
            optional_header(headers, GITLAB_EVENT)
        }
        ReceiverType::GenericHmac => {
            let value = header(headers, GENERIC_SIGNATURE)?;
            if let Some(signature) = value.strip_prefix("sha256=") {
                verify_hmac(GENERIC_SIGNATURE, Algorithm::Sha256, token, body, signature)?;
            } else if let Some(signature) = value.strip_prefix("sha1=") {
                verify_hmac(GENERIC_SIGNATURE, Algorithm::Sha1, token, body, signature)?;
            } else {
                return Err(Rejection::Malformed {
                    header: GENERIC_SIGNATURE,
                    expected: "sha256=<hex> or sha1=<hex>",
                    found: cut(value),
                });
            }
            None
        }
        // The secret path is the only proof.
        ReceiverType::Generic => None,
    };
    match event {
        Some(event)
            if !events.is_empty() && !events.iter().any(|e| e.eq_ignore_ascii_case(&event)) =>
        {
            Ok(Decision::Ignored { event })
        }
        event => Ok(Decision::Trigger { event }),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Rejection> {
    let value = headers
        .get(name)
        .ok_or(Rejection::MissingHeader { header: name })?;
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| Rejection::Malformed {
            header: name,
            expected: "printable ASCII",
            found: String::from_utf8_lossy(value.as_bytes())
                .chars()
                .take(80)
                .collect(),
        })
}

fn optional_header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

fn cut(text: &str) -> String {
    text.chars().take(80).collect()
}

/// The HMAC digests a signature header may name.
#[derive(Debug, Clone, Copy)]
enum Algorithm {
    Sha256,
    Sha1,
}

/// Checks `signature` (hex) against the HMAC of `body` keyed with `token`, in constant time.
fn verify_hmac(
    header: &'static str,
    algorithm: Algorithm,
    token: &[u8],
    body: &[u8],
    signature: &str,
) -> Result<(), Rejection> {
    let expected = hex::decode(signature).map_err(|_| Rejection::Malformed {
        header,
        expected: "a hexadecimal digest",
        found: cut(signature),
    })?;
    // HMAC takes keys of any length: `new_from_slice` cannot fail for these digests.
    let verified = match algorithm {
        Algorithm::Sha256 => Hmac::<Sha256>::new_from_slice(token).map(|mut mac| {
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        }),
        Algorithm::Sha1 => Hmac::<sha1::Sha1>::new_from_slice(token).map(|mut mac| {
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        }),
    };
    if verified == Ok(true) {
        Ok(())
    } else {
        Err(Rejection::BadSignature { header })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::http::HeaderValue;

    use super::*;

    const TOKEN: &[u8] = b"s3cr3t";
    const BODY: &[u8] = br#"{"ref":"refs/heads/main"}"#;

    /// Signs like the senders do (computed here independently of `verify_hmac`).
    fn sign_sha256(body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(TOKEN).unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn sign_sha1(body: &[u8]) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN).unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn github(pairs: &[(&'static str, &str)], events: &[&str]) -> Result<Decision, Rejection> {
        let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
        verify(ReceiverType::Github, TOKEN, &events, &headers(pairs), BODY)
    }

    #[test]
    fn the_webhook_path_is_fluxs_sha256_of_token_name_and_namespace() {
        // printf '%s' 'tokenreceiverflux-system' | sha256sum
        assert_eq!(
            webhook_path("token", "receiver", "flux-system"),
            "/hook/82c055fa0743ee447b0870be16fa51a43bb6604b21ef8fae7ccf02bdc860b0f9"
        );
        assert_ne!(
            webhook_path("token", "receiver", "a"),
            webhook_path("token2", "receiver", "a")
        );
    }

    #[test]
    fn github_accepts_a_good_signature_and_reports_the_event() {
        let sig = format!("sha256={}", sign_sha256(BODY));
        assert_eq!(
            github(&[(GITHUB_SIGNATURE, &sig), (GITHUB_EVENT, "push")], &[]),
            Ok(Decision::Trigger {
                event: Some("push".into())
            })
        );
    }

    #[test]
    fn github_refuses_a_bad_or_missing_signature() {
        let wrong = format!("sha256={}", sign_sha256(b"another body"));
        assert_eq!(
            github(&[(GITHUB_SIGNATURE, &wrong), (GITHUB_EVENT, "push")], &[]),
            Err(Rejection::BadSignature {
                header: GITHUB_SIGNATURE
            })
        );
        assert_eq!(
            github(&[(GITHUB_EVENT, "push")], &[]),
            Err(Rejection::MissingHeader {
                header: GITHUB_SIGNATURE
            })
        );
        let sha1 = format!("sha1={}", sign_sha1(BODY));
        assert!(matches!(
            github(&[(GITHUB_SIGNATURE, &sha1)], &[]),
            Err(Rejection::Malformed { .. })
        ));
        assert!(matches!(
            github(&[(GITHUB_SIGNATURE, "sha256=not-hex")], &[]),
            Err(Rejection::Malformed { .. })
        ));
        // A truncated signature is not a prefix match.
        let short = format!("sha256={}", &sign_sha256(BODY)[..32]);
        assert_eq!(
            github(&[(GITHUB_SIGNATURE, &short)], &[]),
            Err(Rejection::BadSignature {
                header: GITHUB_SIGNATURE
            })
        );
    }

    #[test]
    fn github_pings_are_answered_once_signed_whatever_the_event_filter() {
        let sig = format!("sha256={}", sign_sha256(BODY));
        assert_eq!(
            github(
                &[(GITHUB_SIGNATURE, &sig), (GITHUB_EVENT, "ping")],
                &["push"]
            ),
            Ok(Decision::Ping)
        );
        assert!(github(&[(GITHUB_EVENT, "ping")], &[]).is_err());
    }

    #[test]
    fn events_outside_spec_events_are_ignored_case_insensitively() {
        let sig = format!("sha256={}", sign_sha256(BODY));
        assert_eq!(
            github(
                &[(GITHUB_SIGNATURE, &sig), (GITHUB_EVENT, "issues")],
                &["push"]
            ),
            Ok(Decision::Ignored {
                event: "issues".into()
            })
        );
        assert_eq!(
            github(
                &[(GITHUB_SIGNATURE, &sig), (GITHUB_EVENT, "Push")],
                &["push"]
            ),
            Ok(Decision::Trigger {
                event: Some("Push".into())
            })
        );
        // A wrong event with a wrong signature is a rejection, not an ignored event.
        assert!(
            github(
                &[(GITHUB_SIGNATURE, "sha256=00"), (GITHUB_EVENT, "issues")],
                &["push"]
            )
            .is_err()
        );
    }

    #[test]
    fn gitlab_compares_the_token_and_filters_events() {
        let events = vec!["Push Hook".to_owned()];
        let run = |pairs: &[(&'static str, &str)]| {
            verify(ReceiverType::Gitlab, TOKEN, &events, &headers(pairs), BODY)
        };
        assert_eq!(
            run(&[(GITLAB_TOKEN, "s3cr3t"), (GITLAB_EVENT, "Push Hook")]),
            Ok(Decision::Trigger {
                event: Some("Push Hook".into())
            })
        );
        assert_eq!(
            run(&[(GITLAB_TOKEN, "s3cr3"), (GITLAB_EVENT, "Push Hook")]),
            Err(Rejection::BadToken)
        );
        assert_eq!(
            run(&[(GITLAB_EVENT, "Push Hook")]),
            Err(Rejection::MissingHeader {
                header: GITLAB_TOKEN
            })
        );
        assert_eq!(
            run(&[(GITLAB_TOKEN, "s3cr3t"), (GITLAB_EVENT, "Issue Hook")]),
            Ok(Decision::Ignored {
                event: "Issue Hook".into()
            })
        );
    }

    #[test]
    fn generic_hmac_takes_sha256_or_sha1() {
        let run = |value: &str| {
            verify(
                ReceiverType::GenericHmac,
                TOKEN,
                &[],
                &headers(&[(GENERIC_SIGNATURE, value)]),
                BODY,
            )
        };
        let trigger = Ok(Decision::Trigger { event: None });
        assert_eq!(run(&format!("sha256={}", sign_sha256(BODY))), trigger);
        assert_eq!(run(&format!("sha1={}", sign_sha1(BODY))), trigger);
        assert_eq!(
            run(&format!("sha1={}", sign_sha1(b"other"))),
            Err(Rejection::BadSignature {
                header: GENERIC_SIGNATURE
            })
        );
        assert!(matches!(
            run(&format!("md5={}", sign_sha1(BODY))),
            Err(Rejection::Malformed { .. })
        ));
        assert_eq!(
            verify(
                ReceiverType::GenericHmac,
                TOKEN,
                &[],
                &HeaderMap::new(),
                BODY
            ),
            Err(Rejection::MissingHeader {
                header: GENERIC_SIGNATURE
            })
        );
    }

    #[test]
    fn generic_needs_no_signature() {
        assert_eq!(
            verify(ReceiverType::Generic, TOKEN, &[], &HeaderMap::new(), BODY),
            Ok(Decision::Trigger { event: None })
        );
    }
}
