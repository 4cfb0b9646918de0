//! Splits template text into tokens the way Go's `text/template/parse` lexer does: text between
//! actions, delimiters with their trim markers, and the words inside actions.

use std::borrow::Cow;

use super::ParseError;

/// A token kind. Tokens borrow from the template text and are `Copy`: the parser copies them
/// as it looks ahead, and owned strings here were a large part of the parse time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tok<'a> {
    Text(&'a str),
    Left,
    Right,
    Space,
    Ident(&'a str),
    /// `.Name` (without the dot).
    Field(&'a str),
    /// `$` or `$name` (with the dollar).
    Var(&'a str),
    Dot,
    Str(QStr<'a>),
    Char(char),
    Number(&'a str),
    Bool(bool),
    Nil,
    Pipe,
    Declare,
    Assign,
    LParen,
    RParen,
    Comma,
    Keyword(&'static str),
    Eof,
}

/// A string constant as written: its text, unescaped only when the parser takes its value (the
/// lexer has checked the escapes, so that errors come in text order as before).
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct QStr<'a> {
    /// The text between the quotes, or the whole quoted literal when `escaped`.
    text: &'a str,
    escaped: bool,
}

impl<'a> QStr<'a> {
    /// The string's value.
    pub(crate) fn value(self) -> Cow<'a, str> {
        if self.escaped {
            lex_quoted(self.text, 0).map(|(v, _)| v).unwrap_or_default()
        } else {
            Cow::Borrowed(self.text)
        }
    }
}

/// As the value (what the derived `Debug` of an unescaped string printed).
impl std::fmt::Debug for QStr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.value())
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok<'a>,
    pub(crate) pos: usize,
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenizes `src`; `name` is used in errors only.
pub(crate) fn lex(src: &str) -> Result<Vec<Token<'_>>, ParseError> {
    let b = src.as_bytes();
    // About one token per eight bytes of template text: most growth steps are skipped.
    let mut toks = Vec::with_capacity(src.len() / 8 + 8);
    let mut i = 0;
    let mut trim_next_text = false;
    while i <= b.len() {
        // Text up to the next `{{`.
        let start = i;
        let next = find_left(src, i);
        let mut text = &src[start..next];
        if trim_next_text {
            text = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
            trim_next_text = false;
        }
        if next == b.len() {
            if !text.is_empty() {
                toks.push(Token {
                    tok: Tok::Text(text),
                    pos: start,
                });
            }
            break;
        }
        // Left trim marker: `{{- ` (the dash must be followed by a space).
        let left_trim =
            b.get(next + 2) == Some(&b'-') && b.get(next + 3).is_some_and(|&c| is_space(c));
        if left_trim {
            text = text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
        }
        if !text.is_empty() {
            toks.push(Token {
                tok: Tok::Text(text),
                pos: start,
            });
        }
        i = next + 2;
        if left_trim {
            i += 1;
        }
        // Comment: `{{/* ... */}}`, possibly with trim markers and spaces around.
        let mut j = i;
        if left_trim {
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
        }
        if src[j..].starts_with("/*") {
            let Some(end) = src[j + 2..].find("*/") else {
                return Err(ParseError::at(next, "unclosed comment"));
            };
            let mut k = j + 2 + end + 2;
            let mut trim = false;
            if src[k..].starts_with(" -}}")
                || src[k..].starts_with("\t-}}")
                || src[k..].starts_with("\n-}}")
            {
                trim = true;
                k += 4;
            } else if src[k..].starts_with("}}") {
                k += 2;
            } else {
                return Err(ParseError::at(k, "comment ends before closing delimiter"));
            }
            trim_next_text = trim;
            i = k;
            continue;
        }
        toks.push(Token {
            tok: Tok::Left,
            pos: next,
        });
        let mut paren_depth = 0i32;
        // Inside an action.
        loop {
            if i >= b.len() {
                return Err(ParseError::at(i, "unclosed action"));
            }
            let c = b[i];
            // Right delimiter, possibly with a trim marker ` -}}`.
            if is_space(c) {
                let s = i;
                while i < b.len() && is_space(b[i]) {
                    i += 1;
                }
                if src[i..].starts_with("-}}") {
                    toks.push(Token {
                        tok: Tok::Right,
                        pos: i,
                    });
                    i += 3;
                    trim_next_text = true;
                    break;
                }
                toks.push(Token {
                    tok: Tok::Space,
                    pos: s,
                });
                continue;
            }
            if src[i..].starts_with("}}") {
                if paren_depth > 0 {
                    return Err(ParseError::at(i, "unclosed left paren"));
                }
                toks.push(Token {
                    tok: Tok::Right,
                    pos: i,
                });
                i += 2;
                break;
            }
            let pos = i;
            let tok = match c {
                b'|' => {
                    i += 1;
                    Tok::Pipe
                }
                b'(' => {
                    i += 1;
                    paren_depth += 1;
                    Tok::LParen
                }
                b')' => {
                    i += 1;
                    paren_depth -= 1;
                    if paren_depth < 0 {
                        return Err(ParseError::at(pos, "unexpected right paren"));
                    }
                    Tok::RParen
                }
                b',' => {
                    i += 1;
                    Tok::Comma
                }
                b':' => {
                    if b.get(i + 1) == Some(&b'=') {
                        i += 2;
                        Tok::Declare
                    } else {
                        return Err(ParseError::at(pos, "expected :="));
                    }
                }
                b'=' => {
                    i += 1;
                    Tok::Assign
                }
                b'"' => {
                    let (s, end) = lex_quoted(src, i)?;
                    let q = match s {
                        Cow::Borrowed(text) => QStr {
                            text,
                            escaped: false,
                        },
                        Cow::Owned(_) => QStr {
                            text: &src[i..end],
                            escaped: true,
                        },
                    };
                    i = end;
                    Tok::Str(q)
                }
                b'`' => {
                    let Some(end) = src[i + 1..].find('`') else {
                        return Err(ParseError::at(pos, "unterminated raw quoted string"));
                    };
                    let text = &src[i + 1..i + 1 + end];
                    i = i + 1 + end + 1;
                    Tok::Str(QStr {
                        text,
                        escaped: false,
                    })
                }
                b'\'' => {
                    let (ch, end) = lex_char(src, i)?;
                    i = end;
                    Tok::Char(ch)
                }
                b'$' => {
                    let k = scan_word(src, i + 1);
                    let v = &src[i..k];
                    i = k;
                    Tok::Var(v)
                }
                b'.' => {
                    // A number like `.5`?
                    if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                        let end = scan_number(b, i);
                        let n = &src[i..end];
                        i = end;
                        Tok::Number(n)
                    } else {
                        let k = scan_word(src, i + 1);
                        if k == i + 1 {
                            i += 1;
                            Tok::Dot
                        } else {
                            let f = &src[i + 1..k];
                            i = k;
                            Tok::Field(f)
                        }
                    }
                }
                b'0'..=b'9' | b'+' | b'-' => {
                    let end = scan_number(b, i);
                    if end == i || (end == i + 1 && !b[i].is_ascii_digit()) {
                        return Err(ParseError::at(
                            pos,
                            format!("bad character {:?}", c as char),
                        ));
                    }
                    let n = &src[i..end];
                    if b.get(end)
                        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        return Err(ParseError::at(
                            pos,
                            format!("bad number syntax: {:?}", &src[i..=end]),
                        ));
                    }
                    i = end;
                    Tok::Number(n)
                }
                _ => {
                    let ch = src[i..].chars().next().unwrap_or('\0');
                    if is_alnum(ch) {
                        let k = scan_word(src, i);
                        let w = &src[i..k];
                        i = k;
                        match w {
                            "true" => Tok::Bool(true),
                            "false" => Tok::Bool(false),
                            "nil" => Tok::Nil,
                            w => match KEYWORDS.iter().find(|k| **k == w) {
                                Some(k) => Tok::Keyword(k),
                                None => Tok::Ident(w),
                            },
                        }
                    } else {
                        return Err(ParseError::at(
                            pos,
                            format!("unrecognized character in action: {ch:?}"),
                        ));
                    }
                }
            };
            toks.push(Token { tok, pos });
        }
    }
    toks.push(Token {
        tok: Tok::Eof,
        pos: b.len(),
    });
    Ok(toks)
}

