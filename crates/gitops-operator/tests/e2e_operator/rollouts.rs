//! Rollouts on the control plane: a Deployment and its Rollout in Git, applied by a unit; a
//! commit changes the image and the operator rolls it out (Flagger's model: `<name>-primary`
//! serves the stable revision, the target is the canary), with the upstream SMI `TrafficSplit`
//! CRD installed as it is and a real Prometheus on loopback for analysis.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicUsize;

use gitops_rollout::RolloutObject;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};

use super::*;

pub(crate) const SMI_CRDS: &str = "../../../shared/corpus/upstream/crds/smi-trafficsplit.yaml";

/// Installs the upstream CRDs of `file` (relative to this crate) as they are; a missing file
/// fails the test.
pub(crate) async fn install_upstream_crds(client: &Client, file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("upstream CRDs {}: {e}", path.display()));
    let docs = gitops_core::yaml::parse_documents(&text, Default::default()).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for doc in docs {
        if doc.value.is_null() {
            continue;
        }
        let name = doc.value["metadata"]["name"].as_str().unwrap().to_owned();
        crds.patch(
            &name,
            &PatchParams::apply("gitops-e2e").force(),
            &Patch::Apply(&doc.value),
        )
        .await
        .unwrap();
        eventually(&format!("CRD {name} Established"), LONG, || async {
            let crd = crds.get(&name).await?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            Ok(established.then_some(()))
        })
        .await
        .unwrap();
    }
}

pub(crate) fn deployment_yaml(image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: {image}
          ports: [{{containerPort: 8080, name: http}}]
"
    )
}

/// A canary behind SMI: 20 %, a 1 s pause, 50 %, a 1 s pause, then promotion; `analysis` is
/// added as a step between the two weights when given.
fn rollout_yaml(analysis: &str) -> String {
    rollout_with_steps(&format!(
        "        - setWeight: 20\n        - pause: {{duration: 1s}}{analysis}\n        - setWeight: 50\n        - pause: {{duration: 1s}}\n"
    ))
}

/// A canary behind SMI with `steps` (YAML list items indented by 8).
pub(crate) fn rollout_with_steps(steps: &str) -> String {
    format!(
        "apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  targetRef: {{name: web}}
  service: {{port: 80, targetPort: 8080}}
  progressDeadlineSeconds: 60
  trafficRouting:
    smi: {{}}
  strategy:
    canary:
      steps:
{steps}"
    )
}

/// 20 %, then a pause until promoted, 60 %, a 1 s pause.
fn paused_rollout_yaml() -> String {
    rollout_with_steps(
        "        - setWeight: 20\n        - pause: {}\n        - setWeight: 60\n        - pause: {duration: 1s}\n",
    )
}

/// Gives the Rollout `command` as `gitops rollout <command>` does.
pub(crate) async fn give(rollouts: &Api<RolloutObject>, command: gitops_rollout::Command) {
    let value = gitops_rollout::object::command_annotation(command, &Timestamp::now().to_string());
    let patch =
        json!({"metadata": {"annotations": {gitops_rollout::object::COMMAND_ANNOTATION: value}}});
    rollouts
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Waits until the Rollout is paused at step 1 (20 %) rolling out a revision other than
/// `not`, and returns that revision.
async fn paused_at_20(rollouts: &Api<RolloutObject>, not: &str) -> String {
    let status = rollout_in(
        rollouts,
        gitops_rollout::Phase::Paused,
        "paused at 20 %",
        |s| {
            s.rollout.current_step == 1
                && s.rollout.canary_weight == 20
                && s.rollout
                    .canary_revision
                    .as_deref()
                    .is_some_and(|r| r != not)
        },
    )
    .await;
    status.rollout.canary_revision.unwrap()
}

fn traffic_splits(ns: &str, client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("split.smi-spec.io", "v1alpha2", "TrafficSplit");
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

/// Records the (primary, canary) weights of every version of TrafficSplit `web` the apiserver
/// stores, from a watch.
fn record_weights(api: Api<DynamicObject>) -> Arc<Mutex<Vec<(i64, i64)>>> {
    record(api, |ts| {
        let backends = ts["spec"]["backends"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let weight = |service: &str| {
            backends
                .iter()
                .find(|b| b["service"] == service)
                .and_then(|b| b["weight"].as_i64())
                .unwrap_or(-1)
        };
        (weight("web-primary"), weight("web-canary"))
    })
}

/// Records `view` of every version (as JSON) of object `web` of `api` the apiserver stores (consecutive
/// equal views once), from a watch.
pub(crate) fn record<T: PartialEq + Send + 'static>(
    api: Api<DynamicObject>,
    view: impl Fn(&Value) -> T + Send + 'static,
) -> Arc<Mutex<Vec<T>>> {
    record_named(api, "web", view)
}

/// As [`record`] for the object `name`.
pub(crate) fn record_named<T: PartialEq + Send + 'static>(
    api: Api<DynamicObject>,
    name: &str,
    view: impl Fn(&Value) -> T + Send + 'static,
) -> Arc<Mutex<Vec<T>>> {
    let selector = format!("metadata.name={name}");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&seen);
    tokio::spawn(async move {
        let config = watcher::Config::default().fields(&selector);
        let mut events = std::pin::pin!(watcher(api, config));
        while let Some(event) = events.next().await {
            let Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) = event
            else {
                continue;
            };
            let Ok(value) = serde_json::to_value(&object) else {
                continue;
            };
            let current = view(&value);
            let mut seen = out.lock().unwrap();
            if seen.last() != Some(&current) {
                seen.push(current);
            }
        }
    });
    seen
}

