//! `gitops plan`: what every unit of a repository will apply, level by level.

use super::ExitStatus;
use crate::cli::{PlanArgs, PlanFormat};
use crate::printer::Printer;

pub(crate) fn run(args: &PlanArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let discovery = super::repo::discover(&args.repo)?;
    let only = match &args.unit {
        Some(name) => Some(super::repo::find_unit(&discovery, name)?),
        None => None,
    };
    let plan = gitops_render::repo::plan(&discovery, only.as_ref());
    let text = match args.output {
        PlanFormat::Json => {
            let mut text = serde_json::to_string_pretty(&plan)?;
            text.push('\n');
            text
        }
        PlanFormat::Text => crate::report::plan_text(&plan),
    };
    printer.data(&text)?;
    Ok(if plan.has_errors() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
