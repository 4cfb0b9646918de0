//! The jrsonnet glue: one evaluator state per program, imports resolved as go-jsonnet resolves
//! them, ext vars and TLAs bound, the result manifested as JSON.
//!
//! jrsonnet values live in thread-local, reference-counted state and are not `Send`; everything
//! here runs on the calling thread and returns plain `serde_json` data. Async callers wrap the
//! call in `tokio::task::spawn_blocking`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::function::CallLocation;
use jrsonnet_evaluator::manifest::JsonFormat;
use jrsonnet_evaluator::tla::TlaArg;
use jrsonnet_evaluator::trace::PathResolver;
use jrsonnet_evaluator::{AsPathLike, IStr, ImportResolver, SourcePath, State};
use jrsonnet_gcmodule::Acyclic;
use jrsonnet_ir::{SourceFifo, SourceFile};
use serde_json::Value;

use super::error::{EvaluationError, JsonnetError, from_jrsonnet};
use super::{ExtValue, JsonnetOptions};

/// go-jsonnet's default `--max-stack`.
const MAX_STACK: usize = 500;

/// Native stack of the evaluation thread. jrsonnet grows its stack on the heap as it recurses,
/// but checks only every so often; a large first stack keeps deep programs (and debug builds,
/// whose frames are bigger) from overflowing between checks. Only touched pages are committed.
const THREAD_STACK: usize = 512 << 20;

/// What to evaluate.
pub(super) enum Program<'a> {
    /// A file; its imports resolve relative to its directory.
    File(&'a Path),
    /// Code that is not in a file (`jsonnet -e`); its imports resolve relative to `dir`.
    Snippet {
        name: &'a str,
        code: &'a str,
        dir: &'a Path,
    },
}

impl Program<'_> {
    fn name(&self) -> PathBuf {
        match self {
            Self::File(file) => file.to_path_buf(),
            Self::Snippet { name, .. } => PathBuf::from(name),
        }
    }

    fn default_dir(&self) -> PathBuf {
        match self {
            Self::File(file) => file.parent().map(Path::to_path_buf).unwrap_or_default(),
            Self::Snippet { dir, .. } => dir.to_path_buf(),
        }
    }
}

/// Evaluates `program` with `options` and returns its output as JSON, on a thread of its own
/// (with a large stack; a panic of the evaluator becomes an error instead of unwinding into the
/// caller).
pub(super) fn evaluate(
    program: &Program<'_>,
    options: &JsonnetOptions,
) -> Result<Value, JsonnetError> {
    let crashed = |message: String| {
        JsonnetError::from(EvaluationError {
            program: program.name(),
            message,
            location: None,
            trace: Vec::new(),
        })
    };
    crate::stack::run_with_stack("jsonnet", THREAD_STACK, || evaluate_here(program, options))
        .unwrap_or_else(|message| Err(crashed(message)))
}

fn evaluate_here(program: &Program<'_>, options: &JsonnetOptions) -> Result<Value, JsonnetError> {
    if options
        .library_paths
        .iter()
        .any(|p| p.as_os_str().is_empty())
    {
        return Err(JsonnetError::EmptyLibraryPath);
    }
    if let Program::File(file) = program
        && let Err(source) = std::fs::metadata(file)
    {
        return Err(JsonnetError::Read {
            path: file.to_path_buf(),
            source,
        });
    }
    let name = program.name();
    let fail = |e: &jrsonnet_evaluator::Error| JsonnetError::from(from_jrsonnet(&name, e));

    let context = jrsonnet_stdlib::ContextInitializer::new(PathResolver::Absolute);
    context.settings_mut().trace_printer = Rc::new(LogTrace);
    for (key, value) in &options.ext_vars {
        match value {
            ExtValue::Str(s) => context.add_ext_str(key.as_str().into(), s.as_str().into()),
            ExtValue::Code(code) => context.add_ext_code(key, code).map_err(|e| fail(&e))?,
        }
    }
    let mut builder = State::builder();
    builder
        .import_resolver(Resolver {
            default_dir: program.default_dir(),
            library_paths: options.library_paths.iter().rev().cloned().collect(),
            confinement: options.boundary.as_ref().map(|root| {
                let mut allowed = vec![root.clone()];
                allowed.extend(
                    options
                        .library_paths
                        .iter()
                        .filter_map(|p| gitops_core::confine::Boundary::new(p).ok()),
                );
                allowed
            }),
        })
        .context_initializer(context);
    let state = builder.build();
    let Some(_entered) = state.try_enter() else {
        return Err(JsonnetError::from(EvaluationError {
            program: name,
            message: "a Jsonnet evaluation is already running on this thread".to_owned(),
            location: None,
            trace: Vec::new(),
        }));
    };
    let _depth = jrsonnet_evaluator::stack::limit_stack_depth(MAX_STACK);

    let value = match program {
        Program::File(file) => {
            state.import_resolved(SourcePath::new(SourceFile::new(file.to_path_buf())))
        }
        Program::Snippet { name, code, .. } => state.evaluate_snippet(*name, *code),
    }
    .map_err(|e| fail(&e))?;
    // jrsonnet's API takes its interned strings as keys; they hash by content and never change.
    #[allow(clippy::mutable_key_type)]
    let tlas: HashMap<IStr, TlaArg> = options
        .tlas
        .iter()
        .map(|(key, value)| {
            let arg = match value {
                ExtValue::Str(s) => TlaArg::String(s.as_str().into()),
                ExtValue::Code(code) => TlaArg::InlineCode(code.clone()),
            };
            (IStr::from(key.as_str()), arg)
        })
        .collect();
    let value = jrsonnet_evaluator::apply_tla(&tlas, value).map_err(|e| fail(&e))?;
    if super::limits::output_too_large(&value) {
        return Err(JsonnetError::from(EvaluationError {
            program: name,
            message: format!(
                "the output is larger than {} bytes",
                super::limits::MAX_OUTPUT_BYTES
            ),
            location: None,
            trace: Vec::new(),
        }));
    }
    let json = value.manifest(JsonFormat::minify()).map_err(|e| fail(&e))?;
    serde_json::from_str(&json).map_err(|e| {
        JsonnetError::from(EvaluationError {
            program: program.name(),
            message: format!("the output is not valid JSON: {e}"),
            location: None,
            trace: Vec::new(),
        })
    })
}