/// Waits until the Rollout settles in `phase` with `check` holding on its status.
pub(crate) async fn rollout_in(
    api: &Api<RolloutObject>,
    phase: gitops_rollout::Phase,
    what: &str,
    check: impl Fn(&gitops_rollout::object::RolloutObjectStatus) -> bool,
) -> gitops_rollout::object::RolloutObjectStatus {
    eventually(&format!("rollout {phase}: {what}"), LONG, || async {
        let status = api.get("web").await?.status.unwrap_or_default();
        Ok((status.rollout.phase == phase && check(&status)).then_some(status))
    })
    .await
    .unwrap()
}

pub(crate) fn image(deployment: &Deployment) -> String {
    deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

async fn start_world(prefix: &str, rollout: &str, extra_args: &[&str]) -> World {
    start_world_with(prefix, rollout, extra_args, &[SMI_CRDS]).await
}

/// As [`start_world`], with the upstream CRDs of `crds` installed first.
pub(crate) async fn start_world_with(
    prefix: &str,
    rollout: &str,
    extra_args: &[&str],
    crds: &[&str],
) -> World {
    let deploy = deployment_yaml("web:1");
    let mut world = World::new(
        prefix,
        &[("app/deploy.yaml", &deploy), ("app/rollout.yaml", rollout)],
    )
    .await;
    for file in crds {
        install_upstream_crds(&world.ns.client(), file).await;
    }
    let mut args = vec!["--lease-duration", "4s", "--http-addr", "127.0.0.1:0"];
    args.extend_from_slice(extra_args);
    world.operator = Some(Operator::start_with(world.name(), "gitops-operator", &args));
    world.create_source("1s").await;
    world
        .create_unit(
            "app",
            json!({"path": "./app", "interval": "1m", "prune": true}),
        )
        .await;
    world
}

/// Waits for initialization: the primary runs web:1, the target is scaled to zero.
pub(crate) async fn initialized(world: &World) -> String {
    let rollouts: Api<RolloutObject> = world.ns.api();
    let status = rollout_in(
        &rollouts,
        gitops_rollout::Phase::Healthy,
        "initialized",
        |s| s.rollout.stable_revision.is_some(),
    )
    .await;
    let deployments: Api<Deployment> = world.ns.api();
    let primary = deployments.get("web-primary").await.unwrap();
    assert_eq!(image(&primary), "web:1");
    eventually("the target scaled to zero", LONG, || async {
        let target = deployments.get("web").await?;
        Ok((target.spec.and_then(|s| s.replicas) == Some(0)).then_some(()))
    })
    .await
    .unwrap();
    status.rollout.stable_revision.unwrap()
}

#[tokio::test]
async fn an_smi_canary_shifts_traffic_by_steps_and_promotes_the_new_image() {
    let world = start_world("ro-smi", &rollout_yaml(""), &[]).await;
    let first = initialized(&world).await;
    let client = world.ns.client();
    let weights = record_weights(traffic_splits(world.name(), &client));
    eventually("the TrafficSplit at weight 0", LONG, || async {
        Ok((weights.lock().unwrap().last() == Some(&(100, 0))).then_some(()))
    })
    .await
    .unwrap();

    let revision = world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:2")))]);
    world.ready_at("app", &revision).await;
    let rollouts: Api<RolloutObject> = world.ns.api();
    let status = rollout_in(&rollouts, gitops_rollout::Phase::Healthy, "promoted", |s| {
        s.rollout
            .stable_revision
            .as_ref()
            .is_some_and(|r| *r != first)
    })
    .await;
    let deployments: Api<Deployment> = world.ns.api();
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:2"
    );
    eventually("the canary scaled to zero", LONG, || async {
        let target = deployments.get("web").await?;
        Ok((target.spec.and_then(|s| s.replicas) == Some(0)).then_some(()))
    })
    .await
    .unwrap();
    let promoted = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Promoted")
        .unwrap();
    assert_eq!(promoted.status.as_str(), "True");
    eventually("the TrafficSplit back at weight 0", LONG, || async {
        Ok((weights.lock().unwrap().last() == Some(&(100, 0))).then_some(()))
    })
    .await
    .unwrap();
    let seen = weights.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(100, 0), (80, 20), (50, 50), (100, 0)],
        "stored weights"
    );
}

