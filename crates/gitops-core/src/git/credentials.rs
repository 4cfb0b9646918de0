//! Credentials for a Git source, as Flux reads them from a Secret, and their materialisation as
//! private temporary files (SSH key, known_hosts, CA bundle, helper scripts) for the programs that
//! need files: `ssh` (run by gix and by `git`) and `git` itself.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// Credentials for fetching and pushing. Debug output never shows secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// HTTP basic auth user (`username`).
    pub username: Option<String>,
    /// HTTP basic auth password or token (`password`).
    pub password: Option<String>,
    /// HTTP bearer token (`bearerToken`), sent as `Authorization: Bearer …`.
    pub bearer_token: Option<String>,
    /// PEM CA certificates trusted for HTTPS in addition to the system's (`ca.crt` or `caFile`).
    pub ca_cert: Option<Vec<u8>>,
    /// SSH private key, OpenSSH or PEM format, without passphrase (`identity`).
    pub ssh_identity: Option<Vec<u8>>,
    /// SSH known_hosts lines; host keys are checked strictly against them (`known_hosts`).
    pub known_hosts: Option<Vec<u8>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |present: bool| if present { "<set>" } else { "<unset>" };
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &set(self.password.is_some()))
            .field("bearer_token", &set(self.bearer_token.is_some()))
            .field("ca_cert", &set(self.ca_cert.is_some()))
            .field("ssh_identity", &set(self.ssh_identity.is_some()))
            .field("known_hosts", &set(self.known_hosts.is_some()))
            .finish()
    }
}

/// A Secret's data could not be used as credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret key {key:?}: {reason}")]
pub struct CredentialsError {
    /// The offending key.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The keys [`Credentials::from_secret_data`] understands.
pub const SECRET_KEYS: &[&str] = &[
    "username",
    "password",
    "bearerToken",
    "ca.crt",
    "caFile",
    "identity",
    "known_hosts",
];

impl Credentials {
    /// Credentials from a Secret's decoded `data`, with Flux's keys (see [`SECRET_KEYS`]);
    /// other keys (such as `identity.pub`) are ignored.
    pub fn from_secret_data(
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Credentials, CredentialsError> {
        let text = |key: &str| -> Result<Option<String>, CredentialsError> {
            data.get(key)
                .map(|v| {
                    String::from_utf8(v.clone())
                        .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
                        .map_err(|_| CredentialsError {
                            key: key.to_owned(),
                            reason: "expected UTF-8 text".to_owned(),
                        })
                })
                .transpose()
        };
        let creds = Credentials {
            username: text("username")?,
            password: text("password")?,
            bearer_token: text("bearerToken")?,
            ca_cert: data.get("ca.crt").or_else(|| data.get("caFile")).cloned(),
            ssh_identity: data.get("identity").cloned(),
            known_hosts: data.get("known_hosts").cloned(),
        };
        if creds.password.is_some() && creds.username.is_none() {
            return Err(CredentialsError {
                key: "password".to_owned(),
                reason: "a password needs a username".to_owned(),
            });
        }
        if creds.ssh_identity.is_some() && creds.known_hosts.is_none() {
            return Err(CredentialsError {
                key: "identity".to_owned(),
                reason: "an SSH identity needs known_hosts (host keys are always checked)"
                    .to_owned(),
            });
        }
        Ok(creds)
    }

    /// The secret strings, to scrub from any message.
    pub fn secrets(&self) -> Vec<&str> {
        [self.password.as_deref(), self.bearer_token.as_deref()]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Credentials written to a private temporary directory, removed on drop.
#[derive(Debug)]
pub(crate) struct Materialized {
    dir: TempDir,
    /// An executable named `ssh` that runs OpenSSH with the key and known_hosts, never prompting.
    pub(crate) ssh_program: PathBuf,
    /// Where [`Materialized::ssh_program`] writes ssh's stderr.
    ssh_log: PathBuf,
    /// The CA bundle, if any.
    pub(crate) ca_file: Option<PathBuf>,
}

fn write_private(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(data)?;
    if !data.ends_with(b"\n") {
        file.write_all(b"\n")?;
    }
    Ok(())
}

/// Quotes `path` for a POSIX shell.
fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

impl Materialized {
    /// Writes the files `creds` need; `connect_timeout_secs` bounds SSH connection set-up.
    pub(crate) fn new(
        creds: &Credentials,
        connect_timeout_secs: u64,
    ) -> std::io::Result<Materialized> {
        let dir = tempfile::Builder::new()
            .prefix("gitops-git-creds-")
            .tempdir()?;
        let mut ssh_args = vec![
            "-F /dev/null".to_owned(),
            "-o BatchMode=yes".to_owned(),
            format!("-o ConnectTimeout={connect_timeout_secs}"),
        ];
        if let Some(key) = &creds.ssh_identity {
            let path = dir.path().join("identity");
            write_private(&path, key, 0o600)?;
            ssh_args.push(format!("-i {} -o IdentitiesOnly=yes", sh_quote(&path)));
        }
        if let Some(known) = &creds.known_hosts {
            let path = dir.path().join("known_hosts");
            write_private(&path, known, 0o600)?;
            ssh_args.push(format!(
                "-o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null",
                sh_quote(&path)
            ));
        } else {
            // No known_hosts given: the user's and system's files decide, never a prompt.
            ssh_args.push("-o StrictHostKeyChecking=yes".to_owned());
        }
        // gix picks the ssh argument style from the program's name, so the wrapper is `ssh`.
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin)?;
        let ssh_program = bin.join("ssh");
        // ssh's messages (host key mismatch, permission denied) go to a log that errors quote:
        // gix would otherwise pass them through to the process's stderr, out of the error.
        let ssh_log = dir.path().join("ssh.log");
        let script = format!(
            "#!/bin/sh\nexec ssh {} \"$@\" 2>>{}\n",
            ssh_args.join(" "),
            sh_quote(&ssh_log)
        );
        write_private(&ssh_program, script.as_bytes(), 0o700)?;
        let ca_file = match &creds.ca_cert {
            Some(ca) => {
                let path = dir.path().join("ca.crt");
                write_private(&path, ca, 0o600)?;
                Some(path)
            }
            None => None,
        };
        Ok(Materialized {
            dir,
            ssh_program,
            ssh_log,
            ca_file,
        })
    }

    /// What ssh printed on stderr so far (empty when it did not run or said nothing).
    pub(crate) fn ssh_stderr(&self) -> String {
        std::fs::read_to_string(&self.ssh_log)
            .map(|t| t.trim().to_owned())
            .unwrap_or_default()
    }

    /// `message`, followed by what ssh printed if anything: the cause of most SSH failures,
    /// which gix only sees as a closed connection.
    pub(crate) fn with_ssh_stderr(&self, message: String) -> String {
        let stderr = self.ssh_stderr();
        if stderr.is_empty() {
            message
        } else {
            // Without the banner lines of `@` that frame ssh's host key warnings.
            let lines: Vec<&str> = stderr
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '@'))
                .collect();
            format!("{message}; ssh: {}", lines.join(" / "))
        }
    }