/// Offset of the next `{{` at or after `from`, or the end of the text. Searches for the
/// character `{` (memchr inside `str::find`): a substring search costs a set-up on every call,
/// and there is one call per action.
fn find_left(src: &str, from: usize) -> usize {
    let b = src.as_bytes();
    let mut i = from;
    while let Some(p) = src[i..].find('{') {
        let at = i + p;
        if b.get(at + 1) == Some(&b'{') {
            return at;
        }
        i = at + 1;
    }
    b.len()
}

/// ASCII letters, digits and `_`.
static WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_';
        c += 1;
    }
    t
};

/// The end of the word (letters, digits, `_`) starting at `from`; ASCII byte by byte, other
/// characters decoded.
fn scan_word(src: &str, from: usize) -> usize {
    let b = src.as_bytes();
    let mut k = from;
    while k < b.len() {
        let c = b[k];
        if WORD_BYTE[usize::from(c)] {
            k += 1;
        } else if c.is_ascii() {
            break;
        } else {
            match src[k..].chars().next() {
                Some(ch) if is_alnum(ch) => k += ch.len_utf8(),
                _ => break,
            }
        }
    }
    k
}

fn scan_number(b: &[u8], start: usize) -> usize {
    let mut i = start;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b.get(i) == Some(&b'0') {
        match b.get(i + 1) {
            Some(b'x' | b'X') => {
                i += 2;
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            Some(b'o' | b'O') => {
                i += 2;
                digits = b"01234567_";
                exp = b"";
            }
            Some(b'b' | b'B') => {
                i += 2;
                digits = b"01_";
                exp = b"";
            }
            _ => {}
        }
    }
    while i < b.len() && digits.contains(&b[i]) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && digits.contains(&b[i]) {
            i += 1;
        }
    }
    if !exp.is_empty() && b.get(i).is_some_and(|c| exp.contains(c)) {
        i += 1;
        if b.get(i).is_some_and(|&c| c == b'+' || c == b'-') {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if b.get(i) == Some(&b'i') {
        i += 1;
    }
    i
}

/// Reads a Go double-quoted string starting at `start` (the quote); returns it unescaped and
/// the offset after the closing quote.
fn lex_quoted(src: &str, start: usize) -> Result<(Cow<'_, str>, usize), ParseError> {
    // Most strings have no escapes: borrow them.
    let body = &src[start + 1..];
    if let Some(end) = body
        .bytes()
        .position(|c| c == b'"' || c == b'\\' || c == b'\n')
        && body.as_bytes()[end] == b'"'
    {
        return Ok((Cow::Borrowed(&body[..end]), start + 1 + end + 1));
    }
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            '"' => return Ok((Cow::Owned(out), start + 1 + k + 1)),
            '\n' => break,
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..n {
                            let Some((_, h)) = chars.next() else { break };
                            code = code * 16 + h.to_digit(16).unwrap_or(0);
                        }
                        out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    '0'..='7' => {
                        let mut code = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            let Some((_, h)) = chars.next() else { break };
                            code = code * 8 + h.to_digit(8).unwrap_or(0);
                        }
                        out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    other => {
                        return Err(ParseError::at(
                            start,
                            format!("invalid syntax: unknown escape sequence \\{other}"),
                        ));
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(ParseError::at(start, "unterminated quoted string"))
}

fn lex_char(src: &str, start: usize) -> Result<(char, usize), ParseError> {
    let rest = &src[start + 1..];
    let Some(end) = rest.find('\'') else {
        return Err(ParseError::at(start, "unterminated character constant"));
    };
    let body = &rest[..end];
    let ch = if let Some(esc) = body.strip_prefix('\\') {
        let quoted = format!("\"\\{esc}\"");
        let (s, _) = lex_quoted(&quoted, 0)?;
        s.chars().next()
    } else {
        body.chars().next()
    };
    let ch = ch.ok_or_else(|| ParseError::at(start, "empty character constant"))?;
    Ok((ch, start + 1 + end + 1))
}
