//! Where a HelmRelease's chart is on this replica's disk: a path in a GitRepository's artifact,
//! or a version of a chart of a HelmRepository (chosen by `spec.chart.spec.version` in the
//! stored index, or among the tags of an OCI repository; downloaded once per version, checked
//! against the index's or the manifest's digest and unpacked under `helmcharts/` in the
//! storage directory).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitops_core::api::{HelmChartTemplateSpec, HelmRepository};
use gitops_render::helm::repo::{RepoIndex, parse_index};

use super::Context;
use super::inputs::artifact_of;

/// A chart ready to render.
pub(super) struct LocatedChart {
    /// The directory `chart` and `values_files` are relative to.
    pub(super) root: PathBuf,
    /// The chart's directory under `root`.
    pub(super) chart: String,
    /// Values files to merge, relative to `root`.
    pub(super) values_files: Vec<String>,
    /// What is applied: the Git artifact's revision, or the chart version of a repository.
    pub(super) revision: String,
}

/// Largest unpacked chart: a guard against archives that inflate without end.
const MAX_UNPACKED_BYTES: u64 = 256 << 20;

/// Locates the chart of `spec` (a release in `namespace`); `version` pins an exact chart
/// version of a HelmRepository (a rollback). `Ok(None)`: the source's artifact is not on this
/// replica's disk yet.
pub(super) async fn locate(
    ctx: &Context,
    spec: &HelmChartTemplateSpec,
    namespace: &str,
    version: Option<&str>,
) -> Result<Option<LocatedChart>, String> {
    let field = "spec.chart.spec.sourceRef";
    if spec.source_ref.kind != "HelmRepository" {
        let artifact = artifact_of(ctx, &spec.source_ref, namespace, field).await?;
        return Ok(artifact
            .dir
            .filter(|d| d.is_dir())
            .map(|root| LocatedChart {
                root,
                chart: spec.chart.clone(),
                values_files: spec.values_files.clone(),
                revision: artifact.revision,
            }));
    }
    let repo_ns = spec
        .source_ref
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.to_owned());
    let what = format!("source HelmRepository {repo_ns}/{}", spec.source_ref.name);
    let repo = ctx
        .api::<HelmRepository>(&repo_ns)
        .get_opt(&spec.source_ref.name)
        .await
        .map_err(|e| format!("cannot read {what}: {e}"))?
        .ok_or_else(|| format!("{what} does not exist"))?;
    let name = spec.chart.clone();
    let constraint = version
        .map(str::to_owned)
        .or_else(|| spec.version.clone())
        .unwrap_or_default();
    let values_files = spec.values_files.clone();
    let cache = ctx.charts_dir();
    if super::helmrepo::is_oci(&repo) {
        let client = super::helmrepo::oci_client(&repo, &repo_ns, ctx)
            .await
            .map_err(|(_, message, _)| format!("{what}: {message}"))?;
        let url = repo.spec.url.clone();
        return tokio::task::spawn_blocking(move || {
            let tags = client
                .tags(&name)
                .map_err(|e| format!("{what}: chart {name}: {e}"))?;
            let index = RepoIndex::from_tags(&name, &tags);
            let chosen = index
                .select(&name, &constraint)
                .map_err(|e| format!("{what}: {e}"))?;
            let tag = chosen.urls.first().cloned().unwrap_or_default();
            let id = format!("{url}\n{name}\n{tag}");
            let pull = || {
                client
                    .pull(&name, &tag)
                    .map(|(archive, _)| archive)
                    .map_err(|e| e.to_string())
            };
            materialize(&cache, &id, pull, &values_files, &chosen.version)
                .map(Some)
                .map_err(|e| format!("{what}: chart {name} {}: {e}", chosen.version))
        })
        .await
        .map_err(|e| format!("the chart download task failed: {e}"))?;
    }
    let status = repo.status.clone().unwrap_or_default();
    let Some(artifact) = status.artifact else {
        let why = gitops_core::api::status::find_condition(&status.conditions, "Ready")
            .map(|c| format!(": {}", c.message))
            .unwrap_or_default();
        return Err(format!("{what} has no index yet{why}"));
    };
    let index_path = ctx.settings.storage.join(artifact.path.unwrap_or_default());
    if !index_path.is_file() {
        return Ok(None);
    }
    let client = super::helmrepo::client(&repo, &repo_ns, ctx)
        .await
        .map_err(|(_, message, _)| format!("{what}: {message}"))?;
    let index = match ctx.cached_index(&index_path) {
        Some(index) => index,
        None => {
            let path = index_path.clone();
            let parsed = tokio::task::spawn_blocking(move || {
                let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
                parse_index(&text).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| format!("the index task failed: {e}"))?
            .map_err(|e| format!("the index of {what}: {e}"))?;
            let parsed = Arc::new(parsed);
            ctx.keep_index(index_path, Arc::clone(&parsed));
            parsed
        }
    };
    tokio::task::spawn_blocking(move || -> Result<Option<LocatedChart>, String> {
        let chosen = index
            .select(&name, &constraint)
            .map_err(|e| format!("{what}: {e}"))?;
        let url_ref = chosen.urls.first().cloned().unwrap_or_default();
        let url = client
            .resolve(&url_ref)
            .map_err(|e| format!("{what}: chart {name} {}: {e}", chosen.version))?;
        // Chart versions are immutable by convention; the index's digest, when given, makes
        // it certain.
        let id = format!(
            "{url}\n{}\n{}",
            chosen.version,
            chosen.digest.as_deref().unwrap_or_default()
        );
        let fetch = || {
            client
                .fetch_chart(&url, chosen.digest.as_deref())
                .map(|(archive, _)| archive)
                .map_err(|e| e.to_string())
        };
        materialize(&cache, &id, fetch, &values_files, &chosen.version)
            .map(Some)
            .map_err(|e| format!("{what}: chart {name} {} from {url}: {e}", chosen.version))
    })
    .await
    .map_err(|e| format!("the chart download task failed: {e}"))?
}

