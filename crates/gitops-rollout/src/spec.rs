//! The `Rollout` resource (`gitops.rs/v1alpha1`): what to roll out, how, and how to judge it.
//!
//! The types follow the field names of Argo Rollouts and Flagger where the two agree, so that the
//! readers in [`crate::readers`] are mostly renames. Durations are strings such as `30s`, `1m` or
//! `1h30m` (Go's notation, as both projects write them) or plain integers of seconds.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::webhook::{Webhook, WebhookKind};

/// The API group and version of [`Rollout`].
pub const API_VERSION: &str = "gitops.rs/v1alpha1";
/// The kind of [`Rollout`].
pub const KIND: &str = "Rollout";

/// A progressive rollout of one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rollout {
    /// Always `gitops.rs/v1alpha1`.
    pub api_version: String,
    /// Always `Rollout`.
    pub kind: String,
    /// Name and namespace.
    pub metadata: Metadata,
    /// What to roll out and how.
    pub spec: RolloutSpec,
}

/// The subset of object metadata a rollout uses.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The rollout's name.
    pub name: String,
    /// The rollout's namespace; `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels, kept as they are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations, kept as they are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The desired rollout behaviour.
///
/// With the `cluster` feature it is also the spec of the custom resource [`RolloutObject`]
/// (`gitops.rs/v1alpha1` `Rollout`), whose status is [`crate::object::RolloutObjectStatus`].
#[cfg_attr(feature = "cluster", derive(kube::CustomResource))]
#[cfg_attr(
    feature = "cluster",
    kube(
        group = "gitops.rs",
        version = "v1alpha1",
        kind = "Rollout",
        root = "RolloutObject",
        namespaced,
        status = "crate::object::RolloutObjectStatus",
        shortname = "ro",
        category = "gitops",
        derive = "PartialEq",
        doc = "A progressive rollout of one workload: canary, blue-green or A/B, with analysis.",
        printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
        printcolumn = r#"{"name":"Weight","type":"integer","jsonPath":".status.canaryWeight"}"#,
        printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.stableRevision"}"#,
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
    )
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutSpec {
    /// The workload whose new revisions are rolled out.
    pub target_ref: WorkloadRef,
    /// The service in front of the workload; provider objects are named after it.
    #[serde(default)]
    pub service: ServiceSpec,
    /// How long a step may wait for the canary to become ready before the rollout is aborted.
    /// Default 600 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<u64>,
    /// How traffic is shifted; without it the replica ratio approximates the weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_routing: Option<TrafficRouting>,
    /// Exactly one strategy.
    pub strategy: Strategy,
    /// Analysis templates that steps refer to by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analysis_templates: Vec<AnalysisTemplate>,
    /// Gates asked over HTTP before a rollout starts or a revision is promoted (Flagger's
    /// `confirm-rollout` and `confirm-promotion`); the operator calls them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<Webhook>,
}

/// A reference to the workload being rolled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadRef {
    /// Default `apps/v1`.
    #[serde(default = "default_apps_v1")]
    pub api_version: String,
    /// Default `Deployment`.
    #[serde(default = "default_deployment")]
    pub kind: String,
    /// The workload's name.
    pub name: String,
}

/// A number or a name, as Kubernetes' `IntOrString` (a structural CRD schema needs the marker).
fn int_or_string(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "x-kubernetes-int-or-string": true,
        "anyOf": [{"type": "integer"}, {"type": "string"}]
    })
}

fn default_apps_v1() -> String {
    "apps/v1".to_owned()
}

fn default_deployment() -> String {
    "Deployment".to_owned()
}

/// The service that fronts the workload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// The apex service name; default the target's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The service port; default 80.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The container port (number or name) traffic goes to; default the service port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "int_or_string")]
    pub target_port: Option<serde_json::Value>,
    /// The stable service; default `<name>-primary` (Flagger's naming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_service: Option<String>,
    /// The canary service; default `<name>-canary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_service: Option<String>,
    /// Pod labels every revision shares; default `app: <target name>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// Host names the route answers for (Gateway API, Istio, NGINX).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// One of the supported traffic routers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum TrafficRouting {
    /// SMI `TrafficSplit` (Linkerd, Open Service Mesh).
    Smi(SmiRouting),
    /// Gateway API `HTTPRoute` backend weights and header matches.
    #[serde(rename = "gatewayAPI")]
    GatewayApi(GatewayRouting),
    /// Istio `VirtualService` with `DestinationRule` subsets.
    Istio(IstioRouting),
    /// NGINX Ingress canary annotations.
    Nginx(NginxRouting),
    /// Plain Kubernetes: service selector switches and replica ratios.
    Plain(PlainRouting),
}

