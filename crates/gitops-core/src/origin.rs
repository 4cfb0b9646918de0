//! Where an object came from, so that every message can point at a file and line.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::object::Object;

/// The file, document and line an object was read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    /// The file, as the user named it (relative paths stay relative); `None` for generated objects
    /// and standard input.
    pub file: Option<Arc<Path>>,
    /// Index of the YAML document in the file, from 0.
    pub document: usize,
    /// Line on which the object starts, from 1; 0 when unknown.
    pub line: usize,
}

impl Origin {
    /// An origin in `file` at `line` of document `document`.
    #[must_use]
    pub fn new(file: Option<Arc<Path>>, document: usize, line: usize) -> Self {
        Self {
            file,
            document,
            line,
        }
    }
}

/// `path/to/file.yaml:12`, or `<input>:12` when there is no file.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}", file.display())?,
            None => f.write_str("<input>")?,
        }
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        Ok(())
    }
}

/// An object together with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedObject {
    /// The object.
    pub object: Object,
    /// Its source.
    pub origin: Origin,
}

impl AsRef<Object> for SourcedObject {
    fn as_ref(&self) -> &Object {
        &self.object
    }
}

impl AsRef<Object> for Object {
    fn as_ref(&self) -> &Object {
        self
    }
}
