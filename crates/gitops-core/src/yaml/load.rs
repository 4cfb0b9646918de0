//! Builds JSON values from saphyr's event stream, keeping where each document and node starts.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use super::resolve::{parse_bool, parse_float, parse_int, resolve_plain};
use super::{Document, ParseError, Position, Schema};

/// Upper bound on nodes produced by alias expansion, so that a "billion laughs" document fails
/// with an error instead of exhausting memory.
const ALIAS_NODE_BUDGET: usize = 5_000_000;

/// Upper bound on the bytes of scalars and keys produced by alias expansion, so that a large
/// scalar aliased many times fails too (the node budget does not see it): ten times etcd's default
/// `--max-request-bytes` (1.5 MiB), which no Kubernetes object can exceed.
const ALIAS_BYTE_BUDGET: usize = 15 << 20;

/// What the loader records besides values.
#[derive(Default)]
pub(crate) struct Positions {
    /// JSON pointer of every node → where it starts, one map per document.
    pub(crate) documents: Vec<HashMap<String, Position>>,
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        pending_key: Option<(String, Position)>,
        anchor: usize,
        start: Position,
    },
}

enum Entry {
    Pair(String, Value, Position),
    /// `<<: *base` (or a list of them): keys merged in place unless defined explicitly.
    Merge(Value),
}

struct Loader<'a> {
    schema: Schema,
    /// Anchored values with their [`Weight`].
    anchors: HashMap<usize, (Value, Weight)>,
    stack: Vec<Frame>,
    /// What aliases have expanded to so far.
    aliased: Weight,
    record: Option<&'a mut Positions>,
    /// JSON pointer segments of the node being built, only kept when recording positions.
    path: Vec<String>,
}

pub(crate) fn load(
    text: &str,
    schema: Schema,
    record: Option<&mut Positions>,
) -> Result<Vec<Document>, ParseError> {
    let mut loader = Loader {
        schema,
        anchors: HashMap::new(),
        stack: Vec::new(),
        aliased: Weight::default(),
        record,
        path: Vec::new(),
    };
    let mut documents = Vec::new();
    let mut doc_start: Option<Position> = None;
    let mut doc_index = 0usize;
    let mut root: Option<Value> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| ParseError {
            position: Position {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
            message: e.info().to_owned(),
        })?;
        let pos = position(span);
        match event {
            Event::DocumentStart(_) => {
                loader.anchors.clear();
                doc_start = None;
                root = None;
                if let Some(r) = loader.record.as_deref_mut() {
                    r.documents.push(HashMap::new());
                }
            }
            Event::DocumentEnd => {
                let value = root.take().unwrap_or(Value::Null);
                let start = doc_start.unwrap_or(pos);
                documents.push(Document {
                    value,
                    index: doc_index,
                    line: start.line,
                });
                doc_index += 1;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::Alias(id) => {
                doc_start.get_or_insert(pos);
                let Some((value, weight)) = loader.anchors.get(&id) else {
                    return Err(ParseError {
                        position: pos,
                        message: "alias refers to an unknown anchor".to_owned(),
                    });
                };
                loader.aliased.nodes += weight.nodes;
                loader.aliased.bytes += weight.bytes;
                if loader.aliased.nodes > ALIAS_NODE_BUDGET {
                    return Err(ParseError {
                        position: pos,
                        message: format!(
                            "aliases expand to more than {ALIAS_NODE_BUDGET} nodes; refusing to expand further"
                        ),
                    });
                }
                if loader.aliased.bytes > ALIAS_BYTE_BUDGET {
                    return Err(ParseError {
                        position: pos,
                        message: format!(
                            "aliases expand to more than {ALIAS_BYTE_BUDGET} bytes of text; refusing to expand further"
                        ),
                    });
                }
                let value = value.clone();
                loader.push_value(value, pos, &mut root)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                doc_start.get_or_insert(pos);
                let value = loader.scalar(&text, style, tag.as_deref(), pos)?;
                if let Some(Frame::Map {
                    pending_key: pending_key @ None,
                    ..
                }) = loader.stack.last_mut()
                {
                    let key = key_text(&text, style, &value, loader.schema);
                    *pending_key = Some((key, pos));
                    loader.update_path();
                    continue;
                }
                if anchor != 0 {
                    let weight = Weight::of(&value);
                    loader.anchors.insert(anchor, (value.clone(), weight));
                }
                loader.push_value(value, pos, &mut root)?;
            }
            Event::SequenceStart(anchor, _) => {
                doc_start.get_or_insert(pos);
                loader.ensure_not_key(pos)?;
                loader.enter(pos);
                loader.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                });
                loader.update_path();
            }
            Event::MappingStart(anchor, _) => {
                doc_start.get_or_insert(pos);
                loader.ensure_not_key(pos)?;
                loader.enter(pos);
                loader.stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    anchor,
                    start: pos,
                });
                loader.update_path();
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, anchor }) = loader.stack.pop() {
                    let value = Value::Array(items);
                    loader.finish(value, anchor, pos, &mut root)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    entries,
                    anchor,
                    start,
                    ..
                }) = loader.stack.pop()
                {
                    let value = Value::Object(merge_entries(entries, start)?);
                    loader.finish(value, anchor, pos, &mut root)?;
                }
            }
        }
    }
    Ok(documents)
}

