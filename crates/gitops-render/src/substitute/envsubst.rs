//! Bash-style variable expansion with the exact grammar of Flux's `envsubst` (the fork of
//! drone/envsubst in fluxcd/pkg that kustomize-controller uses for post-build substitution).
//!
//! Supported: `${var}`, `${#var}`, `${var^}`, `${var^^}`, `${var,}`, `${var,,}`, `${var:n}`,
//! `${var:n:len}`, `${var#pattern}`, `${var##pattern}`, `${var%pattern}`, `${var%%pattern}`,
//! `${var=default}`, `${var:=default}`, `${var:-default}` (and `:?`/`:+`, which Flux parses and
//! treats as defaults), `${var/pattern/replacement}`, `${var//…/…}`, `${var/#…/…}`,
//! `${var/%…/…}`; defaults and arguments may nest `${…}`. `$$` is an escaped `$` (so `$${var}` is
//! the literal text `${var}`); `$var` without braces is left alone. As in Flux, `${var-default}`
//! is not accepted ("missing closing brace") and every default form substitutes when the value
//! is empty, not only when it is unset.
//!
//! The scanner works on characters where Flux's works on characters, and on bytes where Flux's
//! functions do (`${#var}` counts bytes, `${var:n}` slices bytes).

use super::glob;

/// A malformed `${…}` expression or, in strict mode, a variable without a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvsubstError {
    /// The text is not a valid substitution expression; the message is Flux's.
    #[error("{0}")]
    Syntax(&'static str),
    /// Strict mode: a variable is referenced without a default and has no value.
    #[error("variable not set (strict mode): {0:?}")]
    NotSet(String),
    /// `${…}` expressions nest deeper than [`MAX_NESTING`].
    #[error("substitution expressions are nested more than {MAX_NESTING} deep")]
    TooDeep,
}

/// How deeply `${…}` expressions may nest (in defaults and function arguments). Flux sets no
/// limit (Go's stacks grow); real expressions nest a few levels, and this keeps the parser, the
/// evaluator and the tree's drop, which all recurse, far below any thread's stack.
pub const MAX_NESTING: usize = 100;

const BAD_SUBSTITUTION: EnvsubstError = EnvsubstError::Syntax("bad substitution");
const MISSING_CLOSING_BRACE: EnvsubstError = EnvsubstError::Syntax("missing closing brace");
const VARIABLE_NAME: EnvsubstError = EnvsubstError::Syntax("unable to parse variable name");
const FUNC_SUBSTITUTION: EnvsubstError =
    EnvsubstError::Syntax("unable to parse substitution within function");
const DEFAULT_FUNCTION: EnvsubstError = EnvsubstError::Syntax("unable to parse default function");

/// Expands every `${…}` in `text`. `lookup` gives a variable's value, `None` when it is not set;
/// unset variables expand to the empty string, or fail when `strict` is set (except in the
/// default forms, which exist to handle them).
///
/// # Errors
/// A malformed expression, or (strict) the first variable without a value.
pub fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<String, EnvsubstError> {
    let nodes = Parser::new(text).parse_all()?;
    let mut out = String::with_capacity(text.len());
    for node in &nodes {
        eval(node, lookup, strict, &mut out)?;
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    Func {
        /// The variable.
        param: String,
        /// The operator (`""` for plain `${var}`, `":-"`, `"//"`, `"#"`, ...).
        op: String,
        args: Vec<Node>,
    },
}

fn eval(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
    out: &mut String,
) -> Result<(), EnvsubstError> {
    match node {
        Node::Text(text) => out.push_str(text),
        Node::Func { param, op, args } => {
            // Arguments are expanded first, whether used or not, as Flux does.
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                let mut value = String::new();
                eval(arg, lookup, strict, &mut value)?;
                values.push(value);
            }
            let value = match lookup(param) {
                Some(v) => v,
                None if strict && !is_default_op(op) => {
                    return Err(EnvsubstError::NotSet(param.clone()));
                }
                None => String::new(),
            };
            out.push_str(&apply(op, &value, &values));
        }
    }
    Ok(())
}

