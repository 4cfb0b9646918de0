//! Pure helpers about Git URLs and error text: which transport a URL uses, how to show it without
//! credentials, and what kind of failure a transport's message describes.

use std::fmt;

/// The transports a [`crate::git::GitSource`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `https://`
    Https,
    /// `http://`
    Http,
    /// `git://` (unauthenticated Git daemon)
    Git,
    /// `ssh://` or scp-like `user@host:path`
    Ssh,
    /// `file://` or a local path
    File,
}

impl Transport {
    /// The transport of `url`; `None` for a scheme we do not support.
    pub fn of(url: &str) -> Option<Transport> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("https://") {
            Some(Transport::Https)
        } else if lower.starts_with("http://") {
            Some(Transport::Http)
        } else if lower.starts_with("git://") {
            Some(Transport::Git)
        } else if lower.starts_with("ssh://") {
            Some(Transport::Ssh)
        } else if lower.starts_with("file://") || url.starts_with('/') || url.starts_with('.') {
            Some(Transport::File)
        } else if url.contains("://") {
            None
        } else if is_scp_like(url) {
            Some(Transport::Ssh)
        } else {
            Some(Transport::File)
        }
    }
}

/// `user@host:path` (scp syntax): a colon before any slash.
fn is_scp_like(url: &str) -> bool {
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) => colon < slash,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Whether `text` looks like a Git URL rather than a local path, for commands that take either.
pub fn is_remote_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["https://", "http://", "git://", "ssh://", "file://"]
        .iter()
        .any(|p| lower.starts_with(p))
        || (text.contains('@') && is_scp_like(text) && !text.starts_with('/'))
}

/// A URL with any password or token in its user info replaced by `***`, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// Redacts `url`.
    pub fn new(url: &str) -> RedactedUrl {
        RedactedUrl(redact_url(url))
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `scheme://user:password@host/...` into the URL without user info and the user info.
pub fn split_userinfo(url: &str) -> (String, Option<(String, Option<String>)>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_owned(), None);
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_owned(), None);
    };
    let userinfo = &authority[..at];
    let stripped = format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]);
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u.to_owned(), Some(p.to_owned())),
        None => (userinfo.to_owned(), None),
    };
    (stripped, Some((user, password)))
}

/// A user name or password of a URL's user info as git sends it: percent-decoded (`p%40ss` is
/// `p@ss`); a `%` not followed by two hex digits stays as it is.
pub fn decode_userinfo(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8_lossy()
        .into_owned()
}

fn redact_url(url: &str) -> String {
    match split_userinfo(url) {
        (_, None) | (_, Some((_, None))) => url.to_owned(),
        (stripped, Some((user, Some(_)))) => {
            let scheme_end = stripped.find("://").map_or(0, |i| i + 3);
            format!(
                "{}{user}:***@{}",
                &stripped[..scheme_end],
                &stripped[scheme_end..]
            )
        }
    }
}

