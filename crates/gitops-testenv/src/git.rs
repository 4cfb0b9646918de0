//! Git servers on 127.0.0.1 for tests, each a real server process over a directory of bare
//! repositories ([`GitRepos`]):
//!
//! * [`GitDaemon`]: `git daemon`, for `git://` URLs;
//! * [`GitHttp`]: `git http-backend` (smart HTTP) run as CGI by lighttpd, optionally behind HTTP
//!   basic auth. lighttpd (a Debian package) was chosen over an HTTP front of our own: it speaks
//!   HTTP/1.1 fully (chunked request bodies, which git sends for large pushes) and its CGI and
//!   basic-auth modules need a ten-line configuration;
//! * [`GitSsh`]: OpenSSH's `sshd` on a free port with a generated host key and user key, for
//!   `ssh://` URLs; the login user is the user running the tests.
//!
//! Every server stops when its value is dropped. The programs come from Debian's `git`,
//! `lighttpd` and `openssh-server` packages, which `scripts/install-deps` installs.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

/// Runs `git` with `args` (in `dir` when given), isolated from the user's and system's Git
/// configuration, and returns its stdout; fails with its stderr when it exits non-zero.
pub fn git(dir: Option<&Path>, args: &[&str]) -> anyhow::Result<String> {
    let output = git_command(dir, args).output().context("running git")?;
    check(&output, &format!("git {}", args.join(" ")))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A `git` command isolated from the user's and the system's Git configuration, with a fixed
/// author and committer; add environment (for example `GIT_SSH_COMMAND`) before running it.
pub fn git_command(dir: Option<&Path>, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env("SSH_ASKPASS", "/bin/false")
        .env("GIT_AUTHOR_NAME", "gitops-testenv")
        .env("GIT_AUTHOR_EMAIL", "testenv@localhost")
        .env("GIT_COMMITTER_NAME", "gitops-testenv")
        .env("GIT_COMMITTER_EMAIL", "testenv@localhost")
        .stdin(Stdio::null());
    command
}

fn check(output: &Output, what: &str) -> anyhow::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed with {}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    )
}

/// A directory of bare repositories, removed when dropped.
#[derive(Debug)]
pub struct GitRepos {
    dir: TempDir,
}

impl GitRepos {
    /// A new, empty directory of repositories.
    pub fn new() -> anyhow::Result<GitRepos> {
        Ok(GitRepos {
            dir: tempfile::Builder::new()
                .prefix("gitops-git-repos-")
                .tempdir()?,
        })
    }

    /// The directory; repository `name` is `<root>/<name>.git`.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Creates the bare repository `<name>.git` whose branch `main` has one commit with `files`
    /// (path relative to the repository root, content). Returns its path. Pushes to it are
    /// allowed over every transport.
    pub fn create(&self, name: &str, files: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
        let work = tempfile::Builder::new()
            .prefix("gitops-git-work-")
            .tempdir()?;
        git(
            Some(work.path()),
            &["init", "--quiet", "--initial-branch=main"],
        )?;
        for (path, content) in files {
            let file = work.path().join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&file, content)?;
        }
        git(Some(work.path()), &["add", "--all"])?;
        git(
            Some(work.path()),
            &["commit", "--quiet", "--allow-empty", "-m", "initial"],
        )?;
        let bare = self.root().join(format!("{name}.git"));
        let bare_str = bare.to_str().context("repository path is not UTF-8")?;
        git(
            None,
            &[
                "clone",
                "--quiet",
                "--bare",
                &work.path().to_string_lossy(),
                bare_str,
            ],
        )?;
        git(Some(&bare), &["config", "http.receivepack", "true"])?;
        git(Some(&bare), &["config", "daemon.receivepack", "true"])?;
        Ok(bare)
    }
}

/// A free TCP port on 127.0.0.1 (free when this returns; the server binds it right after).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Runs `start` (which picks a port with [`free_port`]) up to three times: another process may
/// take the port between [`free_port`] and the server's bind, and the server then exits.
pub(crate) fn on_a_free_port<T>(mut start: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let mut attempt = 1;
    loop {
        match start() {
            Err(err) if attempt < 3 && format!("{err:#}").contains(" exited with ") => attempt += 1,
            result => return result,
        }
    }
}

/// Waits until `child` accepts TCP connections on `port`, failing early if it exits.
fn wait_listening(child: &mut Child, port: u16, log: &Path, what: &str) -> anyhow::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            bail!("{what} exited with {status}: {log}");
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{what} is not listening on {addr} after 20s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Finds a program on `PATH` or in the given fallback locations (sbin is not always on `PATH`).
pub(crate) fn program(name: &str, fallbacks: &[&str]) -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(fallbacks.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .with_context(|| format!("{name} is not installed (run scripts/install-deps)"))
}

