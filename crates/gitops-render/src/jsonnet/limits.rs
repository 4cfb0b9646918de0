//! Bounds on what a Jsonnet program may produce.
//!
//! jrsonnet concatenates strings as ropes that know their length, so a string doubled forty
//! times costs forty nodes while it is built and a terabyte once it is written out. The output is
//! therefore measured before it is manifested, and refused when it is too large.
//!
//! # Caveats
//! This bounds the output only. A program that flattens a huge rope on its way (`std.asciiUpper`
//! of one, say), or that computes for ever, is not stopped here: jrsonnet has no memory or time
//! budget; a deadline and a memory budget have to come from the caller (the operator renders
//! in a child process with both).

use jrsonnet_evaluator::val::ArrValue;
use jrsonnet_evaluator::{IStr, ObjValue, Val};

/// The most bytes of JSON a program may manifest to: Helm's `MaxDecompressedChartSize`
/// (100 MiB), the bound Helm puts on a whole chart, taken as the bound of a whole source.
pub(super) const MAX_OUTPUT_BYTES: usize = 100 << 20;

/// Whether `value` manifests to more than [`MAX_OUTPUT_BYTES`] bytes, measured (a lower bound)
/// without writing it out, depth first with a stack of its own (memory in proportion to the
/// depth, not the size). An evaluation error met on the way stops the measurement (`false`):
/// manifesting the value reports it with its trace.
pub(super) fn output_too_large(value: &Val) -> bool {
    /// A container being measured and the position of its next child.
    enum Frame {
        Arr(ArrValue, u32),
        Obj(ObjValue, Vec<IStr>, usize),
    }
    let mut size = 0usize;
    let mut stack = Vec::new();
    let mut next = Some(value.clone());
    loop {
        if let Some(v) = next.take() {
            let cost = match v {
                Val::Str(s) => s.len().saturating_add(2),
                Val::Arr(items) => {
                    // Brackets and a comma (at least one byte) per element.
                    let cost = 2 + items.len() as usize;
                    stack.push(Frame::Arr(items, 0));
                    cost
                }
                Val::Obj(object) => {
                    let fields = object.fields();
                    let cost = fields
                        .iter()
                        .fold(2usize, |n, f| n.saturating_add(f.len() + 4));
                    stack.push(Frame::Obj(object, fields, 0));
                    cost
                }
                _ => 1,
            };
            size = size.saturating_add(cost);
            if size > MAX_OUTPUT_BYTES {
                return true;
            }
        }
        let child = match stack.last_mut() {
            None => return false,
            Some(Frame::Arr(items, i)) if *i < items.len() => {
                *i += 1;
                items.get(*i - 1)
            }
            Some(Frame::Obj(object, fields, i)) if *i < fields.len() => {
                *i += 1;
                object.get(fields[*i - 1].clone())
            }
            Some(_) => {
                stack.pop();
                continue;
            }
        };
        match child {
            Ok(Some(v)) => next = Some(v),
            _ => return false,
        }
    }
}