/// A `/metrics` endpoint serving `demo_success_ratio{app="web"}` at a value the test sets.
fn start_exporter(ratio: Arc<Mutex<f64>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = serve_metrics(stream, *ratio.lock().unwrap());
        }
    });
    port
}

fn serve_metrics(mut stream: TcpStream, ratio: f64) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let body =
        format!("# TYPE demo_success_ratio gauge\ndemo_success_ratio{{app=\"web\"}} {ratio}\n");
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Prometheus (Debian package) on loopback scraping `target_port` every second; killed on drop.
struct Prometheus {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(target_port: u16) -> Prometheus {
        let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("the e2e tests need Prometheus: run scripts/install-deps (Debian package prometheus)");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Prometheus {
            child,
            address: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Waits until the query has a sample.
    async fn wait_for(&self, query: &str) {
        let client = gitops_rollout::analysis::prometheus::Prometheus::new(self.address.clone());
        let query = query.to_owned();
        eventually("Prometheus to have samples", LONG, || {
            let client = client.clone();
            let query = query.clone();
            async move {
                let values = tokio::task::spawn_blocking(move || client.query(None, &query, None))
                    .await?
                    .unwrap_or_default();
                Ok((!values.is_empty()).then_some(()))
            }
        })
        .await
        .unwrap();
    }
}

const SUCCESS_QUERY: &str = "demo_success_ratio{app=\"{{args.name}}\"}";

fn analysis_rollout() -> String {
    let analysis = "\n        - analysis: {templates: [{templateName: success}]}";
    let mut yaml = rollout_yaml(analysis);
    yaml.push_str(&format!(
        "  analysisTemplates:
    - name: success
      metrics:
        - name: success-rate
          interval: 1s
          count: 2
          successCondition: result[0] >= 0.95
          provider:
            prometheus: {{query: '{SUCCESS_QUERY}'}}
"
    ));
    yaml
}

#[tokio::test]
async fn a_failing_analysis_rolls_back_and_the_primary_keeps_the_old_image() {
    let ratio = Arc::new(Mutex::new(0.5));
    let prometheus = Prometheus::start(start_exporter(Arc::clone(&ratio)));
    prometheus.wait_for("demo_success_ratio").await;
    let world = start_world(
        "ro-fail",
        &analysis_rollout(),
        &["--prometheus-address", &prometheus.address],
    )
    .await;
    let first = initialized(&world).await;

    let revision = world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:2")))]);
    world.ready_at("app", &revision).await;
    let rollouts: Api<RolloutObject> = world.ns.api();
    let status = rollout_in(
        &rollouts,
        gitops_rollout::Phase::RolledBack,
        "rolled back",
        |_| true,
    )
    .await;
    assert_eq!(
        status.rollout.stable_revision.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(status.rollout.canary_weight, 0);
    assert_eq!(status.rollout.failed_checks, 1, "threshold 1 (the default)");
    let last = status.last_analysis.clone().unwrap();
    assert_eq!(last.result, gitops_rollout::RunResult::Failed);
    assert_eq!(last.metrics[0].last_value, [0.5]);
    let deployments: Api<Deployment> = world.ns.api();
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:1"
    );
    eventually("the canary scaled to zero", LONG, || async {
        let target = deployments.get("web").await?;
        Ok((target.spec.and_then(|s| s.replicas) == Some(0)).then_some(()))
    })
    .await
    .unwrap();
    let split = traffic_splits(world.name(), &world.ns.client())
        .get("web")
        .await
        .unwrap();
    assert_eq!(split.data["spec"]["backends"][1]["weight"], 0);
    let events: Api<k8s_openapi::api::events::v1::Event> = world.ns.api();
    eventually("a RolledBack warning", LONG, || async {
        let list = events.list(&Default::default()).await?;
        Ok(list
            .items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("RolledBack")
                    && e.type_.as_deref() == Some("Warning")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("web")
            })
            .then_some(()))
    })
    .await
    .unwrap();
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "RolledBack")
    );
}

