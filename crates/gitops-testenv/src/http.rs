//! A static file server on 127.0.0.1 (lighttpd): serves a directory as it is, for sources
//! that are plain HTTP, such as Helm chart repositories (`index.yaml` and chart archives).

use std::path::Path;
use std::process::Command;

use crate::git::{
    BasicAuth, Server, free_port, lighttpd_auth, lighttpd_tls, on_a_free_port, program,
};

/// lighttpd serving one directory over HTTP (or HTTPS) on 127.0.0.1, optionally behind basic
/// auth. Files added to the directory later are served too.
#[derive(Debug)]
pub struct StaticHttp {
    server: Server,
    port: u16,
    tls: bool,
}

impl StaticHttp {
    /// Serves `root`; with `auth`, every request needs those credentials.
    pub fn start(root: &Path, auth: Option<BasicAuth>) -> anyhow::Result<StaticHttp> {
        on_a_free_port(|| StaticHttp::start_once(root, auth.as_ref(), false))
    }

    /// Serves `root` over HTTPS with a certificate signed by a CA of its own
    /// ([`StaticHttp::ca_cert`]); needs lighttpd's `mod_openssl`.
    pub fn start_tls(root: &Path) -> anyhow::Result<StaticHttp> {
        on_a_free_port(|| StaticHttp::start_once(root, None, true))
    }

    /// The PEM certificate of the CA that signed the server's certificate (TLS servers only).
    pub fn ca_cert(&self) -> Option<std::path::PathBuf> {
        self.tls.then(|| self.server.dir().join("ca.crt"))
    }

    fn start_once(root: &Path, auth: Option<&BasicAuth>, tls: bool) -> anyhow::Result<StaticHttp> {
        let lighttpd = program("lighttpd", &["/usr/sbin/lighttpd"])?;
        let port = free_port()?;
        let dir = tempfile::Builder::new()
            .prefix("gitops-static-http-")
            .tempdir()?;
        let mut config = format!(
            r#"server.modules = ("mod_auth", "mod_authn_file", "mod_accesslog")
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{root}"
server.errorlog = "{errorlog}"
accesslog.filename = "{accesslog}"
mimetype.assign = (".yaml" => "text/yaml", ".tgz" => "application/gzip")
"#,
            root = root.display(),
            errorlog = dir.path().join("error.log").display(),
            accesslog = dir.path().join("access.log").display(),
        );
        if let Some(auth) = auth {
            config.push_str(&lighttpd_auth(dir.path(), auth, "/")?);
        }
        if tls {
            config.push_str(&lighttpd_tls(dir.path())?);
        }
        let config_path = dir.path().join("lighttpd.conf");
        std::fs::write(&config_path, config)?;
        let mut command = Command::new(lighttpd);
        command.arg("-D").arg("-f").arg(&config_path);
        let server = Server::spawn(command, dir, port, "lighttpd")?;
        Ok(StaticHttp { server, port, tls })
    }

    /// The base URL, `http://127.0.0.1:<port>` (or `https://`; no trailing slash).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The requests served so far (lighttpd's access log), one per line.
    pub fn requests(&self) -> String {
        let dir = self.server.dir();
        std::fs::read_to_string(dir.join("access.log")).unwrap_or_default()
    }

    /// What the server logged so far (errors).
    pub fn log(&self) -> String {
        self.server.log()
    }
}