impl Loader<'_> {
    /// Records the position of a collection about to be built (its path segment is already set).
    fn enter(&mut self, pos: Position) {
        if let Some(r) = self.record.as_deref_mut() {
            let pointer = pointer_of(&self.path);
            if let Some(doc) = r.documents.last_mut() {
                doc.insert(pointer, pos);
            }
        }
    }

    fn ensure_not_key(&self, pos: Position) -> Result<(), ParseError> {
        if let Some(Frame::Map {
            pending_key: None, ..
        }) = self.stack.last()
        {
            return Err(ParseError {
                position: pos,
                message:
                    "complex mapping keys (a sequence or mapping used as a key) are not supported"
                        .to_owned(),
            });
        }
        Ok(())
    }

    fn finish(
        &mut self,
        value: Value,
        anchor: usize,
        pos: Position,
        root: &mut Option<Value>,
    ) -> Result<(), ParseError> {
        if anchor != 0 {
            let weight = Weight::of(&value);
            self.anchors.insert(anchor, (value.clone(), weight));
        }
        self.push_value(value, pos, root)
    }

    /// Adds a finished node to its parent (or makes it the document root).
    fn push_value(
        &mut self,
        value: Value,
        pos: Position,
        root: &mut Option<Value>,
    ) -> Result<(), ParseError> {
        if self.record.is_some() && !matches!(value, Value::Object(_) | Value::Array(_)) {
            self.enter(pos);
        }
        match self.stack.last_mut() {
            None => *root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => {
                let Some((key, key_pos)) = pending_key.take() else {
                    // A collection or alias used as a key.
                    return Err(ParseError {
                        position: pos,
                        message: "complex mapping keys (a sequence or mapping used as a key) are not supported"
                            .to_owned(),
                    });
                };
                if key == "<<" {
                    entries.push(Entry::Merge(value));
                } else {
                    if self.schema == Schema::Yaml12
                        && let Some(Entry::Pair(_, _, first)) = entries
                            .iter()
                            .find(|e| matches!(e, Entry::Pair(k, _, _) if *k == key))
                    {
                        return Err(ParseError {
                            position: key_pos,
                            message: format!(
                                "mapping key `{key}` already defined at line {}",
                                first.line
                            ),
                        });
                    }
                    entries.push(Entry::Pair(key, value, key_pos));
                }
            }
        }
        self.update_path();
        Ok(())
    }

    /// Keeps `path` equal to the pointer segments of the next node to be built.
    fn update_path(&mut self) {
        if self.record.is_none() {
            return;
        }
        self.path.clear();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => self.path.push(items.len().to_string()),
                Frame::Map {
                    pending_key,
                    entries,
                    ..
                } => match pending_key {
                    Some((k, _)) => self.path.push(k.clone()),
                    None => self.path.push(format!("#{}", entries.len())),
                },
            }
        }
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        pos: Position,
    ) -> Result<Value, ParseError> {
        let core_tag = tag.and_then(|t| {
            (t.handle == "!!" || t.handle == "tag:yaml.org,2002:").then_some(t.suffix.as_str())
        });
        let value = match core_tag {
            Some("str" | "binary" | "timestamp") => Value::String(text.to_owned()),
            Some("null") => Value::Null,
            Some("bool") => parse_bool(text, self.schema)
                .map(Value::Bool)
                .ok_or_else(|| tag_error(text, "bool", pos))?,
            Some("int") => parse_int(text, self.schema)
                .map(Value::Number)
                .ok_or_else(|| tag_error(text, "int", pos))?,
            Some("float") => parse_int(text, self.schema)
                .and_then(|n| n.as_f64())
                .or_else(|| parse_float(text, self.schema))
                .map(|f| {
                    serde_json::Number::from_f64(f)
                        .map_or(Value::String(text.to_owned()), Value::Number)
                })
                .ok_or_else(|| tag_error(text, "float", pos))?,
            _ if style == ScalarStyle::Plain => resolve_plain(text, self.schema),
            _ => Value::String(text.to_owned()),
        };
        // Position of scalars is recorded by `push_value`; keys are recorded when they are used.
        Ok(value)
    }
}