/// `std.trace` goes to the log (target `jsonnet`), not to stderr.
#[derive(Acyclic)]
struct LogTrace;

impl jrsonnet_stdlib::TracePrinter for LogTrace {
    fn print_trace(&self, location: CallLocation<'_>, value: IStr) {
        let at = location.0.map(|span| {
            let [start] = span.0.map_source_locations(&[span.1]);
            format!("{}:{}", span.0.source_path(), start.line)
        });
        tracing::info!(target: "jsonnet", at = at.as_deref().unwrap_or("?"), "TRACE: {value}");
    }
}

/// Resolves imports as go-jsonnet does: relative to the importing file's directory first, then
/// in the library paths, the right-most `-J` first. Paths are kept as reached (not
/// canonicalised), so messages and `std.thisFile` show them as the user wrote them.
#[derive(Acyclic)]
struct Resolver {
    /// Where code that is not in a file (snippets, ext code, TLA code) imports from.
    default_dir: PathBuf,
    /// Library paths, in search order.
    library_paths: Vec<PathBuf>,
    /// The directories files may be read from (the source's root and the library paths), or
    /// `None` for anywhere.
    confinement: Option<Vec<gitops_core::confine::Boundary>>,
}

impl Resolver {
    /// Checks that `path` lands inside one of the allowed directories once every link in it is
    /// followed.
    fn check_allowed(&self, path: &Path) -> jrsonnet_evaluator::Result<()> {
        let Some(allowed) = &self.confinement else {
            return Ok(());
        };
        let real = std::fs::canonicalize(path)
            .map_err(|e| ErrorKind::ImportIo(format!("{}: {e}", path.display())))?;
        if allowed.iter().any(|b| real.starts_with(b.root())) {
            return Ok(());
        }
        let roots: Vec<String> = allowed
            .iter()
            .map(|b| format!("`{}`", b.root().display()))
            .collect();
        Err(ErrorKind::ImportIo(format!(
            "`{}` resolves to `{}`, outside {}: imports are only read from inside the source \
             and the library paths (`--load-restrictor none` lifts this)",
            path.display(),
            real.display(),
            roots.join(", ")
        ))
        .into())
    }
}

impl ImportResolver for Resolver {
    fn resolve_from(
        &self,
        from: &SourcePath,
        path: &dyn AsPathLike,
    ) -> jrsonnet_evaluator::Result<SourcePath> {
        let wanted = path.as_path();
        let relative: &Path = wanted.as_ref();
        let dir = match from.path() {
            Some(file) => file.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => self.default_dir.clone(),
        };
        let candidates = std::iter::once(dir).chain(self.library_paths.iter().cloned());
        for dir in candidates {
            let candidate = dir.join(relative);
            if candidate.is_file() {
                self.check_allowed(&candidate)?;
                return Ok(SourcePath::new(SourceFile::new(candidate)));
            }
        }
        Err(ErrorKind::ImportFileNotFound(from.clone(), wanted.to_owned()).into())
    }

    fn load_file_contents(&self, resolved: &SourcePath) -> jrsonnet_evaluator::Result<Vec<u8>> {
        // Ext code and TLA code come as in-memory "files".
        if let Some(SourceFifo(_, code)) = resolved.downcast_ref::<SourceFifo>() {
            return Ok(code.to_vec());
        }
        let Some(path) = resolved.path() else {
            return Err(ErrorKind::ResolvedFileNotFound(resolved.clone()).into());
        };
        self.check_allowed(path)?;
        gitops_core::confine::read_file(path).map_err(|e| ErrorKind::ImportIo(e.to_string()).into())
    }
}
