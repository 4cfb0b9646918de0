//! A chart named on the command line that lives in a chart repository (`--repo URL NAME`) or an
//! OCI registry (`oci://host/path/chart`): the version is chosen as Helm chooses it
//! (`gitops_render::helm::repo`), the archive downloaded and checked (`gitops_core::chartrepo`)
//! into the cache directory, and PATH pointed at it.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use gitops_core::chartrepo::ChartRepo;
use gitops_core::chartrepo::oci::OciRepo;
use gitops_render::helm::repo::{RepoIndex, parse_index};

use crate::cli::{BuildArgs, ChartSourceArgs};

/// Replaces a remote chart reference in `args.path` by the downloaded archive; does nothing for
/// local paths.
pub(crate) fn localize(args: &mut BuildArgs) -> anyhow::Result<()> {
    let reference = args.path.to_string_lossy().into_owned();
    let source = &args.chart_source;
    let cache = super::git_url::cache_dir(&args.git).join("charts");
    let archive = if let Some(repo) = &source.repo {
        from_repository(repo, &reference, source, &cache)?
    } else if reference.starts_with("oci://") {
        from_registry(&reference, source, &cache)?
    } else {
        return Ok(());
    };
    args.path = archive;
    Ok(())
}

fn ca(source: &ChartSourceArgs) -> anyhow::Result<Option<Vec<u8>>> {
    source
        .ca_file
        .as_ref()
        .map(|f| std::fs::read(f).with_context(|| format!("cannot read --ca-file {}", f.display())))
        .transpose()
}

fn from_repository(
    repo: &str,
    name: &str,
    source: &ChartSourceArgs,
    cache: &std::path::Path,
) -> anyhow::Result<PathBuf> {
    let mut client = ChartRepo::new(repo).context("--repo")?;
    client.basic_auth = source.username.clone().zip(source.password.clone());
    client.ca_pem = ca(source)?;
    let body = client.fetch_index()?;
    let index = parse_index(&String::from_utf8_lossy(&body))
        .with_context(|| format!("{}", client.index_url()))?;
    let constraint = source.chart_version.clone().unwrap_or_default();
    let chosen = index.select(name, &constraint)?;
    let url = client.resolve(chosen.urls.first().map_or("", String::as_str))?;
    let (archive, digest) = client.fetch_chart(&url, chosen.digest.as_deref())?;
    store(cache, &digest, &archive)
}

fn from_registry(
    reference: &str,
    source: &ChartSourceArgs,
    cache: &std::path::Path,
) -> anyhow::Result<PathBuf> {
    let Some((repository, name)) = reference.trim_end_matches('/').rsplit_once('/') else {
        bail!("`{reference}`: expected oci://HOST/PATH/CHART");
    };
    if name.is_empty() || repository == "oci:/" {
        bail!("`{reference}`: expected oci://HOST/PATH/CHART");
    }
    let mut client = OciRepo::new(repository, source.plain_http)?;
    client.basic_auth = source.username.clone().zip(source.password.clone());
    client.ca_pem = ca(source)?;
    let tags = client.tags(name)?;
    let index = RepoIndex::from_tags(name, &tags);
    let constraint = source.chart_version.clone().unwrap_or_default();
    let chosen = index.select(name, &constraint)?;
    let tag = chosen.urls.first().cloned().unwrap_or_default();
    let (archive, digest) = client.pull(name, &tag)?;
    store(cache, digest.trim_start_matches("sha256:"), &archive)
}

/// Writes the archive under its digest (once) and returns its path.
fn store(cache: &std::path::Path, digest: &str, archive: &[u8]) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(cache)
        .with_context(|| format!("cannot create the cache directory {}", cache.display()))?;
    let path = cache.join(format!("{digest}.tgz"));
    if !path.is_file() {
        let partial = cache.join(format!(".{digest}.partial"));
        std::fs::write(&partial, archive)
            .and_then(|()| std::fs::rename(&partial, &path))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(path)
}