impl TrafficRouting {
    /// The provider's short name, as `--provider` takes it.
    #[must_use]
    pub fn provider(&self) -> ProviderKind {
        match self {
            Self::Smi(_) => ProviderKind::Smi,
            Self::GatewayApi(_) => ProviderKind::Gateway,
            Self::Istio(_) => ProviderKind::Istio,
            Self::Nginx(_) => ProviderKind::Nginx,
            Self::Plain(_) => ProviderKind::Plain,
        }
    }
}

/// The traffic providers by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// SMI `TrafficSplit`.
    Smi,
    /// Gateway API `HTTPRoute`.
    Gateway,
    /// Istio.
    Istio,
    /// NGINX Ingress.
    Nginx,
    /// Plain Kubernetes services.
    Plain,
}

impl ProviderKind {
    /// All providers, in documentation order.
    pub const ALL: [Self; 5] = [
        Self::Smi,
        Self::Gateway,
        Self::Istio,
        Self::Nginx,
        Self::Plain,
    ];

    /// The provider's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smi => "smi",
            Self::Gateway => "gateway",
            Self::Istio => "istio",
            Self::Nginx => "nginx",
            Self::Plain => "plain",
        }
    }

    /// The routing with this provider's defaults.
    #[must_use]
    pub fn default_routing(self) -> TrafficRouting {
        match self {
            Self::Smi => TrafficRouting::Smi(SmiRouting::default()),
            Self::Gateway => TrafficRouting::GatewayApi(GatewayRouting::default()),
            Self::Istio => TrafficRouting::Istio(IstioRouting::default()),
            Self::Nginx => TrafficRouting::Nginx(NginxRouting::default()),
            Self::Plain => TrafficRouting::Plain(PlainRouting::default()),
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SMI settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmiRouting {
    /// The `TrafficSplit`'s name; default the rollout's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_split_name: Option<String>,
}

/// Gateway API settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayRouting {
    /// The `HTTPRoute`'s name; default the rollout's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_route: Option<String>,
    /// The gateways the route attaches to, as `[namespace/]name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
}

/// Istio settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IstioRouting {
    /// The `VirtualService`'s name; default the rollout's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_service: Option<String>,
    /// The `DestinationRule`'s name; default the rollout's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_rule: Option<String>,
    /// Istio gateways the route is bound to; none means the mesh.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
}

/// NGINX Ingress settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NginxRouting {
    /// The stable `Ingress`; the canary ingress is `<ingress>-canary`. Default the rollout's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<String>,
    /// The ingress class; default `nginx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
    /// The path routed; default `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Plain Kubernetes settings (no fields yet; present for symmetry).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlainRouting {}

/// Exactly one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Strategy {
    /// Shift traffic to the new revision by weights, with pauses and analysis.
    Canary(CanaryStrategy),
    /// Run the new revision beside the old one and switch the service at once.
    BlueGreen(BlueGreenStrategy),
    /// Send requests matching headers or cookies to the new revision, then promote.
    AbTest(AbTestStrategy),
}

/// A canary: either explicit `steps` (Argo Rollouts) or a Flagger-style `analysis` loop.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryStrategy {
    /// Explicit steps, run in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<CanaryStep>,
    /// A weight loop checked every interval (Flagger); exclusive with `steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<WeightLoop>,
}

/// One canary step; written as a single-key map, as in Argo Rollouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum CanaryStep {
    /// Send this percentage of traffic to the canary.
    SetWeight(u8),
    /// Wait for `duration`, or for a promote command when it is absent.
    Pause(PauseStep),
    /// Run an analysis and go on only when it succeeds.
    Analysis(AnalysisRef),
    /// Scale the canary independently of the traffic weight.
    SetCanaryScale(CanaryScale),
    /// Send requests matching these rules to the canary.
    SetHeaderRoute(HeaderRoute),
}

/// A pause.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PauseStep {
    /// How long; absent means until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
}

/// How many canary replicas to run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryScale {
    /// An absolute count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// A percentage of the workload's replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
    /// Follow the traffic weight again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub match_traffic_weight: bool,
}

/// Header routing for a canary step.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderRoute {
    /// A name for the route (kept for Argo compatibility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Requests matching any rule go to the canary; an empty list removes the route.
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<RouteMatch>,
}

