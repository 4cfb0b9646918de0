//! Success and failure conditions: small boolean expressions over a measurement's `result`,
//! such as `result[0] >= 0.95`, `result < 500 && len(result) > 0` or `isNaN(result[0])`.
//!
//! Grammar: `||`/`or`, `&&`/`and`, `!`/`not`, comparisons `== != < <= > >=`, `+ - * /`,
//! parentheses, numbers, `true`/`false`, `result` (the first value), `result[N]`, `len(result)`,
//! `isNaN(x)`, `isInf(x)`.

/// An expression that cannot be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition {condition:?}: {message}")]
pub struct ConditionError {
    /// The whole condition.
    pub condition: String,
    /// What went wrong, and where.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Ident(String),
    Op(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Num(f64),
    Bool(bool),
}

/// Evaluates `condition` against `result`.
///
/// # Errors
/// A syntax error, an index past the result's end, or an expression that is not a boolean.
pub fn evaluate(condition: &str, result: &[f64]) -> Result<bool, ConditionError> {
    let fail = |message: String| ConditionError {
        condition: condition.to_owned(),
        message,
    };
    let tokens = tokenize(condition).map_err(fail)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        result,
    };
    let value = p.or().map_err(fail)?;
    if p.pos != p.tokens.len() {
        return Err(fail(format!(
            "expected the end of the expression, found {:?}",
            p.tokens[p.pos]
        )));
    }
    match value {
        Val::Bool(b) => Ok(b),
        Val::Num(n) => Err(fail(format!(
            "expected a true/false expression, found the number {n}"
        ))),
    }
}

const OPS: [&str; 17] = [
    "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "(", ")", "[", "]", "+", "-", "*", "/",
];

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            let end = rest
                .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == 'e' || ch == 'E'))
                .unwrap_or(rest.len());
            let n: f64 = rest[..end]
                .parse()
                .map_err(|_| format!("expected a number, found {:?}", &rest[..end]))?;
            out.push(Token::Num(n));
            rest = &rest[end..];
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            out.push(Token::Ident(rest[..end].to_owned()));
            rest = &rest[end..];
        } else if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            out.push(Token::Op(op));
            rest = &rest[op.len()..];
        } else {
            let offset = text.len() - rest.len();
            return Err(format!("unexpected {c:?} at offset {offset}"));
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    result: &'a [f64],
}

