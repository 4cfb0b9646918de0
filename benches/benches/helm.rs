//! Rendering the largest charts of the shared corpus (bitnami redis with its common library,
//! bitnami nginx, cert-manager) with the native Helm engine. Skipped when `../shared/corpus` is
//! absent.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stderr)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use gitops_render::helm::{HelmOptions, render_chart};

fn bench(c: &mut Criterion) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let charts = [
        ("bitnami_redis", corpus.join("bitnami-charts/bitnami/redis")),
        // genCA in its default values: one RSA-2048 key generation per render.
        ("bitnami_nginx", corpus.join("bitnami-charts/bitnami/nginx")),
        (
            "cert_manager",
            corpus.join("cert-manager/deploy/charts/cert-manager"),
        ),
    ];
    let mut group = c.benchmark_group("helm_render");
    for (name, path) in charts {
        if !path.is_dir() {
            eprintln!("notice: {} absent; bench {name} skipped", path.display());
            continue;
        }
        let mut opts = HelmOptions::default();
        opts.release_name = "release".to_owned();
        group.bench_function(name, |b| {
            b.iter(|| render_chart(black_box(&path), &opts).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
