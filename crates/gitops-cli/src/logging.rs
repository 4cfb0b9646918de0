//! Installs the tracing subscriber: `-v` flags set the default level, `RUST_LOG` overrides it,
//! and everything goes to stderr.

use tracing_subscriber::EnvFilter;

use crate::cli::GlobalArgs;

pub(crate) fn init(global: &GlobalArgs) {
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