#[tokio::test]
async fn a_new_revision_mid_rollout_restarts_from_step_0_and_abort_returns_all_traffic() {
    let world = start_world("ro-restart", &paused_rollout_yaml(), &[]).await;
    let first = initialized(&world).await;
    let weights = record_weights(traffic_splits(world.name(), &world.ns.client()));
    let rollouts: Api<RolloutObject> = world.ns.api();
    world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:2")))]);
    let second = paused_at_20(&rollouts, &first).await;

    world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:3")))]);
    let third = paused_at_20(&rollouts, &second).await;
    assert_ne!(third, first);
    // Back to stable when the new revision arrived, then step 0 again.
    let expected = [(100, 0), (80, 20), (100, 0), (80, 20)];
    eventually("the stored weights", LONG, || async {
        Ok((*weights.lock().unwrap() == expected).then_some(()))
    })
    .await
    .unwrap();

    give(&rollouts, gitops_rollout::Command::Abort).await;
    let status = rollout_in(
        &rollouts,
        gitops_rollout::Phase::Degraded,
        "aborted",
        |_| true,
    )
    .await;
    assert_eq!(status.rollout.canary_weight, 0);
    assert_eq!(
        status.rollout.stable_revision.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        status.rollout.canary_revision.as_deref(),
        Some(third.as_str())
    );
    let deployments: Api<Deployment> = world.ns.api();
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:1"
    );
    eventually(
        "the TrafficSplit back at weight 0 and the canary at zero",
        LONG,
        || async {
            let target = deployments.get("web").await?;
            let zero = target.spec.and_then(|s| s.replicas) == Some(0);
            Ok((zero && weights.lock().unwrap().last() == Some(&(100, 0))).then_some(()))
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_operator_killed_mid_rollout_resumes_at_the_same_step_and_promote_finishes() {
    let mut world = start_world("ro-kill", &paused_rollout_yaml(), &[]).await;
    let first = initialized(&world).await;
    let weights = record_weights(traffic_splits(world.name(), &world.ns.client()));
    let rollouts: Api<RolloutObject> = world.ns.api();
    world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:2")))]);
    let second = paused_at_20(&rollouts, &first).await;

    // SIGKILL (Child::kill), then a new process: it takes the Lease once the old one expires.
    world.operator.as_mut().unwrap().kill();
    world.operator = Some(Operator::start(world.name(), "gitops-operator"));
    give(&rollouts, gitops_rollout::Command::Promote).await;
    let status = rollout_in(&rollouts, gitops_rollout::Phase::Healthy, "promoted", |s| {
        s.rollout.stable_revision.as_deref() == Some(second.as_str())
    })
    .await;
    assert!(
        status
            .last_handled_command
            .as_deref()
            .is_some_and(|c| c.starts_with("promote@"))
    );
    let deployments: Api<Deployment> = world.ns.api();
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:2"
    );
    eventually("the TrafficSplit back at weight 0", LONG, || async {
        Ok((weights.lock().unwrap().last() == Some(&(100, 0))).then_some(()))
    })
    .await
    .unwrap();
    // The restarted operator went on from step 1: no return to 0 % before 60 %.
    assert_eq!(
        weights.lock().unwrap().clone(),
        [(100, 0), (80, 20), (40, 60), (100, 0)]
    );
}

/// A loopback gate: answers 200 when `open`, 403 otherwise; counts the POSTs it got.
fn start_gate(open: Arc<std::sync::atomic::AtomicBool>, calls: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let mut length = 0;
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let status = if open.load(std::sync::atomic::Ordering::SeqCst) {
                "200 OK"
            } else {
                "403 Forbidden"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    port
}

#[tokio::test]
async fn a_confirm_promotion_webhook_holds_the_promotion_until_it_says_yes() {
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let port = start_gate(Arc::clone(&open), Arc::clone(&calls));
    let mut rollout =
        rollout_with_steps("        - setWeight: 20\n        - pause: {duration: 1s}\n");
    rollout.push_str(&format!(
        "  webhooks:\n    - {{name: gate, type: confirm-promotion, url: 'http://127.0.0.1:{port}/'}}\n"
    ));
    let world = start_world("ro-gate", &rollout, &[]).await;
    let first = initialized(&world).await;
    world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:2")))]);
    let rollouts: Api<RolloutObject> = world.ns.api();
    eventually("the promotion held by the gate", LONG, || async {
        let status = rollouts.get("web").await?.status.unwrap_or_default();
        let held = status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.reason == "WaitingForPromotionConfirmation");
        Ok((held && calls.load(std::sync::atomic::Ordering::SeqCst) >= 2).then_some(()))
    })
    .await
    .unwrap();
    let deployments: Api<Deployment> = world.ns.api();
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:1"
    );
    let status = rollouts.get("web").await.unwrap().status.unwrap();
    assert_eq!(status.rollout.canary_weight, 20, "still at the last step");

    open.store(true, std::sync::atomic::Ordering::SeqCst);
    rollout_in(&rollouts, gitops_rollout::Phase::Healthy, "promoted", |s| {
        s.rollout
            .stable_revision
            .as_deref()
            .is_some_and(|r| r != first)
    })
    .await;
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:2"
    );
}
