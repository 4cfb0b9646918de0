//! Benchmarks of gitops; see `benches/`.
