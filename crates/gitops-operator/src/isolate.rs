//! Renders run in a child process of their own, so that one hostile commit cannot take the
//! operator down for every tenant.
//!
//! A repository chooses what the renderers do: it can make them allocate without bound (an
//! allocation failure aborts a Rust process), recurse past the stack, or run for hours. Inside
//! the operator's process any of these would stop every unit; in a child they stop one render.
//! The child is this same executable started with [`CHILD_ARG`]: it caps its own address space
//! and CPU time ([`RenderLimits`]), renders on a thread with a large stack, and answers on
//! stdout. The parent kills it at the deadline and turns a crash into a message that says which
//! bound was hit, which the unit's Ready condition carries.
//!
//! A program that embeds the operator library must call [`child_main_if_requested`] first thing
//! in `main`, as `gitops-operator` does.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use gitops_core::api::KustomizationSpec;
use gitops_core::{Object, error_chain};
use gitops_render::substitute::VariableSource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The first argument that makes the executable a render child instead of the operator.
pub const CHILD_ARG: &str = "__render-child";

/// The stack of the render thread. The renderers that recurse with the input (kustomize
/// overlays, templates, Jsonnet) run on large stacks of their own with depth limits below them;
/// this thread only needs room for the rest. Reserved stacks count towards the address-space
/// budget.
const RENDER_STACK: usize = 32 << 20;

/// The bounds of one render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderLimits {
    /// Wall-clock time after which the render is stopped (also its CPU-time limit).
    pub timeout: Duration,
    /// Address space the render process may map, stack and allocator reservations included.
    pub memory_bytes: u64,
}

impl Default for RenderLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            memory_bytes: 2 << 30,
        }
    }
}

/// One `substituteFrom` entry with its data (resolved by the parent, which has the client).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Variables {
    kind: String,
    name: String,
    data: BTreeMap<String, String>,
}

impl From<VariableSource> for Variables {
    fn from(v: VariableSource) -> Self {
        Self {
            kind: v.kind,
            name: v.name,
            data: v.data,
        }
    }
}

impl From<Variables> for VariableSource {
    fn from(v: Variables) -> Self {
        VariableSource {
            kind: v.kind,
            name: v.name,
            data: v.data,
        }
    }
}

/// What to render.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "render", rename_all = "camelCase")]
pub(crate) enum Request {
    /// A Kustomization's unit in the artifact at `root`.
    Unit {
        root: PathBuf,
        spec: Box<KustomizationSpec>,
        variables: Vec<Variables>,
    },
    /// A HelmRelease's chart at `chart` (a directory already checked to lie inside `root`).
    Chart {
        root: PathBuf,
        chart: PathBuf,
        values_files: Vec<PathBuf>,
        values: serde_json::Map<String, Value>,
        release: String,
        namespace: String,
    },
}

/// What the child answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Answer {
    /// The unit's objects.
    Objects(Vec<Value>),
    /// The release's objects and its hooks with their events.
    Release {
        objects: Vec<Value>,
        hooks: Vec<(Value, String)>,
    },
    /// The render failed with this message.
    Failed(String),
}

/// Renders `request` in a child process within `limits`.
///
/// # Errors
/// The render's own error, or which bound the child hit (time, memory, stack) or how it died.
pub(crate) async fn render(request: &Request, limits: RenderLimits) -> Result<Answer, String> {
    // The running image itself: /proc/self/exe still opens it after the file on disk was
    // replaced (an upgrade, a rebuild), where the path current_exe() names would start another.
    let exe = match std::path::Path::new("/proc/self/exe") {
        proc if proc.exists() => proc.to_owned(),
        _ => std::env::current_exe()
            .map_err(|e| format!("cannot find the operator's executable to render with: {e}"))?,
    };
    let input =
        serde_json::to_vec(request).map_err(|e| format!("cannot encode the render: {e}"))?;
    let mut child = tokio::process::Command::new(exe)
        .arg(CHILD_ARG)
        .arg(limits.timeout.as_secs().max(1).to_string())
        .arg(limits.memory_bytes.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the render process: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt as _;
        stdin
            .write_all(&input)
            .await
            .map_err(|e| format!("cannot hand the render to its process: {e}"))?;
    }
    // Dropping the future on timeout drops the child, which kills it (kill_on_drop).
    let output = match tokio::time::timeout(limits.timeout, child.wait_with_output()).await {
        Ok(output) => output.map_err(|e| format!("the render process failed: {e}"))?,
        Err(_) => {
            return Err(format!(
                "the render took longer than its {}s limit and was stopped",
                limits.timeout.as_secs()
            ));
        }
    };
    if output.status.success() {
        return serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("the render process answered something unreadable: {e}"));
    }
    Err(crash_message(
        &output.status,
        &String::from_utf8_lossy(&output.stderr),
        limits,
    ))
}

