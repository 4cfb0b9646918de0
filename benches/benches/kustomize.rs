//! The Kustomize engine on the synthetic overlay of issue 4 (Deployments and Services, a
//! configMapGenerator referenced by every Deployment, namespace, namePrefix, labels with
//! selectors, an image override, a JSON 6902 patch on all Deployments and a strategic-merge patch
//! on a regex-selected subset) at 500 and 4,000 objects. `scripts/bench-kustomize` times the same
//! workload end to end against `kubectl kustomize`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use gitops_render::kustomize::{self, Options};

const OVERLAY: &str = r#"resources:
- ../base
namespace: bench
namePrefix: prod-
labels:
- pairs:
    env: prod
  includeSelectors: true
images:
- name: nginx
  newName: registry.example.com/nginx
  newTag: "1.27"
patches:
- target:
    kind: Deployment
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/args
      value: ["--metrics"]
- target:
    kind: Deployment
    name: "app-1[0-9]*"
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: app
            resources:
              limits:
                memory: 256Mi
"#;

fn write_workload(objects: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gitops-bench-kustomize-{}-{objects}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("base")).unwrap();
    std::fs::create_dir_all(dir.join("overlay")).unwrap();
    let mut text = String::new();
    for i in 1..=objects / 2 {
        write!(
            text,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: app-{i}\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.25\n        ports:\n        - containerPort: 8080\n        envFrom:\n        - configMapRef:\n            name: shared-config\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\nspec:\n  selector:\n    app: app-{i}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
        )
        .unwrap();
    }
    std::fs::write(dir.join("base/resources.yaml"), text).unwrap();
    std::fs::write(
        dir.join("base/kustomization.yaml"),
        "resources:\n- resources.yaml\nconfigMapGenerator:\n- name: shared-config\n  literals:\n  - LOG_LEVEL=info\n  - REGION=eu-west-1\n",
    )
    .unwrap();
    std::fs::write(dir.join("overlay/kustomization.yaml"), OVERLAY).unwrap();
    dir
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("kustomize_overlay");
    group.sample_size(10);
    for objects in [500, 4000] {
        let dir = write_workload(objects);
        let overlay: &Path = &dir.join("overlay");
        let built = kustomize::build(overlay, &Options::default()).unwrap();
        assert_eq!(built.len(), objects + 1);
        group.bench_function(format!("{objects}_objects"), |b| {
            b.iter(|| kustomize::build(overlay, &Options::default()).unwrap());
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