/// One routing rule: every listed header and cookie must match.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteMatch {
    /// Header name → how its value must match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, StringMatch>,
    /// Cookie name → how its value must match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cookies: BTreeMap<String, StringMatch>,
}

/// How a string must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum StringMatch {
    /// Equal to.
    Exact(String),
    /// Starts with.
    Prefix(String),
    /// Matches the regular expression (RE2 syntax).
    Regex(String),
}

/// `= "v"`, `^= "v"` or `~= "v"`: a match in words for timelines.
#[must_use]
pub fn describe_match(m: &StringMatch) -> String {
    match m {
        StringMatch::Exact(v) => format!("= {v:?}"),
        StringMatch::Prefix(v) => format!("^= {v:?}"),
        StringMatch::Regex(v) => format!("~= {v:?}"),
    }
}

/// A Flagger-style analysis loop: every `interval`, check the metrics; on success raise the
/// weight by `stepWeight` (or to the next of `stepWeights`) until `maxWeight`, then promote; after
/// `threshold` failed checks, roll back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightLoop {
    /// Time between checks.
    pub interval: Duration,
    /// Failed checks before rollback; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    /// The last weight before promotion; default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_weight: Option<u8>,
    /// Weight increment per successful check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_weight: Option<u8>,
    /// Explicit weights, exclusive with `stepWeight`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_weights: Vec<u8>,
    /// Templates run at every check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateRef>,
    /// Argument values for the templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
}

/// Blue-green: the new revision is deployed beside the old, reachable through the preview
/// service; promotion switches the active service to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlueGreenStrategy {
    /// The service users reach.
    pub active_service: String,
    /// The service that reaches the new revision before promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_service: Option<String>,
    /// Promote without a command once ready and analysed; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion_enabled: Option<bool>,
    /// Promote automatically this long after the preview is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion_seconds: Option<u64>,
    /// Analysis before the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_promotion_analysis: Option<AnalysisRef>,
    /// Analysis after the switch; failure switches back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_promotion_analysis: Option<AnalysisRef>,
    /// How long the old revision keeps running after the switch; default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<u64>,
}

/// A/B testing: requests matching the rules go to the new revision for `iterations` checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AbTestStrategy {
    /// Requests matching any rule go to the new revision.
    #[serde(rename = "match")]
    pub matches: Vec<RouteMatch>,
    /// Number of successful checks before promotion.
    pub iterations: u32,
    /// Time between checks.
    pub interval: Duration,
    /// Failed checks before rollback; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    /// Templates run at every check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateRef>,
    /// Argument values for the templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
}

/// Which templates an analysis runs, with which arguments.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisRef {
    /// Templates by name, from `spec.analysisTemplates`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateRef>,
    /// Argument values for `{{args.NAME}}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
}

impl AnalysisRef {
    /// Whether there is nothing to run.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

/// A template reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateRef {
    /// The template's name.
    pub template_name: String,
}

/// A named argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Arg {
    /// The argument's name.
    pub name: String,
    /// Its value; absent for a template argument that must be given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A set of metrics measured together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisTemplate {
    /// The name steps refer to.
    pub name: String,
    /// Arguments with their defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
    /// The metrics.
    pub metrics: Vec<Metric>,
}

/// One metric: a query measured `count` times every `interval`, each result judged by the
/// conditions and the threshold range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metric {
    /// The metric's name.
    pub name: String,
    /// Where the values come from.
    pub provider: MetricProvider,
    /// Time between measurements; default 60s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Number of measurements; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// A measurement succeeds when this holds, e.g. `result[0] >= 0.95`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_condition: Option<String>,
    /// A measurement fails when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_condition: Option<String>,
    /// Failed measurements tolerated; default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_limit: Option<u32>,
    /// Inconclusive measurements tolerated; default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive_limit: Option<u32>,
    /// A measurement fails outside this range (Flagger's `thresholdRange`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_range: Option<ThresholdRange>,
}

/// Inclusive bounds for a measured value.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThresholdRange {
    /// The lowest value that passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The highest value that passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// The metric source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum MetricProvider {
    /// A Prometheus instant query.
    Prometheus(PrometheusMetric),
}