fn is_default_op(op: &str) -> bool {
    matches!(op, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

fn apply(op: &str, s: &str, args: &[String]) -> String {
    let arg = |i: usize| args.get(i).map_or("", String::as_str);
    match op {
        "," => map_first(s, |c| c.to_lowercase().collect()),
        ",," => s.to_lowercase(),
        "^" => map_first(s, |c| c.to_uppercase().collect()),
        "^^" => s.to_uppercase(),
        "#" if args.is_empty() => s.len().to_string(),
        "#" if !args.is_empty() => trim_prefix(s, arg(0), false),
        "##" if !args.is_empty() => trim_prefix(s, arg(0), true),
        "%" if !args.is_empty() => trim_suffix(s, arg(0), false),
        "%%" if !args.is_empty() => trim_suffix(s, arg(0), true),
        ":" => substring(s, args),
        "/#" if args.len() == 2 => match s.strip_prefix(arg(0)) {
            Some(rest) => format!("{}{rest}", arg(1)),
            None => s.to_owned(),
        },
        "/%" if args.len() == 2 => match s.strip_suffix(arg(0)) {
            Some(rest) => format!("{rest}{}", arg(1)),
            None => s.to_owned(),
        },
        "/" if !args.is_empty() => s.replacen(arg(0), arg(1), 1),
        "//" if !args.is_empty() => s.replace(arg(0), arg(1)),
        "#" | "##" | "%" | "%%" | "/#" | "/%" | "/" | "//" => s.to_owned(),
        // Every other operator (the default forms, and unknown casings such as `^,`) is
        // "the value, or the arguments joined when the value is empty".
        _ if s.is_empty() => args.concat(),
        _ => s.to_owned(),
    }
}

fn map_first(s: &str, f: impl Fn(char) -> String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => f(c) + chars.as_str(),
        None => String::new(),
    }
}

/// `${var:offset}` and `${var:offset:length}`, on bytes, with bash's negative offsets and
/// lengths; an argument that is not an integer leaves the value unchanged.
fn substring(s: &str, args: &[String]) -> String {
    let bytes = s.as_bytes();
    let len = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let Some(Ok(mut pos)) = args.first().map(|a| a.parse::<i64>()) else {
        return s.to_owned();
    };
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let slice = |from: i64, to: i64| {
        let (from, to) = (as_index(from), as_index(to));
        String::from_utf8_lossy(&bytes[from..to]).into_owned()
    };
    let Some(length) = args.get(1) else {
        return if pos < len {
            slice(pos, len)
        } else {
            String::new()
        };
    };
    let Ok(length) = length.parse::<i64>() else {
        return s.to_owned();
    };
    if length < 0 {
        let end = len + length;
        return if end < pos {
            String::new()
        } else {
            slice(pos, end)
        };
    }
    if pos.saturating_add(length) >= len {
        return if pos < len {
            slice(pos, len)
        } else {
            String::new()
        };
    }
    slice(pos, pos + length)
}

fn as_index(i: i64) -> usize {
    usize::try_from(i).unwrap_or(0)
}

fn trim_prefix(s: &str, pattern: &str, longest: bool) -> String {
    String::from_utf8_lossy(trim_matching_prefix(
        s.as_bytes(),
        pattern.as_bytes(),
        longest,
    ))
    .into_owned()
}

fn trim_suffix(s: &str, pattern: &str, longest: bool) -> String {
    let reversed: String = s.chars().rev().collect();
    let pattern: String = pattern.chars().rev().collect();
    let trimmed = trim_prefix(&reversed, &pattern, longest);
    trimmed.chars().rev().collect()
}

/// Removes the shortest (or longest) non-empty prefix of `s` that the glob `pattern` matches,
/// trying every byte length as Flux does; a malformed pattern leaves `s` unchanged.
fn trim_matching_prefix<'a>(s: &'a [u8], pattern: &[u8], longest: bool) -> &'a [u8] {
    let mut matched = 0;
    for end in (1..=s.len()).rev() {
        match glob::matches(pattern, &s[..end]) {
            Err(_) => return s,
            Ok(true) if longest => return &s[end..],
            Ok(true) => matched = end,
            Ok(false) => {}
        }
    }
    &s[matched..]
}

