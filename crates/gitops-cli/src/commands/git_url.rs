//! Git sources for the commands: the Git flags made a [`GitSource`], Secret files, and a
//! repository argument that may be a Git URL turned into a local directory.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use gitops_core::git::url::is_remote_url;
use gitops_core::git::{
    Artifact, ArtifactStore, Cache, Credentials, GitRef, GitSource, RedactedUrl, SECRET_KEYS,
};
use gitops_core::yaml;

use crate::cli::{Command, GitArgs, GraphArgs, PlanArgs};

/// The cache directory: `--cache-dir`, else `$GITOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/gitops`,
/// else `~/.cache/gitops`.
pub(crate) fn cache_dir(args: &GitArgs) -> PathBuf {
    if let Some(dir) = &args.cache_dir {
        return dir.clone();
    }
    if let Some(dir) = std::env::var_os("GITOPS_CACHE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("gitops");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache/gitops"),
        None => std::env::temp_dir().join("gitops-cache"),
    }
}

/// Reads a Kubernetes Secret (YAML or JSON) and returns its data, `stringData` over `data`.
pub(crate) fn read_secret(path: &Path) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the secret file {}", path.display()))?;
    let value = yaml::parse_value(&text, yaml::Schema::Yaml12)
        .with_context(|| format!("parsing the secret file {}", path.display()))?;
    let Some(map) = value.as_object() else {
        bail!(
            "{}: expected a Secret (a mapping with data or stringData)",
            path.display()
        );
    };
    let mut data = BTreeMap::new();
    if let Some(encoded) = map.get("data") {
        let Some(encoded) = encoded.as_object() else {
            bail!(
                "{}: .data: expected a mapping of base64 strings",
                path.display()
            );
        };
        for (key, value) in encoded {
            let Some(text) = value.as_str() else {
                bail!("{}: .data.{key}: expected a base64 string", path.display());
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| {
                    anyhow::anyhow!("{}: .data.{key}: invalid base64: {e}", path.display())
                })?;
            data.insert(key.clone(), bytes);
        }
    }
    if let Some(plain) = map.get("stringData") {
        let Some(plain) = plain.as_object() else {
            bail!(
                "{}: .stringData: expected a mapping of strings",
                path.display()
            );
        };
        for (key, value) in plain {
            let Some(text) = value.as_str() else {
                bail!("{}: .stringData.{key}: expected a string", path.display());
            };
            data.insert(key.clone(), text.as_bytes().to_vec());
        }
    }
    if !data.keys().any(|k| SECRET_KEYS.contains(&k.as_str())) {
        bail!(
            "{}: no credentials found: expected one of {} under data or stringData",
            path.display(),
            SECRET_KEYS.join(", ")
        );
    }
    Ok(data)
}

/// The [`GitSource`] the flags describe.
pub(crate) fn git_source(
    url: &str,
    args: &GitArgs,
    ignore: Option<String>,
) -> anyhow::Result<GitSource> {
    let credentials = match &args.secret_file {
        Some(path) => Credentials::from_secret_data(&read_secret(path)?)
            .with_context(|| format!("secret file {}", path.display()))?,
        None => Credentials::default(),
    };
    let mut source = GitSource::new(url)
        .with_ref(GitRef {
            branch: args.branch.clone(),
            tag: args.tag.clone(),
            semver: args.semver.clone(),
            name: args.ref_name.clone(),
            commit: args.commit.clone(),
        })
        .with_credentials(credentials);
    source.ignore = ignore;
    source.timeout = args.fetch_timeout.max(Duration::from_millis(1));
    source.allow_insecure_http = args.allow_insecure_http;
    Ok(source)
}

/// Fetches `url` and stores its artifact in the cache's artifact store.
pub(crate) fn fetch_artifact(
    url: &str,
    args: &GitArgs,
    ignore: Option<String>,
) -> anyhow::Result<Artifact> {
    let source = git_source(url, args, ignore)?;
    let root = cache_dir(args);
    let artifact = source.artifact(
        &Cache::new(root.join("git")),
        &ArtifactStore::new(root.join("artifacts")),
    )?;
    Ok(artifact)
}

/// A repository argument as a local directory: a Git URL is fetched (with the Git flags) and
/// its artifact's directory returned; anything else is a local path, returned as it is.
pub(crate) fn local_repo(text: &str, args: &GitArgs) -> anyhow::Result<PathBuf> {
    if !is_remote_url(text) {
        return Ok(PathBuf::from(text));
    }
    let artifact = fetch_artifact(text, args, None)?;
    tracing::info!(url = %RedactedUrl::new(text), revision = %artifact.revision, digest = %artifact.digest, "fetched");
    Ok(artifact.path)
}

/// Like [`local_repo`], then `sub` inside it, which must stay inside the repository and exist
/// (for a local path it is joined unchecked: the renderer reports a missing one). Returns
/// `(root, directory)`: the root is the artifact (or the local path), which nothing rendered
/// from the directory may read outside of.
pub(crate) fn local_dir(
    text: &str,
    sub: &str,
    args: &GitArgs,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    if !is_remote_url(text) {
        return Ok((PathBuf::from(text), PathBuf::from(text).join(sub)));
    }
    let dir = Path::new(sub);
    if dir.is_absolute() || dir.components().any(|c| matches!(c, Component::ParentDir)) {
        bail!(
            "--path {sub}: expected a directory inside the repository, found {}",
            if dir.is_absolute() {
                "an absolute path"
            } else {
                "a path leaving it (`..`)"
            }
        );
    }
    let root = local_repo(text, args)?;
    let inside = root.join(dir);
    if !inside.exists() {
        bail!(
            "--path {sub}: no such file or directory in {}",
            RedactedUrl::new(text)
        );
    }
    Ok((root, inside))
}

/// Replaces a Git URL given as a command's repository or build path by the local directory of
/// its fetched artifact, so that the commands themselves only ever see directories. `build URL
/// --path P` (without `--unit`) renders the directory P of the repository.
pub(crate) fn localize(command: &mut Command) -> anyhow::Result<()> {
    match command {
        Command::Build(args) => {
            let text = args.path.to_string_lossy().into_owned();
            if is_remote_url(&text) {
                let (root, path) = match (&args.unit, &args.repo_entry) {
                    (None, Some(dir)) => local_dir(&text, dir, &args.git)?,
                    _ => {
                        let root = local_repo(&text, &args.git)?;
                        (root.clone(), root)
                    }
                };
                args.path = path;
                args.source_root = Some(root);
            }
        }
        Command::Graph(GraphArgs { repo, .. }) | Command::Plan(PlanArgs { repo, .. }) => {
            repo.repo = local_repo(&repo.repo.to_string_lossy(), &repo.git)?;
        }
        _ => {}
    }
    Ok(())
}