impl Parser<'_> {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Op(o)) if *o == op)
    }

    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Ident(w)) if w == word)
    }

    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.peek_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "expected {op:?}, found {}",
                self.tokens
                    .get(self.pos)
                    .map_or_else(|| "the end".to_owned(), |t| format!("{t:?}"))
            ))
        }
    }

    fn boolean(v: Val, what: &str) -> Result<bool, String> {
        match v {
            Val::Bool(b) => Ok(b),
            Val::Num(n) => Err(format!(
                "expected a true/false operand of {what}, found {n}"
            )),
        }
    }

    fn number(v: Val, what: &str) -> Result<f64, String> {
        match v {
            Val::Num(n) => Ok(n),
            Val::Bool(b) => Err(format!("expected a number operand of {what}, found {b}")),
        }
    }

    fn or(&mut self) -> Result<Val, String> {
        let mut left = self.and()?;
        while self.peek_op("||") || self.peek_ident("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Val::Bool(Self::boolean(left, "||")? | Self::boolean(right, "||")?);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Val, String> {
        let mut left = self.not()?;
        while self.peek_op("&&") || self.peek_ident("and") {
            self.pos += 1;
            let right = self.not()?;
            left = Val::Bool(Self::boolean(left, "&&")? & Self::boolean(right, "&&")?);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Val, String> {
        if self.peek_op("!") || self.peek_ident("not") {
            self.pos += 1;
            let v = self.not()?;
            return Ok(Val::Bool(!Self::boolean(v, "!")?));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Val, String> {
        let left = self.sum()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.peek_op(op) {
                self.pos += 1;
                let right = self.sum()?;
                if let (Val::Bool(a), Val::Bool(b)) = (left, right) {
                    return match op {
                        "==" => Ok(Val::Bool(a == b)),
                        "!=" => Ok(Val::Bool(a != b)),
                        _ => Err(format!("expected numbers around {op}, found booleans")),
                    };
                }
                let (a, b) = (Self::number(left, op)?, Self::number(right, op)?);
                #[allow(clippy::float_cmp)]
                let r = match op {
                    "==" => a == b,
                    "!=" => a != b,
                    "<=" => a <= b,
                    ">=" => a >= b,
                    "<" => a < b,
                    _ => a > b,
                };
                return Ok(Val::Bool(r));
            }
        }
        Ok(left)
    }

    fn sum(&mut self) -> Result<Val, String> {
        let mut left = self.product()?;
        while self.peek_op("+") || self.peek_op("-") {
            let plus = self.peek_op("+");
            self.pos += 1;
            let right = self.product()?;
            let (a, b) = (Self::number(left, "+/-")?, Self::number(right, "+/-")?);
            left = Val::Num(if plus { a + b } else { a - b });
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Val, String> {
        let mut left = self.unary()?;
        while self.peek_op("*") || self.peek_op("/") {
            let times = self.peek_op("*");
            self.pos += 1;
            let right = self.unary()?;
            let (a, b) = (Self::number(left, "*//")?, Self::number(right, "*//")?);
            left = Val::Num(if times { a * b } else { a / b });
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Val, String> {
        if self.peek_op("-") {
            self.pos += 1;
            let v = self.unary()?;
            return Ok(Val::Num(-Self::number(v, "-")?));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Val, String> {
        let token = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| "expected a value, found the end".to_owned())?;
        self.pos += 1;
        match token {
            Token::Num(n) => Ok(Val::Num(n)),
            Token::Op("(") => {
                let v = self.or()?;
                self.expect_op(")")?;
                Ok(v)
            }
            Token::Ident(word) => {
                match word.as_str() {
                    "true" => Ok(Val::Bool(true)),
                    "false" => Ok(Val::Bool(false)),
                    "result" => {
                        let index = if self.peek_op("[") {
                            self.pos += 1;
                            let Some(Token::Num(n)) = self.tokens.get(self.pos).cloned() else {
                                return Err("expected an index after result[".to_owned());
                            };
                            self.pos += 1;
                            self.expect_op("]")?;
                            if n < 0.0 || n.fract() != 0.0 {
                                return Err(format!("expected a whole index, found {n}"));
                            }
                            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                            let i = n as usize;
                            i
                        } else {
                            0
                        };
                        self.result.get(index).copied().map(Val::Num).ok_or_else(|| {
                        format!(
                            "result[{index}] does not exist: the query returned {} value(s)",
                            self.result.len()
                        )
                    })
                    }
                    "len" | "isNaN" | "isInf" => {
                        self.expect_op("(")?;
                        let v = if word == "len" {
                            if !self.peek_ident("result") {
                                return Err("expected len(result)".to_owned());
                            }
                            self.pos += 1;
                            #[allow(clippy::cast_precision_loss)]
                            let n = self.result.len() as f64;
                            Val::Num(n)
                        } else {
                            let x = self.or()?;
                            let x = Self::number(x, &word)?;
                            Val::Bool(if word == "isNaN" {
                                x.is_nan()
                            } else {
                                x.is_infinite()
                            })
                        };
                        self.expect_op(")")?;
                        Ok(v)
                    }
                    other => Err(format!(
                        "unknown name {other:?} (expected result, len, isNaN, isInf, true, false)"
                    )),
                }
            }
            Token::Op(op) => Err(format!("expected a value, found {op:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_conditions() {
        let r = [0.97, 250.0];
        let cases = [
            ("result[0] >= 0.95", true),
            ("result[0] < 0.95", false),
            ("result >= 0.95", true),
            ("result[1] <= 500 && result[0] > 0.9", true),
            ("result[1] > 500 || result[0] < 0.5", false),
            ("result[1] > 500 or result[0] > 0.5", true),
            ("not (result[0] > 0.5)", false),
            ("!(result[0] > 0.5) == false", true),
            ("len(result) == 2", true),
            ("isNaN(result[0])", false),
            ("result[0] * 100 >= 97", true),
            ("result[1] / 1000 < 0.3", true),
            ("-result[0] < 0", true),
            ("true", true),
            ("1 != 1", false),
        ];
        for (expr, want) in cases {
            assert_eq!(evaluate(expr, &r), Ok(want), "{expr}");
        }
        assert_eq!(evaluate("isNaN(result[0])", &[f64::NAN]), Ok(true));
    }

    #[test]
    fn reports_errors_with_the_condition() {
        let cases = [
            ("result[0] >=", "expected a value, found the end"),
            (
                "result[3] > 1",
                "result[3] does not exist: the query returned 1 value(s)",
            ),
            (
                "result[0]",
                "expected a true/false expression, found the number 1",
            ),
            ("foo > 1", "unknown name \"foo\""),
            ("result[0] > 1 )", "expected the end of the expression"),
            ("result[0] # 1", "unexpected '#' at offset 10"),
            ("(result[0] > 1", "expected \")\", found the end"),
            ("true && 1", "expected a true/false operand of &&, found 1"),
        ];
        for (expr, want) in cases {
            let err = evaluate(expr, &[1.0]).unwrap_err();
            assert_eq!(err.condition, expr);
            assert!(err.message.contains(want), "{expr}: {}", err.message);
        }
    }
}
