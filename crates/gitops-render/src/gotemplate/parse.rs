//! Parses tokens into trees, one per template (`define`/`block` make more), as Go's
//! `text/template/parse` does.

use std::rc::Rc;

use super::ParseError;
use super::exec::TreeMap;
use super::lex::{Tok, Token, lex};
use super::value::Value;

/// A parsed template: its body and the file it came from (for error positions).
#[derive(Debug)]
pub struct Tree {
    /// The template's name (`define`d name or file name).
    pub name: String,
    /// The file's name and text, for turning byte offsets into line:column.
    pub source: Rc<Source>,
    pub(crate) root: Vec<Node>,
}

impl Tree {
    /// Whether the tree holds only whitespace text (Go's `IsEmptyTree`): such a definition
    /// does not replace an existing one.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.root
            .iter()
            .all(|n| matches!(n, Node::Text(t) if self.source.text[t.clone()].trim().is_empty()))
    }
}

/// The text a tree was parsed from.
#[derive(Debug)]
pub struct Source {
    /// The name positions are reported with (Helm: the template's path).
    pub name: String,
    /// The text.
    pub text: String,
}

impl Source {
    /// Line (from 1) and byte column (from 0, as Go reports it) of a byte offset.
    #[must_use]
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
        let col = before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(pos, |nl| pos - nl - 1);
        (line, col)
    }
}

#[derive(Debug)]
pub(crate) enum Node {
    /// Text between actions: its byte range in the tree's source (no copy of its own).
    Text(std::ops::Range<usize>),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

/// A list that holds a single item without an allocation: nearly every pipeline has one
/// command and most commands one argument, and a `Vec` for each was a large share of the
/// allocations of parsing.
#[derive(Debug)]
pub(crate) enum List<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> List<T> {
    pub(crate) fn new() -> Self {
        List::Many(Vec::new())
    }

    pub(crate) fn push(&mut self, item: T) {
        match self {
            List::Many(v) if v.is_empty() => *self = List::One(item),
            List::Many(v) => v.push(item),
            List::One(_) => {
                if let List::One(first) = std::mem::replace(self, List::new()) {
                    *self = List::Many(vec![first, item]);
                }
            }
        }
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            List::One(x) => std::slice::from_ref(x),
            List::Many(v) => v,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) pos: usize,
    pub(crate) pipe: Pipe,
    pub(crate) list: Vec<Node>,
    pub(crate) else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<Rc<str>>,
    pub(crate) cmds: List<Command>,
}

#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: List<Arg>,
}

