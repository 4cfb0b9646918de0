//! Jsonnet evaluation of a program emitting 10,000 objects, and post-build substitution on 1,000
//! objects. `scripts/bench-jsonnet` times go-jsonnet on the same program for comparison.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gitops_core::manifest;
use gitops_core::yaml::Schema;
use gitops_render::jsonnet::{self, JsonnetOptions};
use gitops_render::substitute::{self, PostBuild};

/// The program `scripts/bench-jsonnet` also gives to go-jsonnet.
const PROGRAM: &str = include_str!("jsonnet-10k.jsonnet");

fn bench_jsonnet(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objects.jsonnet");
    std::fs::write(&file, PROGRAM).unwrap();
    let options = JsonnetOptions::default();
    assert_eq!(jsonnet::render_file(&file, &options).unwrap().len(), 10_000);

    let mut group = c.benchmark_group("jsonnet_10000_objects");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("evaluate", |b| {
        b.iter(|| jsonnet::evaluate_file(black_box(Path::new(&file)), &options).unwrap());
    });
    group.bench_function("render_objects", |b| {
        b.iter(|| jsonnet::render_file(black_box(Path::new(&file)), &options).unwrap());
    });
    group.finish();
}

fn substitution_workload(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ${{namespace}}\n  labels:\n    env: ${{cluster_env:=dev}}\n    region: \"${{cluster_region}}\"\nspec:\n  replicas: ${{replicas:=2}}\n  template:\n    spec:\n      containers:\n      - name: main\n        image: registry.example/app:${{version}}\n        args: [\"--zone=${{cluster_region:0:2}}\", \"--name=${{app_name^^}}-{i}\", \"$${{HOME}}\"]\n        env:\n        - name: MODE\n          value: \"on\"\n"
        ));
    }
    text
}

fn bench_substitution(c: &mut Criterion) {
    let objects = manifest::parse_yaml(&substitution_workload(1000), None, Schema::Yaml12).unwrap();
    let mut post_build = PostBuild::default();
    post_build.substitute = BTreeMap::from(
        [
            ("namespace", "prod"),
            ("cluster_env", "production"),
            ("cluster_region", "eu-central-1"),
            ("version", "1.2.3"),
            ("app_name", "shop"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );

    let mut group = c.benchmark_group("substitute_1000_objects");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("substitute_all", |b| {
        b.iter_batched(
            || objects.clone(),
            |mut objects| substitute::substitute_all(&mut objects, &post_build).unwrap(),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench_jsonnet, bench_substitution);
criterion_main!(benches);