    /// The directory the files are in.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_flux_keys_and_hides_secrets_in_debug() {
        let creds = Credentials::from_secret_data(&data(&[
            ("username", "alice"),
            ("password", "hunter22\n"),
            ("identity.pub", "ignored"),
        ]))
        .unwrap();
        assert_eq!(creds.username.as_deref(), Some("alice"));
        assert_eq!(creds.password.as_deref(), Some("hunter22"));
        let debug = format!("{creds:?}");
        assert!(!debug.contains("hunter22"), "{debug}");
        assert_eq!(creds.secrets(), vec!["hunter22"]);
    }

    #[test]
    fn incomplete_secrets_are_refused() {
        let err = Credentials::from_secret_data(&data(&[("password", "x")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret key \"password\": a password needs a username"
        );
        let err = Credentials::from_secret_data(&data(&[("identity", "KEY")])).unwrap_err();
        assert!(err.to_string().contains("needs known_hosts"));
    }

    #[test]
    fn materialized_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let creds = Credentials {
            ssh_identity: Some(b"KEY".to_vec()),
            known_hosts: Some(b"[127.0.0.1]:22 ssh-ed25519 AAAA".to_vec()),
            ca_cert: Some(b"PEM".to_vec()),
            ..Credentials::default()
        };
        let m = Materialized::new(&creds, 10).unwrap();
        let mode = std::fs::metadata(m.dir().join("identity"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let script = std::fs::read_to_string(&m.ssh_program).unwrap();
        assert!(script.contains("StrictHostKeyChecking=yes"), "{script}");
        assert!(script.contains("BatchMode=yes"), "{script}");
        assert!(m.ca_file.is_some());
    }
}
