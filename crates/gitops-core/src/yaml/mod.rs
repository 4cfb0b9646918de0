//! YAML in and out. Every byte of YAML the project reads or writes goes through this module, so
//! that scalar resolution, quoting and error positions are the same everywhere.
//!
//! Reading builds [`serde_json::Value`]s directly from the parser's events, keeping the line on
//! which every document starts; [`locate`] finds the line and column of any field afterwards for
//! error messages. Writing produces the block style kustomize and kubectl print.

mod emit;
mod load;
mod resolve;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

/// Which rules turn plain scalars into booleans, numbers and nulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Schema {
    /// YAML 1.2 core schema, as kustomize and kubectl (go-yaml v3) read manifests: only
    /// `true`/`false` are booleans, so `on`, `yes` and `NO` stay strings.
    #[default]
    Yaml12,
    /// YAML 1.1, as Helm reads its rendered output (sigs.k8s.io/yaml): `on`, `yes`, `y`, `off`,
    /// `no`, `n` are booleans, duplicate keys are allowed (the last wins) and plain keys are
    /// converted through their value (`on:` becomes the key `true`).
    Yaml11,
}

/// A line and column, both starting at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One document of a YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's content; `Null` for an empty document.
    pub value: Value,
    /// Index of the document in its stream, from 0, counting empty documents too.
    pub index: usize,
    /// Line on which the document's content starts (the `---` line for an empty document).
    pub line: usize,
}

/// Malformed YAML: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {message}")]
pub struct ParseError {
    /// Where the parser stopped.
    pub position: Position,
    /// What it found wrong, in the parser's words.
    pub message: String,
}

/// Parses a multi-document YAML stream.
///
/// # Errors
/// Returns the first syntax error, duplicate key (YAML 1.2 only), bad tag or alias bomb, with its
/// position.
pub fn parse_documents(text: &str, schema: Schema) -> Result<Vec<Document>, ParseError> {
    load::load(text, schema, None)
}

/// Parses a single YAML document (an empty input gives `Null`).
///
/// # Errors
/// As [`parse_documents`], and when the input holds more than one document.
pub fn parse_value(text: &str, schema: Schema) -> Result<Value, ParseError> {
    let mut docs = parse_documents(text, schema)?;
    if docs.len() > 1 {
        return Err(ParseError {
            position: Position {
                line: docs[1].line,
                column: 1,
            },
            message: "expected a single YAML document, found several".to_owned(),
        });
    }
    Ok(docs.pop().map_or(Value::Null, |d| d.value))
}

/// Finds where the node at `pointer` (a JSON pointer such as `/spec/replicas`) starts in document
/// `index` of `text`. Meant for error messages: it parses the text again.
#[must_use]
pub fn locate(text: &str, schema: Schema, index: usize, pointer: &str) -> Option<Position> {
    let mut positions = load::Positions::default();
    load::load(text, schema, Some(&mut positions)).ok()?;
    positions
        .documents
        .get(index)
        .and_then(|doc: &HashMap<String, Position>| doc.get(pointer).copied())
}

/// Writes one value as a YAML document (no `---`), ending in a newline.
#[must_use]
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    emit::write_document(&mut out, value);
    out
}

/// Writes values as a multi-document stream, separated by `---` lines as kustomize prints them.
#[must_use]
pub fn to_string_multi<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit::write_document(&mut out, value);
    }
    out
}

#[cfg(test)]
mod tests;
