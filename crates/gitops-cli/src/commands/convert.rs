//! `gitops convert`: Flux objects to gitops.rs ones and back.

use std::sync::Arc;

use anyhow::Context;
use gitops_core::unit::convert::{self, Target};
use gitops_core::yaml::{self, Schema};

use super::ExitStatus;
use crate::cli::{ConvertArgs, ConvertTarget};
use crate::printer::Printer;

pub(crate) fn run(args: &ConvertArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let objects = gitops_core::manifest::parse_yaml(
        &text,
        Some(Arc::from(args.file.as_path())),
        Schema::Yaml12,
    )?;
    let target = match args.to {
        ConvertTarget::Gitops => Target::Gitops,
        ConvertTarget::Flux => Target::Flux,
    };
    let mut values = Vec::with_capacity(objects.len());
    for o in objects {
        values.push(convert::convert(o.object, target)?.into_value());
    }
    printer.data(&yaml::to_string_multi(&values))?;
    Ok(ExitStatus::Success)
}
