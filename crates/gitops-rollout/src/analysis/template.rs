//! `{{args.NAME}}` placeholders in queries, Argo's syntax.

use std::collections::BTreeMap;

/// A placeholder that cannot be filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The argument has no value.
    #[error("argument {name:?} has no value (give it in the step's args or the template's)")]
    MissingArg {
        /// The argument.
        name: String,
    },
    /// Something other than `args.NAME` between the braces.
    #[error("expected {{{{args.NAME}}}}, found {{{{{expression}}}}}")]
    Unsupported {
        /// What was there.
        expression: String,
    },
    /// `{{` without `}}`.
    #[error("unclosed {{{{ at byte {offset}")]
    Unclosed {
        /// Where it starts.
        offset: usize,
    },
}

/// Replaces every `{{args.NAME}}` (spaces inside the braces allowed) by its value.
///
/// # Errors
/// An unknown argument, another expression, or an unclosed placeholder.
pub fn render(text: &str, args: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unclosed {
                offset: text.len() - rest.len() + start,
            });
        };
        let expression = after[..end].trim();
        let Some(name) = expression.strip_prefix("args.") else {
            return Err(TemplateError::Unsupported {
                expression: expression.to_owned(),
            });
        };
        let value = args.get(name).ok_or_else(|| TemplateError::MissingArg {
            name: name.to_owned(),
        })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("service".to_owned(), "web-canary".to_owned()),
            ("namespace".to_owned(), "prod".to_owned()),
        ])
    }

    #[test]
    fn fills_placeholders() {
        let cases = [
            ("up{svc=\"{{args.service}}\"}", "up{svc=\"web-canary\"}"),
            ("{{ args.namespace }}/{{args.service}}", "prod/web-canary"),
            ("no placeholders", "no placeholders"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(render(input, &args()).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn reports_what_is_wrong() {
        assert_eq!(
            render("{{args.missing}}", &args()),
            Err(TemplateError::MissingArg {
                name: "missing".into()
            })
        );
        assert_eq!(
            render("x {{ .Values.x }}", &args()),
            Err(TemplateError::Unsupported {
                expression: ".Values.x".into()
            })
        );
        assert_eq!(
            render("ab {{args.service", &args()),
            Err(TemplateError::Unclosed { offset: 3 })
        );
        let message = render("{{x}}", &args()).unwrap_err().to_string();
        assert_eq!(message, "expected {{args.NAME}}, found {{x}}");
    }
}
