//! Errors of Jsonnet evaluation, carried out of jrsonnet as plain data: the message, where it was
//! raised (file:line:column) and the Jsonnet stack trace, innermost frame first.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitops_core::ObjectError;
use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::{Source, Span};
use jrsonnet_ir::SourceFifo;

/// Why a Jsonnet program could not be turned into objects.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonnetError {
    /// The program failed to parse or evaluate.
    #[error(transparent)]
    Evaluation(Box<EvaluationError>),
    /// The program evaluated, but its output is not manifests: Argo CD accepts an object, an
    /// array of objects, or a list (`items`) of objects.
    #[error("{}: output{}: expected {expected}, found {found}", .file.display(), pointer_suffix(.pointer))]
    Output {
        /// The program.
        file: Arc<Path>,
        /// JSON pointer of the offending value in the output (`""` for the whole output).
        pointer: String,
        /// What was expected there.
        expected: &'static str,
        /// What was found (a JSON type name).
        found: &'static str,
    },
    /// An object in the output is not a valid Kubernetes object.
    #[error("{}: output{}: {error}", .file.display(), pointer_suffix(.pointer))]
    Object {
        /// The program.
        file: Arc<Path>,
        /// JSON pointer of the offending field in the output.
        pointer: String,
        /// What is wrong.
        error: ObjectError,
    },
    /// The program file cannot be read.
    #[error("cannot read `{}`", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A library path (`-J`) is empty, which go-jsonnet refuses too.
    #[error("a Jsonnet library path (-J) is an empty string")]
    EmptyLibraryPath,
}

fn pointer_suffix(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!(" at {pointer}")
    }
}

/// A position in a Jsonnet source, lines and columns from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file as it was reached (relative paths stay relative), or a name such as `<cmdline>`
    /// or `<extvar:name>` for code that is not in a file.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One frame of a Jsonnet stack trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Where the frame is, when it has a source position.
    pub location: Option<SourceLocation>,
    /// What was being evaluated (`field <foo>`, `function <bar> call`, `import`, ...).
    pub description: String,
}

/// A Jsonnet program that failed to parse or evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationError {
    /// The program that was evaluated (the file, or the snippet's name).
    pub program: PathBuf,
    /// What went wrong, as jrsonnet words it.
    pub message: String,
    /// Where the error was raised: the innermost frame with a position.
    pub location: Option<SourceLocation>,
    /// The stack trace, innermost frame first.
    pub trace: Vec<Frame>,
}

impl fmt::Display for EvaluationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message)?,
            None => write!(f, "{}: {}", self.program.display(), self.message)?,
        }
        if self.trace.is_empty() {
            return Ok(());
        }
        f.write_str("\n  jsonnet stack trace:")?;
        for frame in &self.trace {
            match &frame.location {
                Some(location) => write!(f, "\n    {location}: {}", frame.description)?,
                None => write!(f, "\n    {}", frame.description)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for EvaluationError {}

impl From<EvaluationError> for JsonnetError {
    fn from(error: EvaluationError) -> Self {
        Self::Evaluation(Box::new(error))
    }
}

/// Converts a jrsonnet error (which is neither `Send` nor `'static`-free of the evaluator) into
/// plain data.
pub(super) fn from_jrsonnet(program: &Path, error: &jrsonnet_evaluator::Error) -> EvaluationError {
    let trace: Vec<Frame> = error
        .trace()
        .0
        .iter()
        .map(|frame| Frame {
            location: frame.location.as_ref().map(span_start),
            description: frame.desc.trim().to_owned(),
        })
        .collect();
    let (message, raised_at) = match error.error() {
        ErrorKind::ImportSyntaxError { path, error } => (
            format!("syntax error: {}", error.message),
            Some(offset_location(path, error.location.1)),
        ),
        ErrorKind::StaticAnalysisError(diagnostics) => (
            format!("static error: {}", error.error()),
            diagnostics
                .iter()
                .find_map(|d| d.span.as_ref())
                .map(span_start),
        ),
        other => (other.to_string(), None),
    };
    let location = raised_at.or_else(|| trace.iter().find_map(|f| f.location.clone()));
    EvaluationError {
        program: program.to_owned(),
        message,
        location,
        trace,
    }
}

fn span_start(span: &Span) -> SourceLocation {
    offset_location(&span.0, span.1)
}

fn offset_location(source: &Source, offset: u32) -> SourceLocation {
    let len = u32::try_from(source.code().len()).unwrap_or(u32::MAX);
    let [location] = source.map_source_locations(&[offset.min(len)]);
    SourceLocation {
        file: source_name(source),
        line: location.line,
        column: location.column,
    }
}

fn source_name(source: &Source) -> String {
    let path = source.source_path();
    if let Some(SourceFifo(name, _)) = path.downcast_ref::<SourceFifo>() {
        return name.clone();
    }
    match path.path() {
        Some(file) => file.display().to_string(),
        None => {
            let name = path.to_string();
            name.strip_prefix("virtual:")
                .map_or(name.clone(), str::to_owned)
        }
    }
}