/// Character classes of the scanner, as Flux's accept functions; `i` is the 1-based position of
/// the character in the token being scanned.
type Accept = fn(char, usize) -> bool;

fn accept_rune(_: char, _: usize) -> bool {
    true
}
fn accept_ident(c: char, _: usize) -> bool {
    c.is_alphabetic() || c.is_numeric() || c == '_'
}
fn accept_colon(c: char, _: usize) -> bool {
    c == ':'
}
fn accept_one_hash(c: char, i: usize) -> bool {
    c == '#' && i == 1
}
fn accept_not_closing(c: char, _: usize) -> bool {
    c != '}'
}
fn accept_hash_func(c: char, i: usize) -> bool {
    c == '#' && i < 3
}
fn accept_percent_func(c: char, i: usize) -> bool {
    c == '%' && i < 3
}
fn accept_default_func(c: char, i: usize) -> bool {
    (i == 1 && c == ':') || (i == 2 && matches!(c, '=' | '-' | '?' | '+'))
}
fn accept_replace_func(c: char, i: usize) -> bool {
    (i == 1 && c == '/') || (i == 2 && matches!(c, '/' | '#' | '%'))
}
fn accept_one_equal(c: char, i: usize) -> bool {
    i == 1 && c == '='
}
fn accept_one_colon(c: char, i: usize) -> bool {
    i == 1 && c == ':'
}
fn reject_colon_close(c: char, _: usize) -> bool {
    c != ':' && c != '}'
}
fn accept_slash(c: char, _: usize) -> bool {
    c == '/'
}
fn accept_not_slash(c: char, _: usize) -> bool {
    c != '/'
}
fn accept_casing_func(c: char, i: usize) -> bool {
    (c == ',' || c == '^') && i < 3
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Eof,
    Open,
    Close,
    Ident(String),
    Illegal,
}

/// Which tokens a scan may produce, and which escapes it honours.
#[derive(Clone, Copy, Default)]
struct Mode {
    ident: bool,
    open: bool,
    close: bool,
    /// `$$` stands for `$`.
    escape_dollar: bool,
    /// `\/` and `\\` stand for `/` and `\` (only in the replace function's arguments).
    escape_backslash: bool,
}

