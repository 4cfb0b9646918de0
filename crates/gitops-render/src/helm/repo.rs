//! A Helm chart repository's `index.yaml`: which versions of which charts it serves and where
//! their archives are, and the choice of a version for a constraint as `helm pull --version`
//! makes it. Pure: the text of the index in, a chart version out; fetching is the caller's.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::funcs::{semver_cmp, semver_constraint_valid, semver_satisfies, semver_valid};

/// A parsed repository index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoIndex {
    /// Chart name → its versions, highest first; entries without a name, without a valid
    /// version or without a URL are dropped, as Helm drops them when it loads an index.
    pub entries: BTreeMap<String, Vec<ChartVersion>>,
}

/// One version of a chart in an index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChartVersion {
    /// Chart name.
    #[serde(default)]
    pub name: String,
    /// Chart version (semver).
    #[serde(default)]
    pub version: String,
    /// Where the archive is: absolute, or relative to the repository URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// SHA-256 of the archive, hex, when the index gives it.
    #[serde(default)]
    pub digest: Option<String>,
    /// The application's version, for display.
    #[serde(default)]
    pub app_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIndex {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    entries: Option<BTreeMap<String, Option<Vec<Option<ChartVersion>>>>>,
}

/// Why an index or a version choice was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepoError {
    /// The text is not a YAML index.
    #[error("the repository index is not valid YAML: {0}")]
    Syntax(String),
    /// The index has no `apiVersion` (Helm refuses such an index).
    #[error("the repository index has no apiVersion (expected `apiVersion: v1`)")]
    NoApiVersion,
    /// The index has no chart of that name.
    #[error("chart `{name}` is not in the repository index (it has {available})")]
    NoChart {
        /// The chart asked for.
        name: String,
        /// A short list of the charts the index has.
        available: String,
    },
    /// The version constraint does not parse.
    #[error("version `{constraint}` of chart `{name}` is not a semver constraint")]
    BadConstraint {
        /// The chart.
        name: String,
        /// The constraint given.
        constraint: String,
    },
    /// No version satisfies the constraint.
    #[error("no version of chart `{name}` satisfies `{constraint}` (the index has {available})")]
    NoVersion {
        /// The chart.
        name: String,
        /// The constraint given (`*` when none was).
        constraint: String,
        /// The highest versions the index has.
        available: String,
    },
}

/// Parses an `index.yaml` (JSON is YAML too).
///
/// # Errors
/// Text that is not YAML or not an index, or an index without `apiVersion`.
pub fn parse_index(text: &str) -> Result<RepoIndex, RepoError> {
    let value = gitops_core::yaml::parse_value(text, gitops_core::yaml::Schema::Yaml11)
        .map_err(|e| RepoError::Syntax(format!("{e:?}")))?;
    let raw: RawIndex = serde_json::from_value(value).map_err(|e| {
        RepoError::Syntax(format!(
            "expected a map with `apiVersion` and `entries`: {e}"
        ))
    })?;
    if raw.api_version.as_deref().is_none_or(str::is_empty) {
        return Err(RepoError::NoApiVersion);
    }
    let mut entries = BTreeMap::new();
    for (name, versions) in raw.entries.unwrap_or_default() {
        let mut kept: Vec<ChartVersion> = versions
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .filter(|v| !v.name.is_empty() && semver_valid(&v.version) && !v.urls.is_empty())
            .collect();
        // Highest first; equal precedence keeps index order.
        kept.sort_by(|a, b| {
            semver_cmp(&b.version, &a.version).unwrap_or(std::cmp::Ordering::Equal)
        });
        if !kept.is_empty() {
            entries.insert(name, kept);
        }
    }
    Ok(RepoIndex { entries })
}