/// Replaces every occurrence of each non-empty secret in `text` by `***`, and every URL's
/// password: what a transport says may echo the URL or a header.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(secret, "***");
    }
    out.split(' ')
        .map(|word| {
            if word.contains("://") && word.contains('@') {
                redact_url(word)
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a failed fetch was about, judged from the transport's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The host name does not resolve.
    UnknownHost,
    /// Nothing listens, or the network is unreachable.
    Unreachable,
    /// The server refused the credentials (or asked for some and none were given).
    Auth,
    /// The SSH host key is not in known_hosts, or differs.
    HostKey,
    /// The server's TLS certificate is not trusted (or TLS failed otherwise).
    Tls,
    /// The repository does not exist on the server.
    RepositoryNotFound,
    /// The operation took too long.
    Timeout,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// Classifies a transport's error message (all causes joined).
    pub fn classify(message: &str) -> FailureKind {
        let m = message.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
        if any(&[
            "host key verification failed",
            "remote host identification has changed",
            "no matching host key",
        ]) {
            FailureKind::HostKey
        } else if any(&[
            "invalid peer certificate",
            "unknownissuer",
            "certificate verify failed",
            "self-signed certificate",
            "tls handshake",
        ]) {
            FailureKind::Tls
        } else if any(&[
            "failed to lookup address",
            "name or service not known",
            "could not resolve",
            "temporary failure in name resolution",
            "no address associated",
            "dns error",
        ]) {
            FailureKind::UnknownHost
        } else if any(&[
            "401",
            "403",
            "authentication failed",
            "authentication required",
            "permission denied",
            "unauthenticated",
            "credentials",
            "unauthorized",
        ]) {
            FailureKind::Auth
        } else if any(&["timed out", "timeout"]) {
            FailureKind::Timeout
        } else if any(&[
            "connection refused",
            "network is unreachable",
            "no route to host",
            "connection reset",
            "error trying to connect",
        ]) {
            FailureKind::Unreachable
        } else if any(&[
            "404",
            "not found",
            "does not appear to be a git repository",
            "no such file or directory",
            "not a git repository",
            "repository not exported",
            "no such repository",
            "access denied",
        ]) {
            FailureKind::RepositoryNotFound
        } else {
            FailureKind::Other
        }
    }

    /// Whether trying again may help.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            FailureKind::Unreachable | FailureKind::Timeout | FailureKind::Other
        )
    }

    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::UnknownHost => "unknown host",
            FailureKind::Unreachable => "cannot connect",
            FailureKind::Auth => "authentication failed",
            FailureKind::HostKey => "SSH host key not trusted",
            FailureKind::Tls => "TLS certificate not trusted",
            FailureKind::RepositoryNotFound => "repository not found",
            FailureKind::Timeout => "timed out",
            FailureKind::Other => "fetch failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_are_told_apart() {
        assert_eq!(Transport::of("https://h/r.git"), Some(Transport::Https));
        assert_eq!(Transport::of("HTTP://h/r.git"), Some(Transport::Http));
        assert_eq!(Transport::of("git://h/r"), Some(Transport::Git));
        assert_eq!(Transport::of("ssh://git@h:22/r"), Some(Transport::Ssh));
        assert_eq!(
            Transport::of("git@github.com:o/r.git"),
            Some(Transport::Ssh)
        );
        assert_eq!(Transport::of("file:///srv/r.git"), Some(Transport::File));
        assert_eq!(Transport::of("/srv/r.git"), Some(Transport::File));
        assert_eq!(Transport::of("./r"), Some(Transport::File));
        assert_eq!(Transport::of("ftp://h/r"), None);
        assert!(is_remote_url("https://h/r"));
        assert!(is_remote_url("git@h:o/r"));
        assert!(!is_remote_url("fixtures/shop"));
        assert!(!is_remote_url("/abs/path"));
    }

    #[test]
    fn percent_encoded_user_info_is_decoded_as_git_decodes_it() {
        assert_eq!(decode_userinfo("p%40ss%3Aw%2Fd"), "p@ss:w/d");
        assert_eq!(decode_userinfo("100%"), "100%");
        assert_eq!(decode_userinfo("a%zzb"), "a%zzb");
        assert_eq!(decode_userinfo("caf%C3%A9"), "café");
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            RedactedUrl::new("https://alice:s3cret@h:8080/r.git").to_string(),
            "https://alice:***@h:8080/r.git"
        );
        assert_eq!(
            RedactedUrl::new("https://alice@h/r.git").to_string(),
            "https://alice@h/r.git"
        );
        assert_eq!(
            RedactedUrl::new("https://h/a@b").to_string(),
            "https://h/a@b"
        );
        let (stripped, info) = split_userinfo("http://u:p:q@h/r");
        assert_eq!(stripped, "http://h/r");
        assert_eq!(info, Some(("u".into(), Some("p:q".into()))));
        assert_eq!(
            redact(
                "GET http://u:pw@h/r failed, token tok3n rejected",
                &["tok3n"]
            ),
            "GET http://u:***@h/r failed, token *** rejected"
        );
    }

    #[test]
    fn failures_are_classified() {
        let c = FailureKind::classify;
        assert_eq!(
            c("error sending request: dns error: failed to lookup address information"),
            FailureKind::UnknownHost
        );
        assert_eq!(c("Received HTTP status 401"), FailureKind::Auth);
        assert_eq!(
            c("git@h: Permission denied (publickey)."),
            FailureKind::Auth
        );
        assert_eq!(c("Host key verification failed."), FailureKind::HostKey);
        assert_eq!(
            c("invalid peer certificate: UnknownIssuer"),
            FailureKind::Tls
        );
        assert_eq!(
            c("Connection refused (os error 111)"),
            FailureKind::Unreachable
        );
        assert_eq!(
            c("Received HTTP status 404"),
            FailureKind::RepositoryNotFound
        );
        assert_eq!(
            c("An IO error occurred when talking to the server: no such repository: /missing.git"),
            FailureKind::RepositoryNotFound
        );
        assert_eq!(c("operation timed out"), FailureKind::Timeout);
        assert!(FailureKind::Timeout.is_transient());
        assert!(!FailureKind::Auth.is_transient());
    }
}
