//! An OCI registry on 127.0.0.1 (Debian's `docker-registry`, the CNCF distribution registry),
//! for Helm charts stored as OCI artifacts, with a push of a chart archive in Helm's layout.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::git::{Server, free_port, on_a_free_port, program};

/// `docker-registry` serving plain HTTP on 127.0.0.1, storage in a scratch directory.
#[derive(Debug)]
pub struct OciRegistry {
    server: Server,
    port: u16,
}

impl OciRegistry {
    /// Starts the registry (needs the Debian package `docker-registry`).
    pub fn start() -> anyhow::Result<OciRegistry> {
        on_a_free_port(OciRegistry::start_once)
    }

    fn start_once() -> anyhow::Result<OciRegistry> {
        let registry = program("docker-registry", &["/usr/bin/docker-registry"])?;
        let port = free_port()?;
        let dir = tempfile::Builder::new()
            .prefix("gitops-registry-")
            .tempdir()?;
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage)?;
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.display()
            ),
        )?;
        let mut command = Command::new(registry);
        command.arg("serve").arg(&config);
        let server = Server::spawn(command, dir, port, "docker-registry")?;
        Ok(OciRegistry { server, port })
    }

    /// `127.0.0.1:<port>`, the registry's host for `oci://` URLs.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes the chart archive `archive` (a `.tgz`) as `<repository>:<tag>` in Helm's layout:
    /// a config blob of type `application/vnd.cncf.helm.config.v1+json` and one layer of type
    /// `application/vnd.cncf.helm.chart.content.v1.tar+gzip`. Uses `curl`.
    pub fn push_chart(&self, repository: &str, tag: &str, archive: &[u8]) -> anyhow::Result<()> {
        let scratch = tempfile::tempdir()?;
        let config = br#"{"apiVersion":"v2","name":"chart"}"#;
        let config_digest = self.push_blob(repository, config, scratch.path())?;
        let layer_digest = self.push_blob(repository, archive, scratch.path())?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json",
                       "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                        "digest": layer_digest, "size": archive.len()}],
        });
        let file = scratch.path().join("manifest.json");
        std::fs::write(&file, serde_json::to_vec(&manifest)?)?;
        let url = format!("http://{}/v2/{repository}/manifests/{tag}", self.host());
        curl(&[
            "-f",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "--data-binary",
            &format!("@{}", file.display()),
            &url,
        ])?;
        Ok(())
    }

    /// Uploads a blob (POST, then PUT with the digest) and returns its digest.
    fn push_blob(&self, repository: &str, data: &[u8], scratch: &Path) -> anyhow::Result<String> {
        let file = scratch.join("blob");
        std::fs::write(&file, data)?;
        let sum = Command::new("sha256sum").arg(&file).output()?;
        let hex = String::from_utf8_lossy(&sum.stdout)
            .split_whitespace()
            .next()
            .context("sha256sum printed nothing")?
            .to_owned();
        let digest = format!("sha256:{hex}");
        let start = format!("http://{}/v2/{repository}/blobs/uploads/", self.host());
        let headers = curl(&["-f", "-s", "-i", "-X", "POST", &start])?;
        let location = headers
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("location")
                    .then(|| value.trim().to_owned())
            })
            .context("the registry gave no upload location")?;
        let location = if location.starts_with('/') {
            format!("http://{}{location}", self.host())
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        curl(&[
            "-f",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", file.display()),
            &format!("{location}{separator}digest={digest}"),
        ])?;
        Ok(digest)
    }

    /// What the registry logged so far.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

fn curl(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("curl")
        .arg("-sS")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running curl (run scripts/install-deps)")?;
    if !output.status.success() {
        bail!(
            "curl {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