/// lighttpd settings for HTTPS with a certificate for 127.0.0.1 signed by a CA generated into
/// `dir` (`ca.crt`).
pub(crate) fn lighttpd_tls(dir: &Path) -> anyhow::Result<String> {
    generate_certificates(dir)?;
    Ok(format!(
        r#"server.modules += ("mod_openssl")
ssl.engine = "enable"
ssl.pemfile = "{cert}"
ssl.privkey = "{key}"
"#,
        cert = dir.join("server.crt").display(),
        key = dir.join("server.key").display(),
    ))
}

/// lighttpd settings that require `auth` (basic, from a user file written into `dir`) for
/// every URL under `prefix`.
pub(crate) fn lighttpd_auth(dir: &Path, auth: &BasicAuth, prefix: &str) -> anyhow::Result<String> {
    let users = dir.join("users");
    let mut file = std::fs::File::create(&users)?;
    writeln!(file, "{}:{}", auth.user, auth.password)?;
    Ok(format!(
        r#"auth.backend = "plain"
auth.backend.plain.userfile = "{users}"
auth.require = ("{prefix}" => ("method" => "basic", "realm" => "gitops-testenv", "require" => "valid-user"))
"#,
        users = users.display()
    ))
}

/// A server process killed (and reaped) on drop, with its own scratch directory.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    dir: TempDir,
}

impl Server {
    pub(crate) fn spawn(
        mut command: Command,
        dir: TempDir,
        port: u16,
        what: &str,
    ) -> anyhow::Result<Server> {
        let log = dir.path().join("server.log");
        let log_file = std::fs::File::create(&log)?;
        command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let child = command
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let mut server = Server { child, dir };
        wait_listening(&mut server.child, port, &log, what)?;
        Ok(server)
    }

    /// The server's scratch directory.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the server logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Server {
    /// Kills the server and the processes it started (`git daemon` serves from a `git-daemon`
    /// child, which would otherwise keep listening).
    pub(crate) fn kill(&mut self) {
        let pid = self.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for child in children.split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", child]).status();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `git daemon` on 127.0.0.1, serving every repository of a [`GitRepos`] over `git://`
/// (fetch and push).
#[derive(Debug)]
pub struct GitDaemon {
    server: Server,
    port: u16,
}

impl GitDaemon {
    /// Starts `git daemon` for the repositories under `repos`.
    pub fn start(repos: &GitRepos) -> anyhow::Result<GitDaemon> {
        on_a_free_port(|| GitDaemon::start_once(repos))
    }

    fn start_once(repos: &GitRepos) -> anyhow::Result<GitDaemon> {
        GitDaemon::start_on(repos, free_port()?)
    }

    /// Stops the daemon, as a Git server that goes away would; [`GitDaemon::restart`] brings it
    /// back on the same port.
    pub fn stop(&mut self) {
        self.server.kill();
    }

    /// Starts a stopped daemon again on its port, so that URLs handed out stay valid.
    ///
    /// # Errors
    /// When the port cannot be listened on again.
    pub fn restart(&mut self, repos: &GitRepos) -> anyhow::Result<()> {
        self.stop();
        *self = GitDaemon::start_on(repos, self.port)?;
        Ok(())
    }

    fn start_on(repos: &GitRepos, port: u16) -> anyhow::Result<GitDaemon> {
        let dir = tempfile::Builder::new()
            .prefix("gitops-git-daemon-")
            .tempdir()?;
        let mut command = git_command(None, &[]);
        command.args([
            "daemon",
            "--reuseaddr",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            &format!("--base-path={}", repos.root().display()),
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
            &repos.root().to_string_lossy(),
        ]);
        let server = Server::spawn(command, dir, port, "git daemon")?;
        Ok(GitDaemon { server, port })
    }

    /// The `git://` URL of repository `name`.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}.git", self.port)
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

/// Credentials for HTTP basic auth.
#[derive(Debug, Clone)]
pub struct BasicAuth {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// `git http-backend` behind lighttpd on 127.0.0.1: smart HTTP for every repository of a
/// [`GitRepos`], under `/git/`, optionally requiring basic auth for every request, optionally
/// over TLS with a certificate from a CA generated for the server ([`GitHttp::start_tls`]).
#[derive(Debug)]
pub struct GitHttp {
    server: Server,
    port: u16,
    auth: Option<BasicAuth>,
    tls: bool,
}

/// Generates a CA and a certificate for 127.0.0.1 and localhost signed by it, in `dir`:
/// `ca.crt`, `server.crt`, `server.key`.
fn generate_certificates(dir: &Path) -> anyhow::Result<()> {
    let openssl = |args: &[&str]| -> anyhow::Result<()> {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .context("running openssl (run scripts/install-deps)")?;
        check(&output, &format!("openssl {}", args.join(" ")))
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=gitops-testenv CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ])?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])
}

impl GitHttp {
    /// Starts the server; with `auth`, every request needs those credentials.
    pub fn start(repos: &GitRepos, auth: Option<BasicAuth>) -> anyhow::Result<GitHttp> {
        GitHttp::start_with(repos, auth, false)
    }

