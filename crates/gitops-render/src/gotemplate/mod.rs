//! Go's `text/template`, implemented natively: lexer and parser with line:column positions,
//! an executor faithful to Go's semantics (truthiness, variables, pipelines, `range` over
//! lists, sorted maps and integers, `break`/`continue`, `define`/`template`/`block`, whitespace
//! trimming), Go's builtin functions and `fmt` verbs. Helm's function library plugs in through
//! [`FuncMap`]; a missing map key yields nil (Helm's `missingkey=zero`).
//!
//! ```
//! use gitops_render::gotemplate::{Templates, Value, builtin_funcs};
//! let mut t = Templates::new();
//! t.parse("t", "{{ range $i, $v := . }}{{ $i }}={{ $v }} {{ end }}").unwrap();
//! let data = Value::list(vec![Value::from("a"), Value::from("b")]);
//! assert_eq!(t.execute(&builtin_funcs(), "t", &data).unwrap(), "0=a 1=b ");
//! ```

mod builtins;
mod exec;
pub mod fmt;
mod hash;
mod lex;
mod parse;
mod value;

use std::rc::Rc;

pub use builtins::{
    arity, at_least, go_eq, html_escape, js_escape, query_escape, want_bool, want_int, want_str,
};
pub use exec::{Exec, Func, FuncMap, MAX_DEPTH, NO_WRAP, TreeMap};
pub use hash::{NameHash, NameHasher};
pub use parse::{Names, Source, Tree};
pub use value::{MapRef, Object, Value};

/// A syntax error: the byte offset where it was found and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Byte offset in the text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(crate) fn at(offset: usize, message: impl Into<String>) -> Self {
        ParseError {
            offset,
            message: message.into(),
        }
    }

    /// Formats the error as Go does: `template: NAME:LINE:COL: message`.
    #[must_use]
    pub fn describe(&self, name: &str, text: &str) -> String {
        let src = Source {
            name: name.to_owned(),
            text: text.to_owned(),
        };
        let (line, col) = src.line_col(self.offset);
        format!("template: {name}:{line}:{col}: {}", self.message)
    }
}

/// An execution error, formatted as Go's: `template: FILE:LINE:COL: executing "NAME" at
/// <NODE>: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ExecError {
    /// `file:line:column` of the node (column counted in bytes from 0, as Go does).
    pub location: String,
    /// The template being executed.
    pub template: String,
    /// The node's text.
    pub context: String,
    /// What went wrong.
    pub message: String,
}

impl ExecError {
    pub(crate) fn plain(message: String) -> Self {
        ExecError {
            location: String::new(),
            template: String::new(),
            context: String::new(),
            message,
        }
    }

    fn render(&self) -> String {
        if self.location.is_empty() {
            self.message.clone()
        } else {
            format!(
                "template: {}: executing \"{}\" at <{}>: {}",
                self.location, self.template, self.context, self.message
            )
        }
    }
}

/// Go's builtin template functions.
#[must_use]
pub fn builtin_funcs() -> FuncMap {
    let mut m = FuncMap::default();
    builtins::register(&mut m);
    m
}

/// A set of named templates, as Go's `*template.Template` with its associated templates.
#[derive(Debug, Default, Clone)]
pub struct Templates {
    trees: TreeMap,
}

impl Templates {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `text` as template `name`; templates it defines join the set, replacing earlier
    /// ones of the same name (as later parses do in Go).
    ///
    /// # Errors
    /// The syntax error, formatted with the name, line and column.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), String> {
        let trees = parse_text(name, text).map_err(|e| e.describe(name, text))?;
        self.trees.extend(trees);
        Ok(())
    }

    /// Adds already parsed trees.
    pub fn extend(&mut self, trees: TreeMap) {
        self.trees.extend(trees);
    }

    /// Whether a template of that name exists.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The trees, shareable with an [`Exec`].
    #[must_use]
    pub fn into_shared(self) -> Rc<TreeMap> {
        Rc::new(self.trees)
    }

    /// Executes template `name` with `data`.
    ///
    /// # Errors
    /// Go's execution error.
    pub fn execute(&self, funcs: &FuncMap, name: &str, data: &Value) -> Result<String, ExecError> {
        let mut exec = Exec::new(Rc::new(self.trees.clone()), funcs);
        exec.execute(name, data)
    }
}

/// Parses `text` named `name` into its trees (the main one and those it defines).
///
/// # Errors
/// The first syntax error.
pub fn parse_text(name: &str, text: &str) -> Result<TreeMap, ParseError> {
    parse::parse(name, text, &mut Names::default())
}

/// [`parse_text`] with names shared with other parses through `names` (Helm parses every
/// template of a chart and its subcharts for one render).
///
/// # Errors
/// The first syntax error.
pub fn parse_text_with(name: &str, text: &str, names: &mut Names) -> Result<TreeMap, ParseError> {
    parse::parse(name, text, names)
}

#[cfg(test)]
mod tests;