/// The text a scalar contributes as a mapping key.
///
/// kustomize keeps key text as written; Helm's reader (sigs.k8s.io/yaml) converts keys through
/// their resolved value, so `on:` becomes the key `true` there.
fn key_text(raw: &str, style: ScalarStyle, value: &Value, schema: Schema) -> String {
    if style != ScalarStyle::Plain || schema == Schema::Yaml12 {
        return raw.to_owned();
    }
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

fn tag_error(text: &str, tag: &str, pos: Position) -> ParseError {
    ParseError {
        position: pos,
        message: format!("cannot decode `{text}` as a !!{tag}"),
    }
}

fn merge_entries(entries: Vec<Entry>, start: Position) -> Result<Map<String, Value>, ParseError> {
    let has_merge = entries.iter().any(|e| matches!(e, Entry::Merge(_)));
    let mut map = Map::with_capacity(entries.len());
    if !has_merge {
        for entry in entries {
            if let Entry::Pair(k, v, _) = entry {
                map.insert(k, v);
            }
        }
        return Ok(map);
    }
    let explicit: std::collections::HashSet<String> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Pair(k, _, _) => Some(k.clone()),
            Entry::Merge(_) => None,
        })
        .collect();
    for entry in entries {
        match entry {
            Entry::Pair(k, v, _) => {
                map.insert(k, v);
            }
            Entry::Merge(source) => {
                let sources = match source {
                    Value::Object(m) => vec![m],
                    Value::Array(items) => items
                        .into_iter()
                        .map(|item| match item {
                            Value::Object(m) => Ok(m),
                            _ => Err(merge_error(start)),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(merge_error(start)),
                };
                // Earlier sources win over later ones; explicit keys win over all.
                for source in sources {
                    for (k, v) in source {
                        if !explicit.contains(&k) && !map.contains_key(&k) {
                            map.insert(k, v);
                        }
                    }
                }
            }
        }
    }
    Ok(map)
}

fn merge_error(start: Position) -> ParseError {
    ParseError {
        position: start,
        message: "merge key `<<` expects a mapping or a sequence of mappings".to_owned(),
    }
}

/// What a value costs when an alias repeats it: its nodes and the bytes of its strings and keys.
#[derive(Clone, Copy, Default)]
struct Weight {
    nodes: usize,
    bytes: usize,
}

impl Weight {
    /// Weighs `value` without recursion (anchored values may be nested deeply).
    fn of(value: &Value) -> Self {
        let mut weight = Self::default();
        let mut pending = vec![value];
        while let Some(v) = pending.pop() {
            weight.nodes += 1;
            match v {
                Value::Array(items) => pending.extend(items),
                Value::Object(map) => {
                    for (k, v) in map {
                        weight.bytes += k.len();
                        pending.push(v);
                    }
                }
                Value::String(s) => weight.bytes += s.len(),
                _ => {}
            }
        }
        weight
    }
}

fn position(span: Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn pointer_of(path: &[String]) -> String {
    let mut pointer = String::new();
    for segment in path {
        pointer.push('/');
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    }
    pointer
}
