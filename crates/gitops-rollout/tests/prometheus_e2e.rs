//! Analysis against a real Prometheus (Debian package `prometheus`) on loopback, scraping a tiny
//! exporter in this test whose error rate and latency the test sets. Behind the `e2e` feature:
//! `scripts/test` turns it on; plain `cargo test` does not run it.
#![cfg(feature = "e2e")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gitops_rollout::RunResult;
use gitops_rollout::analysis::AnalysisRun;
use gitops_rollout::analysis::prometheus::{Prometheus, PrometheusError};

/// One simulated application: errors per 100 requests and a latency.
struct App {
    name: &'static str,
    errors_per_100: u64,
    latency_seconds: f64,
    requests: u64,
    errors: u64,
}

/// Serves `/metrics`; every scrape counts 100 more requests per app.
fn start_exporter(apps: Vec<App>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let apps = Arc::new(Mutex::new(apps));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = serve(stream, &apps);
        }
    });
    port
}

fn serve(mut stream: TcpStream, apps: &Mutex<Vec<App>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut body = String::from(
        "# TYPE demo_requests_total counter\n# TYPE demo_errors_total counter\n# TYPE demo_latency_seconds gauge\n",
    );
    for app in apps.lock().unwrap().iter_mut() {
        app.requests += 100;
        app.errors += app.errors_per_100;
        body.push_str(&format!(
            "demo_requests_total{{app=\"{0}\"}} {1}\ndemo_errors_total{{app=\"{0}\"}} {2}\ndemo_latency_seconds{{app=\"{0}\"}} {3}\n",
            app.name, app.requests, app.errors, app.latency_seconds
        ));
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

struct Server {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(target_port: u16) -> Server {
    let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect(
            "the e2e tests need Prometheus: run scripts/install-deps (Debian package prometheus)",
        );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Server {
        child,
        address: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

/// Waits until Prometheus answers and has enough samples for a 5s rate.
fn wait_for_data(prom: &Prometheus) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match prom.query(
            None,
            "sum(rate(demo_requests_total{app=\"good\"}[5s]))",
            None,
        ) {
            Ok(v) if v.first().is_some_and(|x| *x > 0.0) => return,
            _ if Instant::now() > deadline => panic!("Prometheus had no demo data after 60s"),
            _ => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

const ROLLOUT: &str = r#"
apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata: {name: demo, namespace: test}
spec:
  targetRef: {name: demo}
  strategy:
    canary:
      steps:
        - analysis:
            templates: [{templateName: errors}, {templateName: latency}]
  analysisTemplates:
    - name: errors
      metrics:
        - name: error-ratio
          interval: 1s
          count: 3
          successCondition: result[0] <= 0.05
          provider:
            prometheus:
              query: sum(rate(demo_errors_total{app="{{args.app}}"}[5s])) / sum(rate(demo_requests_total{app="{{args.app}}"}[5s]))
    - name: latency
      metrics:
        - name: latency
          interval: 1s
          count: 3
          thresholdRange: {max: 0.5}
          provider:
            prometheus:
              query: max(demo_latency_seconds{app="{{args.app}}"})
"#;

/// Runs the analysis for `app` in real time until it is decided.
fn analyse(prom: &Prometheus, app: &str) -> (RunResult, AnalysisRun) {
    let rollout = common::parse(ROLLOUT);
    let args = BTreeMap::from([("app".to_owned(), app.to_owned())]);
    let templates = ["errors".to_owned(), "latency".to_owned()];
    let mut run = AnalysisRun::new(&rollout, &format!("run-{app}"), &templates, &args, 0).unwrap();
    let start = Instant::now();
    loop {
        let now = start.elapsed().as_secs();
        let result = run.tick(prom, now);
        if result != RunResult::Running {
            return (result, run);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run for {app} undecided after 30s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn analysis_against_a_real_prometheus() {
    let exporter = start_exporter(vec![
        App {
            name: "good",
            errors_per_100: 1,
            latency_seconds: 0.1,
            requests: 0,
            errors: 0,
        },
        App {
            name: "bad",
            errors_per_100: 30,
            latency_seconds: 0.1,
            requests: 0,
            errors: 0,
        },
        App {
            name: "slow",
            errors_per_100: 0,
            latency_seconds: 2.0,
            requests: 0,
            errors: 0,
        },
    ]);
    let server = start_prometheus(exporter);
    let prom = Prometheus::new(server.address.clone());
    wait_for_data(&prom);

    // The error ratio Prometheus computes is the one the exporter was told.
    let ratio = prom
        .query(
            None,
            "sum(rate(demo_errors_total{app=\"bad\"}[5s])) / sum(rate(demo_requests_total{app=\"bad\"}[5s]))",
            None,
        )
        .unwrap();
    assert!((ratio[0] - 0.30).abs() < 1e-9, "{ratio:?}");

    let (result, run) = analyse(&prom, "good");
    assert_eq!(result, RunResult::Successful, "{run:#?}");
    assert!(run.metrics.iter().all(|m| m.successful == 3));

    let (result, run) = analyse(&prom, "bad");
    assert_eq!(result, RunResult::Failed, "{run:#?}");
    assert_eq!(run.metrics[0].failed, 1);

    let (result, run) = analyse(&prom, "slow");
    assert_eq!(result, RunResult::Failed, "{run:#?}");
    let latency = run
        .metrics
        .iter()
        .find(|m| m.template == "latency")
        .unwrap();
    assert_eq!(
        latency.measurements[0].message.as_deref(),
        Some("2 is above the maximum 0.5")
    );

    let (result, run) = analyse(&prom, "missing");
    assert_eq!(result, RunResult::Inconclusive, "{run:#?}");
    assert_eq!(
        run.metrics[0].measurements[0].message.as_deref(),
        Some("no data")
    );

    // A bad query is refused by Prometheus with its reason, not retried.
    let err = prom.query(None, "sum(rate(", None).unwrap_err();
    assert!(
        matches!(&err, PrometheusError::Api { status: 400, error_type, .. } if error_type == "bad_data"),
        "{err}"
    );
}
