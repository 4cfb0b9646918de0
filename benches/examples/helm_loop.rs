//! Renders a chart N times in one process with `gitops_render::helm::render_chart` (load, values,
//! render; no sorting or printing) and prints one line of figures per render:
//! `mean_ms min_ms cpu_ms peak_mib` — mean and best wall time, user+sys CPU time per render (from
//! /proc/self/stat, 10 ms ticks over the whole loop) and the process's peak RSS.
//! `scripts/bench-helm` runs it next to the same loop over Helm v4 in one Python process, so both
//! sides are timed per render, warm, without process start-up.
//!
//!   cargo run --release -p gitops-benches --example helm_loop -- CHART_DIR [N]
#![allow(missing_docs, clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use gitops_render::helm::{HelmOptions, render_chart};

/// User+sys CPU time of this process in clock ticks (fields 14 and 15 of /proc/self/stat).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Peak resident set size in MiB (VmHWM of /proc/self/status).
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(chart) = args.next().map(PathBuf::from) else {
        eprintln!("usage: helm_loop CHART_DIR [N]");
        return ExitCode::from(2);
    };
    let n: u32 = match args.next().map(|a| a.parse()) {
        None => 20,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("helm_loop: N must be a positive integer");
            return ExitCode::from(2);
        }
    };
    let mut options = HelmOptions::default();
    options.release_name = "release".to_owned();
    options.namespace = "default".to_owned();
    // One render outside the measurement: file cache, lazy statics (Sprig's function map).
    if let Err(e) = render_chart(&chart, &options) {
        eprintln!("helm_loop: {}: {e}", chart.display());
        return ExitCode::FAILURE;
    }
    let cpu_start = cpu_ticks().unwrap_or(0);
    let (mut total, mut best) = (0.0f64, f64::MAX);
    for _ in 0..n {
        let start = Instant::now();
        if let Err(e) = render_chart(&chart, &options) {
            eprintln!("helm_loop: {}: {e}", chart.display());
            return ExitCode::FAILURE;
        }
        let t = start.elapsed().as_secs_f64();
        total += t;
        best = best.min(t);
    }
    let ticks = cpu_ticks().unwrap_or(0).saturating_sub(cpu_start);
    // Clock ticks are 1/100 s on Linux (sysconf(_SC_CLK_TCK) = 100).
    let cpu_ms = ticks as f64 * 10.0 / f64::from(n);
    println!(
        "{:.2} {:.2} {:.2} {:.1}",
        total * 1000.0 / f64::from(n),
        best * 1000.0,
        cpu_ms,
        peak_mib().unwrap_or(0.0)
    );
    ExitCode::SUCCESS
}