impl RepoIndex {
    /// The index of an OCI repository's chart `name` from its tags: each tag that is a version
    /// (OCI tags write semver's `+` as `_`) is an entry whose one URL is the tag.
    #[must_use]
    pub fn from_tags(name: &str, tags: &[String]) -> RepoIndex {
        let mut versions: Vec<ChartVersion> = tags
            .iter()
            .map(|tag| ChartVersion {
                name: name.to_owned(),
                version: tag.replace('_', "+"),
                urls: vec![tag.clone()],
                ..ChartVersion::default()
            })
            .filter(|v| semver_valid(&v.version))
            .collect();
        versions.sort_by(|a, b| {
            semver_cmp(&b.version, &a.version).unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut entries = BTreeMap::new();
        if !versions.is_empty() {
            entries.insert(name.to_owned(), versions);
        }
        RepoIndex { entries }
    }

    /// The version of chart `name` to use for `constraint`, as Helm chooses it: an entry whose
    /// version is exactly the constraint's text, else the highest version satisfying it; an
    /// empty constraint is `*`, which (as every constraint without a pre-release) skips
    /// pre-releases.
    ///
    /// # Errors
    /// No such chart, a constraint that does not parse, or no version that satisfies it.
    pub fn select(&self, name: &str, constraint: &str) -> Result<&ChartVersion, RepoError> {
        let versions = self.entries.get(name).ok_or_else(|| RepoError::NoChart {
            name: name.to_owned(),
            available: sample(self.entries.keys().map(String::as_str)),
        })?;
        let constraint = constraint.trim();
        if let Some(exact) = versions.iter().find(|v| v.version == constraint) {
            return Ok(exact);
        }
        let constraint = if constraint.is_empty() {
            "*"
        } else {
            constraint
        };
        if !semver_constraint_valid(constraint) {
            return Err(RepoError::BadConstraint {
                name: name.to_owned(),
                constraint: constraint.to_owned(),
            });
        }
        versions
            .iter()
            .find(|v| semver_satisfies(constraint, &v.version))
            .ok_or_else(|| RepoError::NoVersion {
                name: name.to_owned(),
                constraint: constraint.to_owned(),
                available: sample(versions.iter().map(|v| v.version.as_str())),
            })
    }
}

/// The first few items, for messages: `a, b, c and 12 more`.
fn sample<'a>(items: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = items.len();
    if total == 0 {
        return "none".to_owned();
    }
    let shown: Vec<&str> = items.take(5).collect();
    let list = shown
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if total > shown.len() {
        format!("{list} and {} more", total - shown.len())
    } else {
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r"
apiVersion: v1
entries:
  podinfo:
    - name: podinfo
      version: 6.5.0
      urls: [podinfo-6.5.0.tgz]
      digest: abc
    - name: podinfo
      version: 6.10.1
      urls: [https://charts.example/podinfo-6.10.1.tgz]
    - name: podinfo
      version: 7.0.0-rc.1
      urls: [podinfo-7.0.0-rc.1.tgz]
    - name: podinfo
      version: 6.4.2
      urls: [podinfo-6.4.2.tgz]
    - name: podinfo
      version: not-a-version
      urls: [broken.tgz]
    - name: podinfo
      version: 6.3.0
      urls: []
  empty: []
  nulls:
generated: 2026-01-01T00:00:00Z
";

    fn versions(index: &RepoIndex, name: &str) -> Vec<String> {
        index.entries[name]
            .iter()
            .map(|v| v.version.clone())
            .collect()
    }

    #[test]
    fn an_index_keeps_valid_entries_highest_version_first() {
        let index = parse_index(INDEX).unwrap();
        assert_eq!(
            versions(&index, "podinfo"),
            ["7.0.0-rc.1", "6.10.1", "6.5.0", "6.4.2"]
        );
        assert!(!index.entries.contains_key("empty"));
        assert!(!index.entries.contains_key("nulls"));
        assert_eq!(index.entries["podinfo"][2].digest.as_deref(), Some("abc"));
    }

    #[test]
    fn versions_are_chosen_as_helm_chooses_them() {
        let index = parse_index(INDEX).unwrap();
        let pick = |c: &str| index.select("podinfo", c).map(|v| v.version.clone());
        // No constraint: the highest release, never a pre-release.
        assert_eq!(pick("").unwrap(), "6.10.1");
        assert_eq!(pick("*").unwrap(), "6.10.1");
        assert_eq!(pick("~6.4").unwrap(), "6.4.2");
        assert_eq!(pick("^6.4.0").unwrap(), "6.10.1");
        assert_eq!(pick(">=6.0.0 <6.5.0").unwrap(), "6.4.2");
        assert_eq!(pick("6.5.x || 6.4.x").unwrap(), "6.5.0");
        // A constraint with a pre-release admits pre-releases.
        assert_eq!(pick(">=7.0.0-0").unwrap(), "7.0.0-rc.1");
        // An exact version wins even when it is a pre-release.
        assert_eq!(pick("7.0.0-rc.1").unwrap(), "7.0.0-rc.1");
    }

    #[test]
    fn refusals_say_what_the_index_has() {
        let index = parse_index(INDEX).unwrap();
        assert_eq!(
            index.select("nginx", "*").unwrap_err().to_string(),
            "chart `nginx` is not in the repository index (it has `podinfo`)"
        );
        assert_eq!(
            index.select("podinfo", ">=8").unwrap_err().to_string(),
            "no version of chart `podinfo` satisfies `>=8` (the index has `7.0.0-rc.1`, \
             `6.10.1`, `6.5.0`, `6.4.2`)"
        );
        assert!(matches!(
            index.select("podinfo", "latest"),
            Err(RepoError::BadConstraint { .. })
        ));
    }

    #[test]
    fn oci_tags_become_versions() {
        let tags: Vec<String> = ["1.0.0", "1.2.0_build.1", "latest", "1.1.0"]
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        let index = RepoIndex::from_tags("podinfo", &tags);
        assert_eq!(
            versions(&index, "podinfo"),
            ["1.2.0+build.1", "1.1.0", "1.0.0"]
        );
        let chosen = index.select("podinfo", "~1.2").unwrap();
        assert_eq!(chosen.urls, ["1.2.0_build.1"]);
        assert!(
            RepoIndex::from_tags("x", &["latest".to_owned()])
                .entries
                .is_empty()
        );
    }

    #[test]
    fn an_index_without_api_version_or_not_yaml_is_refused() {
        assert_eq!(
            parse_index("entries: {}\n").unwrap_err(),
            RepoError::NoApiVersion
        );
        assert!(matches!(
            parse_index("apiVersion: v1\nentries: [1, 2]\n"),
            Err(RepoError::Syntax(_))
        ));
        assert!(matches!(parse_index("a: [\n"), Err(RepoError::Syntax(_))));
    }
}