/// A Prometheus instant query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusMetric {
    /// The server, e.g. `http://prometheus.monitoring:9090`; default the operator's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// PromQL, with `{{args.NAME}}` placeholders.
    pub query: String,
    /// Per-request timeout; default 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// A duration in whole seconds, written `90`, `"90s"`, `"1m30s"` or `"1h"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub u64);

impl Duration {
    /// The number of seconds.
    #[must_use]
    pub fn seconds(self) -> u64 {
        self.0
    }

    /// Parses Go's notation (`1h30m`, `45s`, `500ms` rounded up to whole seconds) or a bare
    /// number of seconds.
    ///
    /// # Errors
    /// A message saying what was expected when the text is no such duration.
    pub fn parse(text: &str) -> Result<Self, String> {
        let expected = || format!("expected a duration such as 30s, 5m or 1h30m, found {text:?}");
        let text = text.trim();
        if let Ok(n) = text.parse::<u64>() {
            return Ok(Self(n));
        }
        if text.is_empty() {
            return Err(expected());
        }
        let mut millis: u64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(expected());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| expected())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => return Err(expected()),
            };
            rest = &rest[unit_len..];
            millis = n
                .checked_mul(factor)
                .and_then(|v| millis.checked_add(v))
                .ok_or_else(expected)?;
        }
        Ok(Self(millis.div_ceil(1000)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.0 / 3600, self.0 / 60 % 60, self.0 % 60);
        if self.0 == 0 {
            return f.write_str("0s");
        }
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(n) => Ok(Self(n)),
            Raw::Text(text) => Self::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: seconds as an integer, or Go notation such as 30s, 5m, 1h30m.",
            "x-kubernetes-int-or-string": true,
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^([0-9]+(ms|s|m|h))+$"}
            ]
        })
    }
}

impl WeightLoop {
    /// The analysis run at every check.
    #[must_use]
    pub fn analysis(&self) -> AnalysisRef {
        AnalysisRef {
            templates: self.templates.clone(),
            args: self.args.clone(),
        }
    }
}

impl AbTestStrategy {
    /// The analysis run at every check.
    #[must_use]
    pub fn analysis(&self) -> AnalysisRef {
        AnalysisRef {
            templates: self.templates.clone(),
            args: self.args.clone(),
        }
    }
}

impl Rollout {
    /// The namespace, `default` when unset.
    #[must_use]
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// The apex service name.
    #[must_use]
    pub fn service_name(&self) -> &str {
        self.spec
            .service
            .name
            .as_deref()
            .unwrap_or(&self.spec.target_ref.name)
    }

    /// The stable service name.
    #[must_use]
    pub fn stable_service(&self) -> String {
        self.spec
            .service
            .stable_service
            .clone()
            .unwrap_or_else(|| format!("{}-primary", self.service_name()))
    }

    /// The canary service name.
    #[must_use]
    pub fn canary_service(&self) -> String {
        self.spec
            .service
            .canary_service
            .clone()
            .unwrap_or_else(|| format!("{}-canary", self.service_name()))
    }

    /// The service port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.spec.service.port.unwrap_or(80)
    }

    /// Pod labels common to both revisions.
    #[must_use]
    pub fn selector(&self) -> BTreeMap<String, String> {
        if self.spec.service.selector.is_empty() {
            BTreeMap::from([("app".to_owned(), self.spec.target_ref.name.clone())])
        } else {
            self.spec.service.selector.clone()
        }
    }

    /// The JSON Schema of the resource, for a CRD's `openAPIV3Schema` and editor support.
    #[must_use]
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(Rollout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_go_notation_and_seconds() {
        for (text, secs) in [
            ("30s", 30),
            ("1m", 60),
            ("1h30m", 5400),
            ("90", 90),
            ("500ms", 1),
            ("2m5s", 125),
        ] {
            assert_eq!(Duration::parse(text), Ok(Duration(secs)), "{text}");
        }
        for bad in ["", "s", "10x", "1.5m", "-1s"] {
            let err = Duration::parse(bad).unwrap_err();
            assert!(err.contains("expected a duration"), "{bad}: {err}");
        }
        assert_eq!(Duration(5400).to_string(), "1h30m");
        assert_eq!(Duration(0).to_string(), "0s");
    }

    #[test]
    fn the_schema_names_the_strategies() {
        let schema = serde_json::to_string(&Rollout::json_schema()).unwrap();
        for word in [
            "canary",
            "blueGreen",
            "abTest",
            "gatewayAPI",
            "thresholdRange",
        ] {
            assert!(schema.contains(word), "{word}");
        }
    }
}