#[derive(Debug)]
pub(crate) enum Arg {
    /// `.A.B`: fields from dot.
    Field {
        pos: usize,
        fields: Vec<Rc<str>>,
    },
    /// `$x.A.B`.
    Var {
        pos: usize,
        name: Rc<str>,
        fields: Vec<Rc<str>>,
    },
    /// `(pipe).A.B` or `fn.A` style chains.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<Rc<str>>,
    },
    Dot(usize),
    Nil(usize),
    /// A constant: bool, number, string. `text` is the literal as written for numbers and
    /// characters; strings and booleans print from their value (see [`Arg::const_text`]), so
    /// that parsing does not format every string constant.
    Const {
        pos: usize,
        value: Value,
        text: Option<Box<str>>,
    },
    /// A function name.
    Ident {
        pos: usize,
        name: Rc<str>,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    /// The text of a constant as error messages show it: the literal of a number or
    /// character, Rust's quoting of a string, `true`/`false`.
    fn const_text(value: &Value, text: Option<&str>) -> String {
        match (text, value) {
            (Some(t), _) => t.to_owned(),
            (None, Value::Str(s)) => format!("{:?}", &**s),
            (None, other) => other.to_string(),
        }
    }

    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Var { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Const { pos, .. }
            | Arg::Ident { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Field { fields, .. } => {
                for x in fields {
                    write!(f, ".{x}")?;
                }
                Ok(())
            }
            Arg::Var { name, fields, .. } => {
                f.write_str(name)?;
                for x in fields {
                    write!(f, ".{x}")?;
                }
                Ok(())
            }
            Arg::Chain { node, fields, .. } => {
                if matches!(**node, Arg::Pipe(_)) {
                    write!(f, "({node})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for x in fields {
                    write!(f, ".{x}")?;
                }
                Ok(())
            }
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Const { value, text, .. } => f.write_str(&Arg::const_text(value, text.as_deref())),
            Arg::Ident { name, .. } => f.write_str(name),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if matches!(a, Arg::Pipe(_)) {
                write!(f, "({a})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// The names in parsed trees (fields, functions, variables), one shared string per distinct
/// name: templates repeat a few names (`Values`, `include`, `context`) thousands of times, and
/// an allocation for each was a large part of parsing. One interner may serve every file of a
/// render.
#[derive(Debug, Default)]
pub struct Names {
    set: std::collections::HashSet<Rc<str>, super::hash::NameHash>,
}

impl Names {
    fn get(&mut self, name: &str) -> Rc<str> {
        if let Some(n) = self.set.get(name) {
            return n.clone();
        }
        let n: Rc<str> = Rc::from(name);
        self.set.insert(n.clone());
        n
    }
}

/// Parses `text` (named `name`) into its main tree and the trees it defines.
///
/// # Errors
/// The first syntax error, with its offset.
pub(super) fn parse(name: &str, text: &str, names: &mut Names) -> Result<TreeMap, ParseError> {
    let source = Rc::new(Source {
        name: name.to_owned(),
        text: text.to_owned(),
    });
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        i: 0,
        source: source.clone(),
        trees: TreeMap::default(),
        vars: vec![vec!["$"]],
        names,
        src: text,
        depth: 0,
    };
    let (root, end) = p.item_list(true)?;
    if let Some(end) = end {
        return Err(ParseError::at(
            end.1,
            format!("unexpected {{{{{}}}}}", end.0),
        ));
    }
    // A file that only defines templates keeps an empty main tree (Go drops it; Helm still
    // renders it to empty text).
    p.trees.insert(
        name.to_owned(),
        Rc::new(Tree {
            name: name.to_owned(),
            source,
            root,
        }),
    );
    Ok(p.trees)
}

struct Parser<'a, 'n> {
    toks: Vec<Token<'a>>,
    i: usize,
    source: Rc<Source>,
    trees: TreeMap,
    vars: Vec<Vec<&'a str>>,
    names: &'n mut Names,
    /// The text being parsed (the source's copy has the same offsets).
    src: &'a str,
    /// Actions and parenthesized pipelines open around the current token.
    depth: usize,
}

/// How deeply actions (`if`, `range`, `with`, `define`, `block`) and parenthesized pipelines
/// may nest. Go bounds parentheses at 10,000 (`maxStackDepth` of text/template/parse, "max
/// expression depth exceeded") and lets actions nest as deep as its stack grows; the parser and
/// the executor here recurse per level, so both count against Go's bound.
const MAX_NESTING: usize = 10_000;

type End = Option<(&'static str, usize)>;

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> &Token<'a> {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token<'a> {
        let t = *self.peek();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn peek_non_space(&mut self) -> &Token<'a> {
        while matches!(self.peek().tok, Tok::Space) {
            self.i += 1;
        }
        self.peek()
    }

    fn next_non_space(&mut self) -> Token<'a> {
        self.peek_non_space();
        self.next()
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError::at(pos, msg))
    }

    fn unexpected<T>(&self, t: &Token<'_>, context: &str) -> Result<T, ParseError> {
        let what = match &t.tok {
            Tok::Eof => "EOF".to_owned(),
            Tok::Right => "\"}}\"".to_owned(),
            Tok::Left => "\"{{\"".to_owned(),
            Tok::RParen => "\")\"".to_owned(),
            Tok::LParen => "\"(\"".to_owned(),
            Tok::Pipe => "\"|\"".to_owned(),
            Tok::Keyword(k) => format!("<{k}>"),
            Tok::Ident(s) | Tok::Number(s) => format!("{s:?}"),
            other => format!("{other:?}"),
        };
        self.err(t.pos, format!("unexpected {what} in {context}"))
    }

    /// Enters one more level of nesting, refusing more than [`MAX_NESTING`].
    fn nest(&mut self) -> Result<(), ParseError> {
        if self.depth >= MAX_NESTING {
            return self.err(self.peek().pos, "max expression depth exceeded");
        }
        self.depth += 1;
        Ok(())
    }

    /// Parses nodes until `{{end}}`, `{{else}}` or EOF. Returns the nodes and which of
    /// `end`/`else` stopped it (with its position).
    fn item_list(&mut self, top: bool) -> Result<(Vec<Node>, End), ParseError> {
        self.nest()?;
        let r = self.item_list_body(top);
        self.depth -= 1;
        r
    }

    fn item_list_body(&mut self, top: bool) -> Result<(Vec<Node>, End), ParseError> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => {
                    if top {
                        return Ok((nodes, None));
                    }
                    return self.err(t.pos, "unexpected EOF");
                }
                Tok::Text(s) => {
                    // The token is a slice of the source: its range there.
                    let start = s.as_ptr() as usize - self.src.as_ptr() as usize;
                    nodes.push(Node::Text(start..start + s.len()));
                }
                Tok::Left => {
                    let k = *self.peek_non_space();
                    match k.tok {
                        Tok::Keyword("end") => {
                            self.next();
                            self.expect_right("end")?;
                            if top {
                                return self.err(k.pos, "unexpected {{end}}");
                            }
                            return Ok((nodes, Some(("end", k.pos))));
                        }
                        Tok::Keyword("else") => {
                            if top {
                                return self.err(k.pos, "unexpected {{else}}");
                            }
                            self.next();
                            return Ok((nodes, Some(("else", k.pos))));
                        }
                        Tok::Keyword("define") => {
                            if !top {
                                return self.err(k.pos, "unexpected <define> in command");
                            }
                            self.next();
                            self.define(k.pos)?;
                        }
                        _ => nodes.push(self.action()?),
                    }
                }
                other => return self.err(t.pos, format!("unexpected token {other:?}")),
            }
        }
    }

    fn expect_right(&mut self, context: &str) -> Result<(), ParseError> {
        let t = self.next_non_space();
        if !matches!(t.tok, Tok::Right) {
            return self.unexpected(&t, context);
        }
        Ok(())
    }

    fn define(&mut self, pos: usize) -> Result<(), ParseError> {
        let t = self.next_non_space();
        let Tok::Str(name) = t.tok else {
            return self.err(
                t.pos,
                "unexpected token in define clause: name must be a string",
            );
        };
        self.expect_right("define clause")?;
        self.vars.push(vec!["$"]);
        let (list, end) = self.item_list(false)?;
        self.vars.pop();
        match end {
            Some(("end", _)) => {}
            Some((_, p)) => return self.err(p, "unexpected {{else}} in define"),
            None => return self.err(pos, "unexpected EOF in define"),
        }
        self.add_tree(name.value().into_owned(), list);
        Ok(())
    }

    fn add_tree(&mut self, name: String, root: Vec<Node>) {
        // Go keeps the first non-empty definition within one parse when a later one is empty.
        if root
            .iter()
            .all(|n| matches!(n, Node::Text(t) if self.src[t.clone()].trim().is_empty()))
            && self.trees.contains_key(&name)
        {
            return;
        }
        self.trees.insert(
            name.clone(),
            Rc::new(Tree {
                name,
                source: self.source.clone(),
                root,
            }),
        );
    }

    fn action(&mut self) -> Result<Node, ParseError> {
        let t = *self.peek_non_space();
        match t.tok {
            Tok::Keyword("if") => {
                self.next();
                Ok(Node::If(self.branch("if", t.pos)?))
            }
            Tok::Keyword("range") => {
                self.next();
                Ok(Node::Range(self.branch("range", t.pos)?))
            }
            Tok::Keyword("with") => {
                self.next();
                Ok(Node::With(self.branch("with", t.pos)?))
            }
            Tok::Keyword("break") | Tok::Keyword("continue") => {
                self.next();
                self.expect_right(if t.tok == Tok::Keyword("break") {
                    "break"
                } else {
                    "continue"
                })?;
                Ok(if t.tok == Tok::Keyword("break") {
                    Node::Break
                } else {
                    Node::Continue
                })
            }
            Tok::Keyword("template") | Tok::Keyword("block") => {
                let is_block = t.tok == Tok::Keyword("block");
                self.next();
                let n = self.next_non_space();
                let Tok::Str(name) = n.tok else {
                    return self.unexpected(&n, "template clause");
                };
                let pipe = if matches!(self.peek_non_space().tok, Tok::Right) {
                    self.next();
                    None
                } else {
                    Some(self.pipeline("template", false)?)
                };
                let name = name.value().into_owned();
                if is_block {
                    self.vars.push(vec!["$"]);
                    let (list, end) = self.item_list(false)?;
                    self.vars.pop();
                    if !matches!(end, Some(("end", _))) {
                        return self.err(t.pos, "unexpected EOF in block clause");
                    }
                    self.add_tree(name.clone(), list);
                }
                Ok(Node::Template {
                    pos: t.pos,
                    name,
                    pipe,
                })
            }
            Tok::Keyword(k) if k != "define" => self.unexpected(&t, "command"),
            _ => Ok(Node::Action(self.pipeline("command", false)?)),
        }
    }

    fn branch(&mut self, context: &'static str, pos: usize) -> Result<Branch, ParseError> {
        self.vars.push(Vec::new());
        let pipe = self.pipeline(context, context == "range")?;
        if pipe.cmds.is_empty() {
            return self.err(pos, format!("missing value for {context}"));
        }
        let (list, end) = self.item_list(false)?;
        let else_list = match end {
            Some(("end", _)) => None,
            Some(("else", _)) => {
                // `{{else if ...}}` / `{{else with ...}}` nest a branch of the same kind.
                let t = *self.peek_non_space();
                if (context == "if" && t.tok == Tok::Keyword("if"))
                    || (context == "with" && t.tok == Tok::Keyword("with"))
                {
                    self.next();
                    let inner = self.branch(context, t.pos)?;
                    let node = if context == "if" {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    };
                    // The nested branch consumed the shared `{{end}}`.
                    Some(vec![node])
                } else {
                    self.expect_right("else")?;
                    let (else_list, end) = self.item_list(false)?;
                    if !matches!(end, Some(("end", _))) {
                        return self.err(
                            pos,
                            format!("expected end; found {{{{else}}}} in {context}"),
                        );
                    }
                    Some(else_list)
                }
            }
            _ => return self.err(pos, format!("unexpected EOF in {context}")),
        };
        self.vars.pop();
        Ok(Branch {
            pos,
            pipe,
            list,
            else_list,
        })
    }

    /// Parses a pipeline up to `}}` (or `)` when nested in parentheses, handled by the caller).
    fn pipeline(&mut self, context: &str, allow_two: bool) -> Result<Pipe, ParseError> {
        let start = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos: start,
            is_assign: false,
            decl: Vec::new(),
            cmds: List::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $v :=`.
        if let Tok::Var(v) = self.peek_non_space().tok {
            let save = self.i;
            self.next();
            let t = *self.peek_non_space();
            match t.tok {
                Tok::Declare | Tok::Assign => {
                    self.next();
                    pipe.is_assign = t.tok == Tok::Assign;
                    pipe.decl.push(self.names.get(v));
                    if !pipe.is_assign {
                        self.declare(v);
                    }
                }
                Tok::Comma if allow_two => {
                    self.next();
                    let t2 = self.next_non_space();
                    let Tok::Var(v2) = t2.tok else {
                        return self.err(t2.pos, "range can only initialize variables");
                    };
                    let op = self.next_non_space();
                    if op.tok != Tok::Declare && op.tok != Tok::Assign {
                        return self.err(op.pos, "range can only initialize variables");
                    }
                    pipe.is_assign = op.tok == Tok::Assign;
                    pipe.decl.push(self.names.get(v));
                    pipe.decl.push(self.names.get(v2));
                    if !pipe.is_assign {
                        self.declare(v);
                        self.declare(v2);
                    }
                }
                Tok::Comma => {
                    return self.err(t.pos, format!("too many declarations in {context}"));
                }
                _ => self.i = save,
            }
        }
        loop {
            let t = *self.peek_non_space();
            match t.tok {
                Tok::Right => {
                    self.next();
                    self.check_pipe(&pipe, context, t.pos)?;
                    return Ok(pipe);
                }
                Tok::RParen if context == "parenthesized pipeline" => {
                    self.next();
                    self.check_pipe(&pipe, context, t.pos)?;
                    return Ok(pipe);
                }
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str(_)
                | Tok::Var(_)
                | Tok::LParen => {
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn check_pipe(&self, pipe: &Pipe, context: &str, pos: usize) -> Result<(), ParseError> {
        if pipe.cmds.is_empty() && context != "range" && context != "if" && context != "with" {
            return self.err(pos, format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(a) = c.args.first()
                && matches!(a, Arg::Const { .. } | Arg::Nil(_) | Arg::Dot(_))
            {
                let _ = i;
                return self.err(
                    a.pos(),
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(())
    }

    fn declare(&mut self, v: &'a str) {
        if let Some(scope) = self.vars.last_mut() {
            scope.push(v);
        }
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: List::new(),
        };
        loop {
            self.peek_non_space();
            let a = self.operand()?;
            cmd.args.push(a);
            let t = *self.peek();
            match t.tok {
                Tok::Space => {
                    let t2 = *self.peek_non_space();
                    match t2.tok {
                        Tok::Right | Tok::RParen => break,
                        Tok::Pipe => {
                            self.next();
                            break;
                        }
                        _ => {}
                    }
                }
                Tok::Right | Tok::RParen => break,
                Tok::Pipe => {
                    self.next();
                    break;
                }
                _ => return self.unexpected(&t, "operand"),
            }
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Arg, ParseError> {
        let mut term = self.term()?;
        if !matches!(self.peek().tok, Tok::Field(_)) {
            return Ok(term);
        }
        let chain_pos = self.peek().pos;
        // Fields after a field or a variable extend its own list.
        let fields = match &mut term {
            Arg::Field { pos, fields } => {
                *pos = chain_pos;
                fields
            }
            Arg::Var { fields, .. } => fields,
            Arg::Const { pos, value, text } => {
                // As the derived Debug of the constant read when its text was kept.
                let text = Arg::const_text(value, text.as_deref());
                return self.err(
                    *pos,
                    format!(
                        "unexpected . after term Const {{ pos: {pos}, value: {value:?}, text: {text:?} }}"
                    ),
                );
            }
            Arg::Nil(pos) | Arg::Dot(pos) => {
                return self.err(*pos, format!("unexpected . after term {term:?}"));
            }
            _ => {
                term = Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(term),
                    fields: Vec::new(),
                };
                let Arg::Chain { fields, .. } = &mut term else {
                    unreachable!("just built a chain")
                };
                fields
            }
        };
        while let Tok::Field(f) = self.peek().tok {
            fields.push(self.names.get(f));
            self.i += 1;
        }
        Ok(term)
    }

    fn term(&mut self) -> Result<Arg, ParseError> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(match t.tok {
            Tok::Ident(name) => Arg::Ident {
                pos,
                name: self.names.get(name),
            },
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Var(name) => {
                if !self.vars.iter().any(|s| s.contains(&name)) {
                    return self.err(pos, format!("undefined variable \"{name}\""));
                }
                Arg::Var {
                    pos,
                    name: self.names.get(name),
                    fields: Vec::new(),
                }
            }
            Tok::Field(f) => {
                // Room for the fields that follow (`operand` adds them).
                let more = self.toks[self.i..]
                    .iter()
                    .take_while(|t| matches!(t.tok, Tok::Field(_)))
                    .count();
                let mut fields = Vec::with_capacity(1 + more);
                fields.push(self.names.get(f));
                Arg::Field { pos, fields }
            }
            Tok::Bool(b) => Arg::Const {
                pos,
                value: Value::Bool(b),
                text: None,
            },
            Tok::Str(s) => Arg::Const {
                pos,
                text: None,
                value: Value::Str(self.names.get(&s.value())),
            },
            Tok::Char(c) => Arg::Const {
                pos,
                value: Value::Int(i64::from(u32::from(c))),
                text: Some(format!("{c:?}").into()),
            },
            Tok::Number(n) => Arg::Const {
                pos,
                value: parse_number(n)
                    .ok_or_else(|| ParseError::at(pos, format!("bad number syntax: {n:?}")))?,
                text: Some(n.into()),
            },
            Tok::LParen => {
                self.nest()?;
                let p = self.pipeline("parenthesized pipeline", false);
                self.depth -= 1;
                Arg::Pipe(Box::new(p?))
            }
            _ => return self.unexpected(&t, "operand"),
        })
    }
}

/// Parses a Go number literal: integers (decimal, hex, octal, binary, `_` separators) stay
/// integers, others are floats.
pub(crate) fn parse_number(n: &str) -> Option<Value> {
    let clean: String = n.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains(['.', 'p']) {
            None
        } else {
            i64::from_str_radix(h, 16).ok()
        }
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|c| c.is_ascii_digit())
    {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else if lower.bytes().all(|c| c.is_ascii_digit()) {
        lower.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(Value::Int(if neg { -i } else { i }));
    }
    let f: f64 = lower.parse().ok()?;
    Some(Value::Float(if neg { -f } else { f }))
}
