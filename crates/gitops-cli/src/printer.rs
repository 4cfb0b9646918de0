//! All output goes through here: data on stdout, messages on stderr.

use std::io::Write;

use gitops_core::{Object, yaml};

use crate::cli::{GlobalArgs, OutputFormat};

/// Prints data and messages, honouring `--quiet`.
pub(crate) struct Printer {
    quiet: bool,
}

impl Printer {
    pub(crate) fn new(global: &GlobalArgs) -> Self {
        Self {
            quiet: global.quiet,
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

    /// Prints a warning to stderr, unless `--quiet`.
    pub(crate) fn warning(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "warning: {message}");
        }
    }

    /// Prints an error and its causes to stderr: `error: …` then one `caused by: …` per cause.
    pub(crate) fn error(&self, err: &anyhow::Error) {
        let _ = self.quiet;
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error: {err}");
        for cause in err.chain().skip(1) {
            let _ = writeln!(stderr, "  caused by: {cause}");
        }
    }
}
