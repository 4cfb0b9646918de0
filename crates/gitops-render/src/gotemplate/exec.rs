//! Executes parsed trees against data, following Go's `text/template` semantics: truthiness,
//! variables and their scopes, pipelines passing their value as the last argument, `range` over
//! lists, sorted maps and integers, `break`/`continue`, and errors that name the template,
//! line:column and the node being evaluated.

use std::collections::HashMap;
use std::rc::Rc;

use super::ExecError;
use super::hash::NameHash;
use super::parse::{Arg, Branch, Command, List, Node, Pipe, Tree};
use super::value::Value;

/// A template function. It receives the executor (so that Helm's `include` and `tpl` can run
/// templates) and its evaluated arguments; an `Err` message becomes "error calling NAME: msg".
pub type Func = fn(&mut Exec<'_>, &[Value]) -> Result<Value, String>;

/// The functions a template may call, by name.
pub type FuncMap = HashMap<&'static str, Func, NameHash>;

/// Named trees a template may call with `template`/`include`.
pub type TreeMap = HashMap<String, Rc<Tree>, NameHash>;

/// How deeply templates may call each other (`template`, `include`, `tpl`) and actions (`if`,
/// `with`, `range`) nest while they execute, counted together: a recursive template usually
/// takes two levels a call (the call and its `if`). Go allows 100,000 calls (`maxExecDepth` of
/// text/template) on its growable stack, and its parser 10,000 nested expressions; here a level
/// takes up to 8 KiB of a debug build's stack (measured with `include` chains), so the bound is
/// twice the parser's, which lets Helm's own `include` bound (1,000 nested calls of each
/// template) be reached first by chains of up to ten templates, and fits the Helm renderer's
/// thread.
pub const MAX_DEPTH: usize = 20_000;

enum Flow {
    Err(ExecError),
    Break,
    Continue,
}

impl From<ExecError> for Flow {
    fn from(e: ExecError) -> Self {
        Flow::Err(e)
    }
}

type R<T> = Result<T, Flow>;

/// Execution state: variables, the template set, functions, and host state for Helm.
pub struct Exec<'a> {
    layers: Vec<Rc<TreeMap>>,
    funcs: &'a FuncMap,
    /// Variables of every template being executed, innermost last; those of the current
    /// template start at `var_base` (a template sees only its own variables, as in Go). One
    /// stack for all, so that calling a template allocates nothing for its variables.
    vars: Vec<(Rc<str>, Value)>,
    var_base: usize,
    /// Spare argument lists for function calls.
    arg_pool: Vec<Vec<Value>>,
    /// `$`, shared by every frame.
    dollar: Rc<str>,
    depth: usize,
    /// The tree being executed (for error positions).
    tree: Option<Rc<Tree>>,
    /// Counts of nested `include` calls per template name (Helm's recursion guard).
    pub include_counts: HashMap<String, usize, NameHash>,
    /// Nesting of `tpl` calls.
    pub tpl_depth: usize,
    /// Host-specific state (Helm keeps its render context here).
    pub host: Option<Rc<dyn std::any::Any>>,
}

impl<'a> Exec<'a> {
    /// An executor over `trees` with functions `funcs`.
    #[must_use]
    pub fn new(trees: Rc<TreeMap>, funcs: &'a FuncMap) -> Self {
        Exec {
            layers: vec![trees],
            funcs,
            vars: Vec::new(),
            var_base: 0,
            arg_pool: Vec::new(),
            dollar: Rc::from("$"),
            depth: 0,
            tree: None,
            include_counts: HashMap::default(),
            tpl_depth: 0,
            host: None,
        }
    }

