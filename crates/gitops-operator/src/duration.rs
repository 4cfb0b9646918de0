//! Go durations as the API writes them (`1m30s`, `500ms`, `2.5h`), the format of every
//! `interval`, `retryInterval` and `timeout` field. Pure.

use std::time::Duration;

/// A string that is not a Go duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a duration: {reason} (expected e.g. `30s`, `5m`, `1h30m`, `500ms`)")]
pub struct DurationError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses a Go duration: one or more `<number><unit>` with units `ns`, `us`, `ms`, `s`, `m`, `h`;
/// a number may have a fraction. Negative durations are refused.
///
/// # Errors
/// When the text is empty, has an unknown unit or a number without one.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let error = |reason: &str| DurationError {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error("it is empty"));
    }
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = trimmed;
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| error("a number has no unit"))?;
        if number_end == 0 {
            return Err(error("expected a number"));
        }
        let number: f64 = rest[..number_end]
            .parse()
            .map_err(|_| error("a number is malformed"))?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(error("unknown unit")),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| error("out of range"))
}

/// Parses an optional duration field, falling back to `default` when absent.
///
/// # Errors
/// As [`parse`], naming the field.
pub fn field(value: Option<&str>, field: &str, default: Duration) -> Result<Duration, String> {
    match value {
        None => Ok(default),
        Some(text) => parse(text).map_err(|e| format!("spec.{field}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_compound_durations() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1m0s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in ["", "10", "s", "5x", "-1s", "1..2s"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let message = parse("5x").unwrap_err().to_string();
        assert!(
            message.contains("`5x`") && message.contains("unknown unit"),
            "{message}"
        );
    }

    #[test]
    fn a_field_names_itself_in_errors_and_falls_back_when_absent() {
        assert_eq!(
            field(None, "interval", Duration::from_secs(60)),
            Ok(Duration::from_secs(60))
        );
        let e = field(Some("soon"), "interval", Duration::ZERO).unwrap_err();
        assert!(e.starts_with("spec.interval: "), "{e}");
    }
}
