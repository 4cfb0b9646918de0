//! All output goes through here: data on stdout, messages on stderr.

use std::io::{IsTerminal as _, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use gitops_core::{Object, yaml};

use crate::cli::{GlobalArgs, OutputFormat, ReportFormat};

/// Prints data and messages, honouring `--quiet`.
pub(crate) struct Printer {
    quiet: bool,
    /// Whether stderr is a terminal (progress lines are redrawn in place there).
    tty: bool,
    /// Whether stdout is a terminal (diffs are coloured there).
    color: bool,
    progress: AtomicUsize,
}

impl Printer {
    pub(crate) fn new(global: &GlobalArgs) -> Self {
        Self {
            quiet: global.quiet,
            tty: std::io::stderr().is_terminal(),
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            progress: AtomicUsize::new(0),
        }
    }

    /// Prints one line of data (a change, a drift entry) on stdout.
    pub(crate) fn line(&self, text: &str) {
        self.clear_progress();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Prints a status message on stderr (not with `--quiet`).
    pub(crate) fn note(&self, text: &str) {
        if self.quiet {
            return;
        }
        self.clear_progress();
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// On a terminal, redraws one progress line on stderr (`applied 120/1000`); elsewhere does
    /// nothing, as the per-object lines say the same.
    pub(crate) fn progress(&self, text: &str) {
        if self.quiet || !self.tty {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
        self.progress.store(1, Ordering::Relaxed);
    }

    fn clear_progress(&self) {
        if self.progress.swap(0, Ordering::Relaxed) == 1 {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }

    /// Prints a unified diff on stdout, coloured on a terminal.
    pub(crate) fn diff(&self, text: &str) {
        self.clear_progress();
        let mut out = std::io::stdout().lock();
        for line in text.lines() {
            let color = match line.as_bytes().first() {
                _ if !self.color => None,
                _ if line.starts_with("+++") || line.starts_with("---") => Some("1"),
                Some(b'+') => Some("32"),
                Some(b'-') => Some("31"),
                Some(b'@') => Some("36"),
                _ => None,
            };
            let _ = match color {
                Some(c) => writeln!(out, "\x1b[{c}m{line}\x1b[0m"),
                None => writeln!(out, "{line}"),
            };
        }
    }

    /// Writes objects to stdout in the requested format. Data is printed even with `--quiet`.
    pub(crate) fn objects<'a>(
        &self,
        objects: impl Iterator<Item = &'a Object>,
        format: OutputFormat,
    ) -> std::io::Result<()> {
        let text = match format {
            OutputFormat::Yaml => {
                let values: Vec<_> = objects.map(Object::to_value).collect();
                yaml::to_string_multi(&values)
            }
            OutputFormat::Json => {
                let values: Vec<_> = objects.map(Object::to_value).collect();
                let mut text = serde_json::to_string_pretty(&values)?;
                text.push('\n');
                text
            }
        };
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes text data to stdout as it is. Printed even with `--quiet`.
    pub(crate) fn data(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes a report of named values to stdout: `key: value` lines, or one JSON object
    /// (numbers stay strings only where they are not numbers). Printed even with `--quiet`.
    pub(crate) fn report(
        &self,
        fields: &[(&str, String)],
        format: ReportFormat,
    ) -> std::io::Result<()> {
        let text = match format {
            ReportFormat::Text => fields
                .iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect::<String>(),
            ReportFormat::Json => {
                let map: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| {
                        let value = v.parse::<u64>().map_or_else(
                            |_| serde_json::Value::String(v.clone()),
                            serde_json::Value::from,
                        );
                        ((*k).to_owned(), value)
                    })
                    .collect();
                let mut text = serde_json::to_string_pretty(&map)?;
                text.push('\n');
                text
            }
        };
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Prints a warning to stderr, unless `--quiet`.
    pub(crate) fn warning(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "warning: {message}");
        }
    }

    /// Prints an error and its causes to stderr: `error: …` then one `caused by: …` per cause,
    /// leaving out a cause that the message before it already quotes.
    pub(crate) fn error(&self, err: &anyhow::Error) {
        self.clear_progress();
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error: {err}");
        let mut previous = err.to_string();
        for cause in err.chain().skip(1) {
            let text = cause.to_string();
            if !previous.contains(&text) {
                let _ = writeln!(stderr, "  caused by: {text}");
            }
            previous = text;
        }
    }
}
