//! Running a render on a thread with a stack of its own.
//!
//! Kustomize overlays, Go templates and Jsonnet programs nest as deeply as their authors make
//! them, and their engines here recurse once per level (as kustomize's, Go's `text/template` and
//! jrsonnet do; Go's stacks grow to 1 GiB). Each engine bounds its depth with a counter and runs
//! on a thread whose stack holds that depth, whatever thread called it: the operator's blocking
//! pool threads have 2 MiB, a test thread has 2 MiB. Only the pages a render touches are
//! committed; the rest is address space.

/// Runs `work` on a new thread named `name` with a stack of `size` bytes and waits for it.
///
/// # Errors
/// The thread could not be started, or `work` panicked: the message says which (a panic does
/// not unwind into the caller).
pub(crate) fn run_with_stack<T: Send>(
    name: &str,
    size: usize,
    work: impl FnOnce() -> T + Send,
) -> Result<T, String> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .stack_size(size)
            .spawn_scoped(scope, work)
            .map_err(|e| format!("cannot start the {name} thread: {e}"))?;
        thread.join().map_err(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!("the {name} thread failed: {why}")
        })
    })
}