    /// Starts the server over HTTPS with a certificate signed by a CA of its own
    /// ([`GitHttp::ca_cert`]); needs lighttpd's `mod_openssl` (Debian `lighttpd-mod-openssl`).
    pub fn start_tls(repos: &GitRepos, auth: Option<BasicAuth>) -> anyhow::Result<GitHttp> {
        GitHttp::start_with(repos, auth, true)
    }

    /// The PEM certificate of the CA that signed the server's certificate (TLS servers only).
    pub fn ca_cert(&self) -> Option<PathBuf> {
        self.tls.then(|| self.server.dir.path().join("ca.crt"))
    }

    fn start_with(repos: &GitRepos, auth: Option<BasicAuth>, tls: bool) -> anyhow::Result<GitHttp> {
        on_a_free_port(|| GitHttp::start_once(repos, auth.clone(), tls))
    }

    fn start_once(repos: &GitRepos, auth: Option<BasicAuth>, tls: bool) -> anyhow::Result<GitHttp> {
        let lighttpd = program("lighttpd", &["/usr/sbin/lighttpd"])?;
        let backend = [
            "/usr/lib/git-core/git-http-backend",
            "/usr/libexec/git-core/git-http-backend",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context("git-http-backend is not installed (run scripts/install-deps)")?;
        let port = free_port()?;
        let dir = tempfile::Builder::new()
            .prefix("gitops-git-http-")
            .tempdir()?;
        let docroot = dir.path().join("htdocs");
        std::fs::create_dir_all(&docroot)?;
        let mut config = format!(
            r#"server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_auth", "mod_authn_file")
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{docroot}"
server.errorlog = "{errorlog}"
server.upload-dirs = ("{tmp}")
alias.url = ("/git" => "{backend}")
$HTTP["url"] =~ "^/git" {{
    cgi.assign = ("" => "")
    setenv.add-environment = (
        "GIT_PROJECT_ROOT" => "{root}",
        "GIT_HTTP_EXPORT_ALL" => "1",
        "GIT_CONFIG_NOSYSTEM" => "1",
    )
}}
"#,
            docroot = docroot.display(),
            errorlog = dir.path().join("error.log").display(),
            tmp = dir.path().display(),
            backend = backend.display(),
            root = repos.root().display(),
        );
        if tls {
            config.push_str(&lighttpd_tls(dir.path())?);
        }
        if let Some(auth) = &auth {
            config.push_str(&lighttpd_auth(dir.path(), auth, "/git")?);
        }
        let config_path = dir.path().join("lighttpd.conf");
        std::fs::write(&config_path, config)?;
        let mut command = Command::new(lighttpd);
        command.arg("-D").arg("-f").arg(&config_path);
        let server = Server::spawn(command, dir, port, "lighttpd")?;
        Ok(GitHttp {
            server,
            port,
            auth,
            tls,
        })
    }

    fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// The `http://` (or `https://`) URL of repository `name`, without credentials.
    pub fn url(&self, name: &str) -> String {
        format!("{}://127.0.0.1:{}/git/{name}.git", self.scheme(), self.port)
    }

    /// The URL of repository `name` with the server's credentials in it (the plain URL when the
    /// server has no auth).
    pub fn url_with_credentials(&self, name: &str) -> String {
        match &self.auth {
            Some(auth) => format!(
                "{}://{}:{}@127.0.0.1:{}/git/{name}.git",
                self.scheme(),
                auth.user,
                auth.password,
                self.port
            ),
            None => self.url(name),
        }
    }

    /// What lighttpd logged so far (its error log, where CGI errors go).
    pub fn log(&self) -> String {
        let errors =
            std::fs::read_to_string(self.server.dir.path().join("error.log")).unwrap_or_default();
        format!("{}{errors}", self.server.log())
    }
}

/// OpenSSH's `sshd` on 127.0.0.1 and a free port, with a generated host key and user key, for
/// `ssh://` access to the repositories of a [`GitRepos`] as the user running the tests.
#[derive(Debug)]
pub struct GitSsh {
    server: Server,
    port: u16,
    user: String,
    repos_root: PathBuf,
}

fn ssh_keygen(path: &Path) -> anyhow::Result<()> {
    let output = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "gitops-testenv",
            "-f",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .context("running ssh-keygen (run scripts/install-deps)")?;
    check(&output, "ssh-keygen")
}

impl GitSsh {
    /// Starts `sshd`. The user key authorised for the current user is [`GitSsh::user_key`];
    /// [`GitSsh::known_hosts`] has the server's host key.
    pub fn start(repos: &GitRepos) -> anyhow::Result<GitSsh> {
        on_a_free_port(|| GitSsh::start_once(repos))
    }

