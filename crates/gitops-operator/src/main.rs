//! `gitops-operator`: flags, logging, and the operator library's [`gitops_operator::run`].

use std::sync::Arc;

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = gitops_operator::Args::parse();
    gitops_operator::init_logging(args.log_format);
    match gitops_operator::run(args, Arc::new(gitops_operator::observe::NoopObserver)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