const IDENT: Mode = Mode {
    ident: true,
    open: false,
    close: false,
    escape_dollar: false,
    escape_backslash: false,
};
const CLOSE: Mode = Mode {
    ident: false,
    close: true,
    ..IDENT
};

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// `${` opened and not yet closed.
    depth: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_second(&self) -> Option<char> {
        self.chars.get(self.pos + 1).copied()
    }

    /// Whether the character just read (`c`) escapes the next one.
    fn escapes(&self, c: char, mode: Mode) -> bool {
        match c {
            '$' => mode.escape_dollar && self.peek() == Some('$'),
            '\\' => mode.escape_backslash && matches!(self.peek(), Some('/' | '\\')),
            _ => false,
        }
    }

    fn scan(&mut self, mode: Mode, accept: Accept) -> Token {
        let Some(c) = self.peek() else {
            return Token::Eof;
        };
        self.pos += 1;
        if mode.open && c == '$' && self.peek() == Some('{') {
            self.pos += 1;
            return Token::Open;
        }
        if mode.close && c == '}' {
            return Token::Close;
        }
        if !mode.ident {
            return Token::Illegal;
        }
        let mut text = String::new();
        let mut count = 0;
        let mut next = Some(c);
        while let Some(c) = next {
            if self.escapes(c, mode) {
                // The escaping character is dropped and the next one taken as it is.
                text.push(self.chars[self.pos]);
                self.pos += 1;
                count += 1;
            } else if accept(c, count + 1) {
                text.push(c);
                count += 1;
            } else if count == 0 {
                return Token::Illegal;
            } else {
                self.pos -= 1;
                break;
            }
            next = self.peek();
            if next.is_none() || (mode.open && next == Some('$') && self.peek_second() == Some('{'))
            {
                break;
            }
            self.pos += 1;
        }
        Token::Ident(text)
    }

    fn parse_all(&mut self) -> Result<Vec<Node>, EnvsubstError> {
        let mode = Mode {
            open: true,
            escape_dollar: true,
            ..IDENT
        };
        let mut nodes = Vec::new();
        loop {
            match self.scan(mode, accept_rune) {
                Token::Eof => return Ok(nodes),
                Token::Ident(text) => nodes.push(Node::Text(text)),
                Token::Open => nodes.push(self.parse_func()?),
                Token::Close | Token::Illegal => return Err(BAD_SUBSTITUTION),
            }
        }
    }

    fn parse_func(&mut self) -> Result<Node, EnvsubstError> {
        if self.depth >= MAX_NESTING {
            return Err(EnvsubstError::TooDeep);
        }
        self.depth += 1;
        let node = self.parse_func_body();
        self.depth -= 1;
        node
    }

    fn parse_func_body(&mut self) -> Result<Node, EnvsubstError> {
        if self.peek() == Some('#') {
            return self.parse_len();
        }
        let Token::Ident(name) = self.scan(IDENT, accept_ident) else {
            return Err(VARIABLE_NAME);
        };
        match self.peek() {
            Some(':') => {
                return if matches!(self.peek_second(), Some('=' | '-' | '?' | '+')) {
                    self.parse_default(name)
                } else {
                    self.parse_substring(name)
                };
            }
            Some('=') => return self.parse_default(name),
            Some(',' | '^') => return self.parse_casing(name),
            Some('/') => return self.parse_replace(name),
            Some('#') => return self.parse_remove(name, accept_hash_func),
            Some('%') => return self.parse_remove(name, accept_percent_func),
            _ => {}
        }
        match self.scan(CLOSE, accept_ident) {
            Token::Close => Ok(Node::Func {
                param: name,
                op: String::new(),
                args: Vec::new(),
            }),
            _ => Err(MISSING_CLOSING_BRACE),
        }
    }

    fn parse_param(&mut self, accept: Accept, escape: bool) -> Result<Node, EnvsubstError> {
        let mode = Mode {
            open: true,
            escape_dollar: escape,
            escape_backslash: escape,
            ..IDENT
        };
        match self.scan(mode, accept) {
            Token::Open => self.parse_func(),
            Token::Ident(text) => Ok(Node::Text(text)),
            _ => Err(FUNC_SUBSTITUTION),
        }
    }

    fn operator(&mut self, accept: Accept, error: EnvsubstError) -> Result<String, EnvsubstError> {
        match self.scan(IDENT, accept) {
            Token::Ident(op) => Ok(op),
            _ => Err(error),
        }
    }

    fn close(&mut self) -> Result<(), EnvsubstError> {
        match self.scan(CLOSE, accept_rune) {
            Token::Close => Ok(()),
            _ => Err(BAD_SUBSTITUTION),
        }
    }

    fn parse_substring(&mut self, param: String) -> Result<Node, EnvsubstError> {
        let op = self.operator(accept_one_colon, BAD_SUBSTITUTION)?;
        let mut args = vec![self.parse_param(reject_colon_close, false)?];
        let delimiter = Mode {
            close: true,
            ..IDENT
        };
        match self.scan(delimiter, accept_colon) {
            Token::Close => return Ok(Node::Func { param, op, args }),
            Token::Ident(_) => {}
            _ => return Err(BAD_SUBSTITUTION),
        }
        args.push(self.parse_param(accept_not_closing, false)?);
        self.close()?;
        Ok(Node::Func { param, op, args })
    }

    fn parse_remove(&mut self, param: String, accept: Accept) -> Result<Node, EnvsubstError> {
        let op = self.operator(accept, BAD_SUBSTITUTION)?;
        let args = vec![self.parse_param(accept_not_closing, false)?];
        self.close()?;
        Ok(Node::Func { param, op, args })
    }

    fn parse_replace(&mut self, param: String) -> Result<Node, EnvsubstError> {
        let op = self.operator(accept_replace_func, BAD_SUBSTITUTION)?;
        let pattern = if self.peek() == Some('/') {
            Node::Text(String::new())
        } else {
            self.parse_param(accept_not_slash, true)?
        };
        let mut args = vec![pattern];
        self.operator(accept_slash, BAD_SUBSTITUTION)?;
        if self.peek() != Some('}') {
            args.push(self.parse_param(accept_not_closing, true)?);
        }
        self.close()?;
        Ok(Node::Func { param, op, args })
    }

    fn parse_default(&mut self, param: String) -> Result<Node, EnvsubstError> {
        let accept = if self.peek() == Some('=') {
            accept_one_equal
        } else {
            accept_default_func
        };
        let op = self.operator(accept, DEFAULT_FUNCTION)?;
        let mut args = Vec::new();
        while self.peek() != Some('}') {
            args.push(self.parse_param(accept_not_closing, false)?);
        }
        self.close()?;
        Ok(Node::Func { param, op, args })
    }

    fn parse_casing(&mut self, param: String) -> Result<Node, EnvsubstError> {
        let op = self.operator(accept_casing_func, BAD_SUBSTITUTION)?;
        self.close()?;
        Ok(Node::Func {
            param,
            op,
            args: Vec::new(),
        })
    }

    fn parse_len(&mut self) -> Result<Node, EnvsubstError> {
        let op = self.operator(accept_one_hash, BAD_SUBSTITUTION)?;
        let param = self.operator(accept_ident, BAD_SUBSTITUTION)?;
        self.close()?;
        Ok(Node::Func {
            param,
            op,
            args: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn run(text: &str, strict: bool) -> Result<String, EnvsubstError> {
        let vars: HashMap<&str, &str> = [
            ("var", "value"),
            ("empty", ""),
            ("path", "/usr/local/bin/tool.tar.gz"),
            ("mixed", "hELLO wORLD"),
            ("num", "0123456789"),
        ]
        .into_iter()
        .collect();
        expand(text, &|k| vars.get(k).map(|v| (*v).to_owned()), strict)
    }

    fn ok(text: &str) -> String {
        run(text, false).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn plain_references_and_escapes() {
        assert_eq!(ok("a ${var} b"), "a value b");
        assert_eq!(ok("${unset}"), "");
        assert_eq!(ok("$var and $ alone"), "$var and $ alone");
        assert_eq!(ok("$${var}"), "${var}");
        assert_eq!(ok("$$${var}"), "$value");
        assert_eq!(ok("pa$$word"), "pa$word");
        assert_eq!(ok("$$$x"), "$$x");
        assert_eq!(ok("${var}${var}"), "valuevalue");
        assert_eq!(ok("ünï ${var} ✓"), "ünï value ✓");
    }

    #[test]
    fn twenty_thousand_nested_defaults_fail_instead_of_overflowing_the_stack() {
        let text = format!("{}x{}", "${a:=".repeat(20_000), "}".repeat(20_000));
        assert_eq!(run(&text, false), Err(EnvsubstError::TooDeep));
        let deepest = format!(
            "{}x{}",
            "${a:=".repeat(MAX_NESTING),
            "}".repeat(MAX_NESTING)
        );
        assert_eq!(ok(&deepest), "x");
    }

    #[test]
    fn defaults() {
        assert_eq!(ok("${unset:=dflt}"), "dflt");
        assert_eq!(ok("${unset:-dflt}"), "dflt");
        assert_eq!(ok("${unset=dflt}"), "dflt");
        assert_eq!(ok("${empty:-dflt}"), "dflt");
        assert_eq!(ok("${empty=dflt}"), "dflt");
        assert_eq!(ok("${var:-dflt}"), "value");
        assert_eq!(ok("${unset:-${var}}"), "value");
        assert_eq!(ok("${unset:-a${var}b}"), "avalueb");
        assert_eq!(ok("${unset:-}"), "");
        assert_eq!(ok("${unset:+x}"), "x");
        assert_eq!(ok("${unset:?x}"), "x");
        assert_eq!(ok("${unset:-a b: c}"), "a b: c");
    }

    #[test]
    fn string_functions() {
        assert_eq!(ok("${#var}"), "5");
        assert_eq!(ok("${var^}"), "Value");
        assert_eq!(ok("${var^^}"), "VALUE");
        assert_eq!(ok("${mixed,}"), "hELLO wORLD");
        assert_eq!(ok("${mixed,,}"), "hello world");
        assert_eq!(ok("${num:7}"), "789");
        assert_eq!(ok("${num:-3}"), "0123456789");
        assert_eq!(ok("${num: -3}"), "0123456789");
        assert_eq!(ok("${num:2:3}"), "234");
        assert_eq!(ok("${num:1:-1}"), "12345678");
        assert_eq!(ok("${num:20}"), "");
        assert_eq!(ok("${num:x}"), "0123456789");
        assert_eq!(ok("${path#*/}"), "usr/local/bin/tool.tar.gz");
        // `*` does not match `/` (Go's path.Match), unlike bash.
        assert_eq!(ok("${path##*/}"), "usr/local/bin/tool.tar.gz");
        assert_eq!(ok("${path%.*}"), "/usr/local/bin/tool.tar");
        assert_eq!(ok("${path%%.*}"), "/usr/local/bin/tool");
        assert_eq!(ok("${var/l/L}"), "vaLue");
        assert_eq!(ok("${path//\\//:}"), ":usr:local:bin:tool.tar.gz");
        assert_eq!(ok("${var/#va/VA}"), "VAlue");
        assert_eq!(ok("${var/%ue/UE}"), "valUE");
        assert_eq!(ok("${var/a/}"), "vlue");
        assert_eq!(ok("${var/#/x}"), "xvalue");
    }

    #[test]
    fn malformed_expressions_fail_with_fluxs_messages() {
        let err = |t: &str| run(t, false).unwrap_err().to_string();
        assert_eq!(err("${var"), "missing closing brace");
        assert_eq!(err("${var-dflt}"), "missing closing brace");
        assert_eq!(err("${}"), "unable to parse variable name");
        assert_eq!(err("${-x}"), "unable to parse variable name");
        assert_eq!(
            err("${var:-abc"),
            "unable to parse substitution within function"
        );
        assert_eq!(
            err("${var:}"),
            "unable to parse substitution within function"
        );
        assert_eq!(err("${#}"), "bad substitution");
        assert_eq!(err("${var^x}"), "bad substitution");
        // The pattern runs to the next `/`, so a replacement without one never closes.
        assert_eq!(err("${var/a}"), "bad substitution");
    }

    #[test]
    fn strict_mode_names_the_variable_but_lets_defaults_through() {
        assert_eq!(
            run("${unset}", true).unwrap_err(),
            EnvsubstError::NotSet("unset".into())
        );
        assert_eq!(
            run("${#unset}", true).unwrap_err().to_string(),
            "variable not set (strict mode): \"unset\""
        );
        assert_eq!(run("${unset:=x}", true).unwrap(), "x");
        assert_eq!(run("${empty}", true).unwrap(), "");
        // Arguments are expanded even when the value makes them unnecessary.
        assert!(run("${var:-${unset}}", true).is_err());
    }
}
