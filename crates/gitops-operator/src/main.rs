//! `gitops-operator`: flags, logging, and the operator library's [`gitops_operator::run`].

use std::sync::Arc;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    // A render child (see `gitops_operator::isolate`) renders and exits: no runtime, no flags.
    if let Some(code) = gitops_operator::isolate::child_main_if_requested() {
        return code;
    }
    let args = gitops_operator::Args::parse();
    gitops_operator::init_logging(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gitops_operator::run(
        args,
        Arc::new(gitops_operator::observe::NoopObserver),
    )) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