/// Why a render child died, in a user's words: which bound it hit, when that can be told.
fn crash_message(status: &std::process::ExitStatus, stderr: &str, limits: RenderLimits) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    let mib = limits.memory_bytes >> 20;
    if stderr.contains("memory allocation of") || stderr.contains("capacity overflow") {
        return format!("the render needed more memory than its {mib} MiB budget and was stopped");
    }
    if stderr.contains("has overflowed its stack") {
        return "the render recursed too deeply (its stack overflowed) and was stopped".to_owned();
    }
    // SIGXCPU: the CPU-time limit.
    if status.signal() == Some(24) {
        return format!(
            "the render used more than its {}s of CPU time and was stopped",
            limits.timeout.as_secs()
        );
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    format!(
        "the render process died ({status}){}",
        if last.is_empty() {
            String::new()
        } else {
            format!(": {last}")
        }
    )
}

/// When the process was started as a render child, renders and returns its exit code; `None`
/// for a normal start.
#[must_use]
pub fn child_main_if_requested() -> Option<ExitCode> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some(CHILD_ARG) {
        return None;
    }
    let timeout: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let memory: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2 << 30);
    Some(child_main(timeout, memory))
}

fn child_main(timeout_secs: u64, memory_bytes: u64) -> ExitCode {
    // The bounds first, before anything from the repository is touched. One second over the
    // wall-clock deadline: the parent's deadline is the one users see.
    let limited =
        rlimit::setrlimit(rlimit::Resource::AS, memory_bytes, memory_bytes).and_then(|()| {
            rlimit::setrlimit(rlimit::Resource::CPU, timeout_secs + 1, timeout_secs + 2)
        });
    let answer = match limited {
        Err(e) => Answer::Failed(format!("cannot bound the render process: {e}")),
        Ok(()) => {
            let mut input = Vec::new();
            match std::io::stdin().read_to_end(&mut input) {
                Err(e) => Answer::Failed(format!("cannot read the render request: {e}")),
                Ok(_) => match serde_json::from_slice::<Request>(&input) {
                    Err(e) => Answer::Failed(format!("unreadable render request: {e}")),
                    Ok(request) => on_large_stack(request),
                },
            }
        }
    };
    let Ok(text) = serde_json::to_vec(&answer) else {
        return ExitCode::FAILURE;
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&text)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn on_large_stack(request: Request) -> Answer {
    let thread = std::thread::Builder::new()
        .name("render".to_owned())
        .stack_size(RENDER_STACK)
        .spawn(move || execute(request));
    match thread {
        Err(e) => Answer::Failed(format!("cannot start the render thread: {e}")),
        Ok(handle) => handle
            .join()
            .unwrap_or_else(|_| Answer::Failed("the renderer panicked".to_owned())),
    }
}

/// Renders `request` here, in the child.
fn execute(request: Request) -> Answer {
    match request {
        Request::Unit {
            root,
            spec,
            variables,
        } => {
            let spec = gitops_render::unit::UnitSpec::from_flux(
                &spec,
                variables.into_iter().map(VariableSource::from).collect(),
            );
            match gitops_render::unit::render(
                &root,
                &spec,
                &gitops_render::RenderOptions::default(),
            ) {
                Ok(rendered) => Answer::Objects(
                    rendered
                        .objects
                        .into_iter()
                        .map(|o| o.object.into_value())
                        .collect(),
                ),
                Err(e) => {
                    Answer::Failed(error_chain(&e).replace(&format!("{}/", root.display()), ""))
                }
            }
        }
        Request::Chart {
            root,
            chart,
            values_files,
            values,
            release,
            namespace,
        } => match crate::controller::render_chart_here(
            &root,
            &chart,
            values_files,
            values,
            release,
            namespace,
        ) {
            Ok((objects, hooks)) => Answer::Release {
                objects: objects.into_iter().map(Object::into_value).collect(),
                hooks,
            },
            Err(message) => Answer::Failed(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;

    use super::*;

    fn limits() -> RenderLimits {
        RenderLimits {
            timeout: Duration::from_secs(30),
            memory_bytes: 1 << 30,
        }
    }

    #[test]
    fn a_crashed_render_says_which_bound_it_hit() {
        let aborted = std::process::ExitStatus::from_raw(6);
        assert_eq!(
            crash_message(
                &aborted,
                "memory allocation of 1099511627811 bytes failed\n",
                limits()
            ),
            "the render needed more memory than its 1024 MiB budget and was stopped"
        );
        assert!(
            crash_message(
                &aborted,
                "thread 'render' has overflowed its stack\nfatal runtime error: stack overflow",
                limits()
            )
            .contains("stack overflowed")
        );
        let xcpu = std::process::ExitStatus::from_raw(24);
        assert!(crash_message(&xcpu, "", limits()).contains("30s of CPU time"));
        let other = std::process::ExitStatus::from_raw(9);
        assert!(crash_message(&other, "last words\n\n", limits()).ends_with(": last words"));
    }
}