    fn start_once(repos: &GitRepos) -> anyhow::Result<GitSsh> {
        let sshd = program("sshd", &["/usr/sbin/sshd"])?;
        let user = {
            let output = Command::new("id").arg("-un").output()?;
            check(&output, "id -un")?;
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        };
        let is_root = user == "root";
        if is_root {
            // sshd running as root insists on its privilege separation directory.
            std::fs::create_dir_all("/run/sshd").context("creating /run/sshd")?;
        }
        let port = free_port()?;
        let dir = tempfile::Builder::new()
            .prefix("gitops-git-ssh-")
            .tempdir()?;
        let host_key = dir.path().join("host_key");
        let user_key = dir.path().join("user_key");
        ssh_keygen(&host_key)?;
        ssh_keygen(&user_key)?;
        std::fs::copy(
            dir.path().join("user_key.pub"),
            dir.path().join("authorized_keys"),
        )?;
        let host_pub = std::fs::read_to_string(dir.path().join("host_key.pub"))?;
        let mut fields = host_pub.split_whitespace();
        let (Some(kind), Some(key)) = (fields.next(), fields.next()) else {
            bail!("unexpected host key file: {host_pub}");
        };
        std::fs::write(
            dir.path().join("known_hosts"),
            format!("[127.0.0.1]:{port} {kind} {key}\n"),
        )?;
        let config = format!(
            "ListenAddress 127.0.0.1
Port {port}
HostKey {host_key}
PidFile {pidfile}
AuthorizedKeysFile {authorized}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers {user}
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
AllowTcpForwarding no
X11Forwarding no
PermitUserEnvironment no
AcceptEnv GIT_PROTOCOL
LogLevel VERBOSE
",
            host_key = host_key.display(),
            pidfile = dir.path().join("sshd.pid").display(),
            authorized = dir.path().join("authorized_keys").display(),
        );
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, config)?;
        let mut command = Command::new(sshd);
        // -D: stay in the foreground; -e: log to stderr (our log file).
        command.arg("-D").arg("-e").arg("-f").arg(&config_path);
        let server = Server::spawn(command, dir, port, "sshd")?;
        Ok(GitSsh {
            server,
            port,
            user,
            repos_root: repos.root().to_owned(),
        })
    }

    /// The `ssh://` URL of repository `name`.
    pub fn url(&self, name: &str) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}/{name}.git",
            self.user,
            self.port,
            self.repos_root.display()
        )
    }

    /// The private key the server accepts (OpenSSH format, ed25519, no passphrase).
    pub fn user_key(&self) -> PathBuf {
        self.server.dir.path().join("user_key")
    }

    /// A known_hosts file with the server's host key for `[127.0.0.1]:<port>`.
    pub fn known_hosts(&self) -> PathBuf {
        self.server.dir.path().join("known_hosts")
    }

    /// The port sshd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `GIT_SSH_COMMAND` value that logs in with [`GitSsh::user_key`] and checks the host key
    /// strictly against [`GitSsh::known_hosts`], ignoring the user's SSH configuration.
    pub fn ssh_command(&self) -> String {
        format!(
            "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o BatchMode=yes \
             -o StrictHostKeyChecking=yes -o UserKnownHostsFile={}",
            self.user_key().display(),
            self.known_hosts().display()
        )
    }

    /// A `git` command (see [`git_command`]) that uses [`GitSsh::ssh_command`] for ssh URLs.
    pub fn git_command(&self, dir: Option<&Path>, args: &[&str]) -> Command {
        let mut command = git_command(dir, args);
        command.env("GIT_SSH_COMMAND", self.ssh_command());
        command
    }

    /// What sshd logged so far.
    pub fn log(&self) -> String {
        self.server.log()
    }
}
