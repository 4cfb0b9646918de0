//! `HelmRelease`: a Helm chart rendered with values and applied as one unit.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(feature = "cluster")]
use super::HelmReleaseStatus;

use super::{CrossNamespaceSourceReference, DependencyReference};

/// A Helm chart release, as Flux's `HelmRelease` spec.
#[cfg_attr(feature = "cluster", derive(kube::CustomResource))]
#[cfg_attr(
    feature = "cluster",
    kube(
        group = "gitops.rs",
        version = "v1alpha1",
        kind = "HelmRelease",
        namespaced,
        status = "HelmReleaseStatus",
        shortname = "hr",
        category = "gitops",
        derive = "PartialEq",
        doc = "A Helm chart rendered with values and applied as one unit.",
        printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
        printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
        printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.lastAppliedRevision"}"#,
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
    )
)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    /// The chart: a path in a GitRepository, or a chart name in a HelmRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,
    /// A reference to a chart source object (Flux's `chartRef`: OCIRepository or HelmChart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceSourceReference>,
    /// How often to reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,
    /// Timeout of Helm actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
    /// Release name; `[targetNamespace-]name` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Namespace the release's objects go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Namespace of Helm's release storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_namespace: Option<String>,
    /// Units that must be Ready first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    /// Values, merged over the chart's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserved_object")]
    pub values: Option<serde_json::Value>,
    /// ConfigMaps and Secrets whose data are values, merged in order before `values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_from: Vec<ValuesReference>,
    /// Install options (Flux's `install`), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserved_object")]
    pub install: Option<serde_json::Value>,
    /// Upgrade options (Flux's `upgrade`), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserved_object")]
    pub upgrade: Option<serde_json::Value>,
    /// Rollback options, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserved_object")]
    pub rollback: Option<serde_json::Value>,
    /// Uninstall options, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserved_object")]
    pub uninstall: Option<serde_json::Value>,
    /// Test options, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserved_object")]
    pub test: Option<serde_json::Value>,
    /// Post-renderers (kustomize patches), kept as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::preserved_object_list")]
    pub post_renderers: Vec<serde_json::Value>,
    /// Maximum number of release revisions kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<i64>,
    /// Stop reconciling.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Service account to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Kubeconfig of the cluster to install into (`secretRef{name, key}`, key `value` or
    /// `value.yaml` by default), as for units; the operator's cluster when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserved_object")]
    pub kube_config: Option<serde_json::Value>,
    /// Flux's drift detection: `mode` is `enabled` (re-apply on every interval, healing drift),
    /// `warn` (report drift in a `Drifted` condition and an event) or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserved_object")]
    pub drift_detection: Option<serde_json::Value>,
    /// The units' drift setting, accepted on releases too: `heal` is mode `enabled`, `report`
    /// is mode `warn`; `driftDetection` wins when both are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<super::DriftPolicy>,
}

/// The chart part of a HelmRelease.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplate {
    /// The chart's location.
    pub spec: HelmChartTemplateSpec,
}

/// Where a chart comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    /// Chart name (HelmRepository) or path (GitRepository, Bucket).
    pub chart: String,
    /// Version range (HelmRepository only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The source holding the chart.
    pub source_ref: CrossNamespaceSourceReference,
    /// How often to check the source for a new chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,
    /// Values files in the chart to merge, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// `ChartVersion` or `Revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_strategy: Option<String>,
    /// Deprecated single values file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
}

/// A ConfigMap or Secret key holding values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// `ConfigMap` or `Secret`.
    pub kind: String,
    /// Name, in the release's namespace.
    pub name: String,
    /// Key holding the values (default `values.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_key: Option<String>,
    /// Dotted path where a single value is placed instead of merging a document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    /// A missing object is not an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}