    /// Looks a template up by name, the most recently added layer first.
    #[must_use]
    pub fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        self.layers.iter().rev().find_map(|l| l.get(name).cloned())
    }

    /// Runs template `name` with `data` and returns its text.
    ///
    /// # Errors
    /// When there is no such template or its execution fails.
    pub fn execute(&mut self, name: &str, data: &Value) -> Result<String, ExecError> {
        let Some(tree) = self.lookup(name) else {
            return Err(ExecError::plain(format!(
                "template: no template {name:?} associated with template \"gotpl\""
            )));
        };
        let mut out = String::new();
        self.run_tree(&tree, data, &mut out)?;
        Ok(out)
    }

    /// Runs `trees[name]` with an extra layer of templates (Helm's `tpl`: the text may define
    /// templates visible only while it runs).
    ///
    /// # Errors
    /// As [`Exec::execute`].
    pub fn execute_with_layer(
        &mut self,
        layer: Rc<TreeMap>,
        name: &str,
        data: &Value,
    ) -> Result<String, ExecError> {
        self.layers.push(layer);
        let r = self.execute(name, data);
        self.layers.pop();
        r
    }

    fn run_tree(
        &mut self,
        tree: &Rc<Tree>,
        data: &Value,
        out: &mut String,
    ) -> Result<(), ExecError> {
        if self.depth >= MAX_DEPTH {
            return Err(ExecError::plain(format!(
                "template: {}: exceeded maximum template depth ({MAX_DEPTH})",
                tree.name
            )));
        }
        self.depth += 1;
        let saved_tree = self.tree.replace(tree.clone());
        let saved_base = self.var_base;
        self.var_base = self.vars.len();
        self.vars.push((self.dollar.clone(), data.clone()));
        let r = self.walk_list(data, &tree.root, out);
        self.vars.truncate(self.var_base);
        self.var_base = saved_base;
        self.tree = saved_tree;
        self.depth -= 1;
        match r {
            Ok(()) => Ok(()),
            Err(Flow::Err(e)) => Err(e),
            Err(Flow::Break | Flow::Continue) => Ok(()),
        }
    }

    fn error(&self, pos: usize, context: &str, message: String) -> Flow {
        Flow::Err(self.error_at(pos, context, message))
    }

    fn error_at(&self, pos: usize, context: &str, message: String) -> ExecError {
        match &self.tree {
            Some(t) => {
                let (line, col) = t.source.line_col(pos);
                ExecError {
                    location: format!("{}:{line}:{col}", t.source.name),
                    template: t.name.clone(),
                    context: context.to_owned(),
                    message,
                }
            }
            None => ExecError::plain(message),
        }
    }

    fn walk_list(&mut self, dot: &Value, nodes: &[Node], out: &mut String) -> R<()> {
        for n in nodes {
            self.walk(dot, n, out)?;
        }
        Ok(())
    }

    /// Walks the body of an action (`if`, `with`, `range`): one more level of nesting, counted
    /// with template calls against [`MAX_DEPTH`].
    fn walk_nested(&mut self, dot: &Value, nodes: &[Node], out: &mut String) -> R<()> {
        if self.depth >= MAX_DEPTH {
            let name = self.tree.as_ref().map_or("", |t| t.name.as_str());
            return Err(Flow::Err(ExecError::plain(format!(
                "template: {name}: exceeded maximum template depth ({MAX_DEPTH})"
            ))));
        }
        self.depth += 1;
        let r = self.walk_list(dot, nodes, out);
        self.depth -= 1;
        r
    }

    fn walk(&mut self, dot: &Value, node: &Node, out: &mut String) -> R<()> {
        match node {
            Node::Text(range) => {
                if let Some(t) = &self.tree {
                    out.push_str(&t.source.text[range.clone()]);
                }
            }
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    print_value(out, &v);
                }
            }
            Node::If(b) => {
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &b.pipe)?;
                let r = if v.truthy() {
                    self.walk_nested(dot, &b.list, out)
                } else if let Some(e) = &b.else_list {
                    self.walk_nested(dot, e, out)
                } else {
                    Ok(())
                };
                self.vars.truncate(mark);
                r?;
            }
            Node::With(b) => {
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &b.pipe)?;
                let r = if v.truthy() {
                    self.walk_nested(&v, &b.list, out)
                } else if let Some(e) = &b.else_list {
                    self.walk_nested(dot, e, out)
                } else {
                    Ok(())
                };
                self.vars.truncate(mark);
                r?;
            }
            Node::Range(b) => self.walk_range(dot, b, out)?,
            Node::Template { pos, name, pipe } => {
                let data = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                let Some(tree) = self.lookup(name) else {
                    return Err(self.error(
                        *pos,
                        &format!("template {name:?}"),
                        format!("template {name:?} not defined"),
                    ));
                };
                self.run_tree(&tree, &data, out)?;
            }
            Node::Break => return Err(Flow::Break),
            Node::Continue => return Err(Flow::Continue),
        }
        Ok(())
    }

    fn walk_range(&mut self, dot: &Value, b: &Branch, out: &mut String) -> R<()> {
        let mark = self.vars.len();
        let v = self.eval_pipeline_no_decl(dot, &b.pipe)?;
        let items: Vec<(Value, Value)> = match &v {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Map(m) => m
                .borrow()
                .iter()
                .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                .collect(),
            Value::Int(n) => (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
            Value::Nil => Vec::new(),
            other => {
                return Err(self.error(
                    b.pos,
                    &b.pipe.to_string(),
                    format!("range can't iterate over {other}"),
                ));
            }
        };
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                self.walk_nested(dot, e, out)?;
            }
            self.vars.truncate(mark);
            return Ok(());
        }
        for (k, item) in items {
            let inner = self.vars.len();
            match b.pipe.decl.len() {
                1 => self.set_decl(&b.pipe, 0, item.clone()),
                2 => {
                    self.set_decl(&b.pipe, 0, k);
                    self.set_decl(&b.pipe, 1, item.clone());
                }
                _ => {}
            }
            let r = self.walk_nested(&item, &b.list, out);
            self.vars.truncate(inner);
            match r {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(e) => return Err(e),
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn set_decl(&mut self, pipe: &Pipe, i: usize, v: Value) {
        let name = &pipe.decl[i];
        if pipe.is_assign {
            if let Some(slot) = self.frame_var(name) {
                *slot = v;
            }
        } else {
            self.vars.push((name.clone(), v));
        }
    }

    /// The innermost variable `name` of the current template.
    fn frame_var(&mut self, name: &str) -> Option<&mut Value> {
        self.vars[self.var_base..]
            .iter_mut()
            .rev()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }

    fn eval_pipeline_no_decl(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for c in pipe.cmds.iter() {
            value = Some(self.eval_command(dot, c, value)?);
        }
        Ok(value.unwrap_or_default())
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let v = self.eval_pipeline_no_decl(dot, pipe)?;
        if let Some(name) = pipe.decl.first() {
            if pipe.is_assign {
                if let Some(slot) = self.frame_var(name) {
                    *slot = v.clone();
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, fin: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        match first {
            Arg::Field { pos, fields } => {
                self.eval_field_chain(dot, dot.clone(), *pos, first, fields, rest, fin)
            }
            Arg::Var { pos, name, fields } => {
                let v = self.var(name);
                if fields.is_empty() {
                    self.no_args(cmd, rest, &fin)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, *pos, first, fields, rest, fin)
            }
            Arg::Chain { pos, node, fields } => {
                let v = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, v, *pos, first, fields, rest, fin)
            }
            Arg::Ident { pos, name } => self.eval_function(dot, *pos, name, cmd, rest, fin),
            Arg::Pipe(p) => {
                self.no_args(cmd, rest, &fin)?;
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, p);
                self.vars.truncate(mark);
                v
            }
            Arg::Dot(_) => {
                self.no_args(cmd, rest, &fin)?;
                Ok(dot.clone())
            }
            Arg::Nil(pos) => Err(self.error(*pos, "nil", "nil is not a command".to_owned())),
            Arg::Const { value, .. } => {
                self.no_args(cmd, rest, &fin)?;
                Ok(value.clone())
            }
        }
    }

    fn no_args(&self, cmd: &Command, rest: &[Arg], fin: &Option<Value>) -> R<()> {
        if !rest.is_empty() || fin.is_some() {
            return Err(self.error(
                cmd.pos,
                &cmd.to_string(),
                format!("can't give argument to non-function {}", cmd.args[0]),
            ));
        }
        Ok(())
    }

    fn var(&self, name: &str) -> Value {
        self.vars[self.var_base..]
            .iter()
            .rev()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn eval_arg(&mut self, dot: &Value, arg: &Arg) -> R<Value> {
        match arg {
            Arg::Field { pos, fields } => {
                self.eval_field_chain(dot, dot.clone(), *pos, arg, fields, &[], None)
            }
            Arg::Var { pos, name, fields } => {
                let v = self.var(name);
                if fields.is_empty() {
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, *pos, arg, fields, &[], None)
            }
            Arg::Chain { pos, node, fields } => {
                let v = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, v, *pos, arg, fields, &[], None)
            }
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Const { value, .. } => Ok(value.clone()),
            Arg::Ident { pos, name } => {
                let cmd = Command {
                    pos: *pos,
                    args: List::new(),
                };
                self.eval_function(dot, *pos, name, &cmd, &[], None)
            }
            Arg::Pipe(p) => {
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, p);
                self.vars.truncate(mark);
                v
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        receiver: Value,
        pos: usize,
        node: &Arg,
        fields: &[Rc<str>],
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let mut recv = receiver;
        let n = fields.len();
        for (i, f) in fields.iter().enumerate() {
            let last = i + 1 == n;
            // A nil receiver at the start of a chain is Go's invalid value (pipeline results,
            // variables): fields of it are invalid too, without error. Nil met inside the chain
            // is a nil interface from a map, whose fields are an error.
            if i == 0 && recv.is_nil() {
                return Ok(Value::Nil);
            }
            recv = if last {
                let has_args = !args.is_empty() || fin.is_some();
                // Most chains are plain field reads: no argument list to build.
                let mut argv = Vec::new();
                if has_args {
                    argv.reserve_exact(args.len() + 1);
                    for a in args {
                        argv.push(self.eval_arg(dot, a)?);
                    }
                    if let Some(v) = &fin {
                        argv.push(v.clone());
                    }
                }
                self.eval_field(recv, f, has_args, &argv, pos, node)?
            } else {
                self.eval_field(recv, f, false, &[], pos, node)?
            };
        }
        Ok(recv)
    }

    fn eval_field(
        &mut self,
        recv: Value,
        name: &str,
        has_args: bool,
        args: &[Value],
        pos: usize,
        node: &Arg,
    ) -> R<Value> {
        match &recv {
            Value::Map(m) => {
                if has_args {
                    return Err(self.error(
                        pos,
                        &node.to_string(),
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                Ok(m.borrow().get(name).cloned().unwrap_or_default())
            }
            Value::Object(o) => {
                if let Some(r) = o.call(name, args) {
                    return r.map_err(|e| {
                        self.error(pos, &node.to_string(), format!("error calling {name}: {e}"))
                    });
                }
                if let Some(v) = o.field(name) {
                    if has_args {
                        return Err(self.error(
                            pos,
                            &node.to_string(),
                            format!("{name} has arguments but cannot be invoked as function"),
                        ));
                    }
                    return Ok(v);
                }
                Err(self.error(
                    pos,
                    &node.to_string(),
                    format!("can't evaluate field {name} in type {}", o.type_name()),
                ))
            }
            Value::Nil => Err(self.error(
                pos,
                &node.to_string(),
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            other => Err(self.error(
                pos,
                &node.to_string(),
                format!("can't evaluate field {name} in type {}", other.type_name()),
            )),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        pos: usize,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        // The command as text, for error messages only: built when one is reported (formatting
        // it for every call was a measurable part of a render).
        let context = || {
            if cmd.args.is_empty() {
                name.to_owned()
            } else {
                cmd.to_string()
            }
        };
        // `and` and `or` evaluate their arguments lazily.
        if name == "and" || name == "or" {
            let total = args.len() + usize::from(fin.is_some());
            if total == 0 {
                return Err(self.error(
                    pos,
                    &context(),
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut last = Value::Nil;
            for a in args {
                last = self.eval_arg(dot, a)?;
                if last.truthy() == (name == "or") {
                    return Ok(last);
                }
            }
            if let Some(v) = fin {
                last = v;
            }
            return Ok(last);
        }
        let Some(f) = self.funcs.get(name).copied() else {
            return Err(self.error(pos, &context(), format!("function {name:?} not defined")));
        };
        // Argument lists come from a pool (one allocation per nesting level, not per call).
        let mut argv = self.arg_pool.pop().unwrap_or_default();
        for a in args {
            match self.eval_arg(dot, a) {
                Ok(v) => argv.push(v),
                Err(e) => {
                    argv.clear();
                    self.arg_pool.push(argv);
                    return Err(e);
                }
            }
        }
        if let Some(v) = fin {
            argv.push(v);
        }
        let r = f(self, &argv);
        argv.clear();
        self.arg_pool.push(argv);
        r.map_err(|e| {
            if let Some(msg) = e.strip_prefix(NO_WRAP) {
                self.error(pos, name, msg.to_owned())
            } else {
                self.error(cmd.pos, &context(), format!("error calling {name}: {e}"))
            }
        })
    }
}

/// Prefix of a function error message that Go reports without "error calling NAME: " (errors
/// from argument conversion, which Go raises before the call).
pub const NO_WRAP: &str = "\u{0}nowrap:";

/// Writes a value as an action prints it: nil prints `<no value>` (Helm removes that text
/// later), everything else as `fmt.Print` does.
fn print_value(out: &mut String, v: &Value) {
    use std::fmt::Write as _;
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::Str(s) => out.push_str(s),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}