/// The chart identified by `id` (its URL and version) unpacked in the cache: downloaded with
/// `fetch` and unpacked the first time, reused (and kept from garbage collection a while
/// longer) afterwards.
fn materialize(
    cache: &Path,
    id: &str,
    fetch: impl FnOnce() -> Result<Vec<u8>, String>,
    values_files: &[String],
    version: &str,
) -> Result<LocatedChart, String> {
    let hash = gitops_core::git::digest::sha256_hex(id.as_bytes());
    let dir = cache.join(&hash[..32]);
    let marker = dir.join(".complete");
    if std::fs::File::options()
        .write(true)
        .open(&marker)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .is_err()
    {
        unpack(&fetch()?, &dir)?;
    }
    let top = top_directory(&dir)?;
    Ok(LocatedChart {
        values_files: values_files.iter().map(|f| format!("{top}/{f}")).collect(),
        root: dir,
        chart: top,
        revision: version.to_owned(),
    })
}

/// Unpacks a chart archive (gzipped tar) into `dir`, through a scratch directory renamed at the
/// end so that a half-unpacked chart is never used. Only files and directories are taken;
/// entries that would leave the directory are refused.
fn unpack(archive: &[u8], dir: &Path) -> Result<(), String> {
    let parent = dir.parent().ok_or("the chart cache has no parent")?;
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let scratch = tempfile::tempdir_in(parent)
        .map_err(|e| format!("cannot create a scratch directory: {e}"))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut total = 0u64;
    let entries = tar
        .entries()
        .map_err(|e| format!("not a gzipped tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a gzipped tar archive: {e}"))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue;
        }
        total += entry.header().size().unwrap_or(0);
        if total > MAX_UNPACKED_BYTES {
            return Err(format!(
                "it unpacks to more than {MAX_UNPACKED_BYTES} bytes"
            ));
        }
        let path = entry
            .path()
            .map_err(|e| format!("an entry has a bad path: {e}"))?
            .into_owned();
        let inside = entry
            .unpack_in(scratch.path())
            .map_err(|e| format!("cannot unpack {}: {e}", path.display()))?;
        if !inside {
            return Err(format!(
                "entry {} leaves the chart's directory",
                path.display()
            ));
        }
    }
    // Drain what the tar reader left (gzip trailer), so a truncated archive is an error.
    let mut rest = Vec::new();
    tar.into_inner()
        .read_to_end(&mut rest)
        .map_err(|e| format!("the archive is truncated: {e}"))?;
    std::fs::write(scratch.path().join(".complete"), b"")
        .map_err(|e| format!("cannot write into the chart cache: {e}"))?;
    let kept = scratch.keep();
    match std::fs::rename(&kept, dir) {
        Ok(()) => Ok(()),
        // Another reconciliation unpacked the same chart first.
        Err(_) if dir.join(".complete").is_file() => {
            let _ = std::fs::remove_dir_all(&kept);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&kept);
            Err(format!("cannot move the chart into {}: {e}", dir.display()))
        }
    }
}

/// The one top-level directory of an unpacked chart (Helm packages `<name>/...`).
fn top_directory(dir: &Path) -> Result<String, String> {
    let dirs: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    match dirs.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "expected the archive to hold one chart directory, found {}",
            if dirs.is_empty() {
                "none".to_owned()
            } else {
                dirs.join(", ")
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            // set_path refuses `..`; write the name bytes directly to build a hostile archive.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn a_chart_archive_unpacks_into_its_directory() {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path().join("abc");
        let data = archive(&[
            ("podinfo/Chart.yaml", b"name: podinfo\n"),
            ("podinfo/templates/a.yaml", b"kind: A\n"),
        ]);
        unpack(&data, &dir).unwrap();
        assert_eq!(top_directory(&dir).unwrap(), "podinfo");
        assert_eq!(
            std::fs::read(dir.join("podinfo/templates/a.yaml")).unwrap(),
            b"kind: A\n"
        );
        assert!(dir.join(".complete").is_file());
    }

    #[test]
    fn hostile_or_broken_archives_are_refused_and_leave_nothing() {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path().join("bad");
        let data = archive(&[("../escape.yaml", b"x")]);
        let err = unpack(&data, &dir).unwrap_err();
        assert!(err.contains("leaves the chart's directory"), "{err}");
        assert!(!dir.exists());
        assert!(!cache.path().join("escape.yaml").exists());
        let err = unpack(b"not gzip at all", &dir).unwrap_err();
        assert!(err.contains("not a gzipped tar archive"), "{err}");
        let names: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
        assert!(names.is_empty(), "scratch directories are removed");
    }
}
