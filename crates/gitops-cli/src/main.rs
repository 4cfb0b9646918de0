//! `gitops`: build, plan, apply and roll out Kubernetes state kept in Git.
//!
//! This binary only parses arguments, wires the library crates together and prints; everything
//! else lives in `gitops-core`, `gitops-render` and `gitops-rollout`.

mod cli;
mod commands;
mod logging;
mod printer;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::commands::ExitStatus;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.global);
    // One TLS crypto provider for the whole process; kube and any HTTP client share it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let printer = std::sync::Arc::new(printer::Printer::new(&cli.global));
    match commands::run(cli, &printer) {
        Ok(status) => status.into(),
        Err(err) => {
            printer.error(&err);
            ExitStatus::Failure.into()
        }
    }
}
