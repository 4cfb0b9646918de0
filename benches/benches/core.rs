//! YAML read/write and apply ordering on a generated set of Deployments and Services.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gitops_core::yaml::{self, Schema};
use gitops_core::{manifest, order};

fn workload(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ns-{}\n  labels:\n    app: app-{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app-{i}\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n    spec:\n      containers:\n      - name: main\n        image: registry.example/app:{i}.0.1\n        ports:\n        - containerPort: 8080\n        env:\n        - name: MODE\n          value: \"on\"\n        resources:\n          limits: {{cpu: 500m, memory: 128Mi}}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: ns-{}\nspec:\n  selector:\n    app: app-{i}\n  ports:\n  - port: 80\n    targetPort: 8080\n",
            i % 7,
            i % 7
        ));
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = workload(1000);
    let objects = manifest::parse_yaml(&text, None, Schema::Yaml12).unwrap();
    let values: Vec<_> = objects.iter().map(|o| o.object.to_value()).collect();

    let mut group = c.benchmark_group("core_2000_objects");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("parse_manifests", |b| {
        b.iter(|| manifest::parse_yaml(black_box(&text), None, Schema::Yaml12).unwrap());
    });
    group.bench_function("write_yaml", |b| {
        b.iter(|| yaml::to_string_multi(black_box(&values)));
    });
    group.bench_function("sort_for_apply", |b| {
        b.iter_batched(
            || objects.clone(),
            |mut objs| order::sort_for_apply(&mut objs),
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
