//! Date functions on UTC times: `now`, `date`/`dateInZone` (Go reference-time layouts),
//! `htmlDate`, `unixEpoch`, `toDate`, `ago`, `duration`, `dateModify` (Go's `ParseDuration`
//! syntax) and `durationRound`. Times are Unix seconds with nanoseconds; zones other than UTC
//! are treated as UTC. `now` is non-deterministic.

use std::fmt::Write as _;
use std::rc::Rc;

use super::conv::to_i64;
use crate::gotemplate::{FuncMap, NO_WRAP, Object, Value, arity, want_str};

/// A point in time (Go's `time.Time`), UTC.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Time {
    secs: i64,
    nanos: u32,
}

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Unix" => Some(Value::Int(self.secs)),
            "UnixNano" => Some(Value::Int(
                self.secs
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(self.nanos)),
            )),
            "Nanosecond" => Some(Value::Int(i64::from(self.nanos))),
            "Year" => Some(Value::Int(civil(self.secs).0)),
            "UTC" => Some(Value::Object(Rc::new(*self))),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::str(format(self, "2006-01-02T15:04:05.999999999Z07:00"))
    }
    fn display(&self) -> String {
        format(self, "2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

fn now() -> Time {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Time {
        secs: d.as_secs() as i64,
        nanos: d.subsec_nanos(),
    }
}

/// (year, month, day, hour, minute, second, weekday) of Unix seconds.
pub(super) fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = (days + 4).rem_euclid(7) as u32;
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
        wd,
    )
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

type Token<'a> = (&'a str, &'a dyn Fn(&mut String));

/// Formats with a Go layout (`2006-01-02 15:04:05`), in UTC.
fn format(t: &Time, layout: &str) -> String {
    let (y, mo, d, h, mi, s, wd) = civil(t.secs);
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        let tokens: &[Token<'_>] = &[
            ("2006", &|o| {
                let _ = write!(o, "{y:04}");
            }),
            ("January", &|o| o.push_str(MONTHS[(mo - 1) as usize])),
            ("Jan", &|o| o.push_str(&MONTHS[(mo - 1) as usize][..3])),
            ("Monday", &|o| o.push_str(DAYS[wd as usize])),
            ("Mon", &|o| o.push_str(&DAYS[wd as usize][..3])),
            ("MST", &|o| o.push_str("UTC")),
            ("Z07:00", &|o| o.push('Z')),
            ("-07:00", &|o| o.push_str("+00:00")),
            ("-0700", &|o| o.push_str("+0000")),
            (".999999999", &|o| {
                if t.nanos > 0 {
                    let s = format!(".{:09}", t.nanos);
                    o.push_str(s.trim_end_matches('0'));
                }
            }),
            (".000000", &|o| {
                let _ = write!(o, ".{:06}", t.nanos / 1000);
            }),
            (".000", &|o| {
                let _ = write!(o, ".{:03}", t.nanos / 1_000_000);
            }),
            ("01", &|o| {
                let _ = write!(o, "{mo:02}");
            }),
            ("02", &|o| {
                let _ = write!(o, "{d:02}");
            }),
            ("06", &|o| {
                let _ = write!(o, "{:02}", y % 100);
            }),
            ("15", &|o| {
                let _ = write!(o, "{h:02}");
            }),
            ("03", &|o| {
                let _ = write!(o, "{:02}", if h % 12 == 0 { 12 } else { h % 12 });
            }),
            ("04", &|o| {
                let _ = write!(o, "{mi:02}");
            }),
            ("05", &|o| {
                let _ = write!(o, "{s:02}");
            }),
            ("PM", &|o| o.push_str(if h >= 12 { "PM" } else { "AM" })),
            ("1", &|o| {
                let _ = write!(o, "{mo}");
            }),
            ("2", &|o| {
                let _ = write!(o, "{d}");
            }),
            ("3", &|o| {
                let _ = write!(o, "{}", if h % 12 == 0 { 12 } else { h % 12 });
            }),
            ("4", &|o| {
                let _ = write!(o, "{mi}");
            }),
            ("5", &|o| {
                let _ = write!(o, "{s}");
            }),
        ];
        if let Some((tok, f)) = tokens.iter().find(|(tok, _)| rest.starts_with(tok)) {
            f(&mut out);
            rest = &rest[tok.len()..];
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn to_time(v: &Value) -> Time {
    match v {
        Value::Object(o) => {
            let secs = o.field("Unix").map_or(0, |v| to_i64(&v));
            let nanos = o.field("Nanosecond").map_or(0, |v| to_i64(&v)) as u32;
            Time { secs, nanos }
        }
        other => Time {
            secs: to_i64(other),
            nanos: 0,
        },
    }
}

/// Parses `2006-01-02`-style dates and RFC 3339 timestamps (UTC).
fn parse_date(layout: &str, s: &str) -> Option<Time> {
    let _ = layout;
    let s = s.trim();
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, ""));
    let mut p = date.split('-');
    let y: i64 = p.next()?.parse().ok()?;
    let m: u32 = p.next()?.parse().ok()?;
    let d: u32 = p.next()?.parse().ok()?;
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if !time.is_empty() {
        let t = time.trim_end_matches('Z');
        let mut q = t.split(':');
        let h: i64 = q.next()?.parse().ok()?;
        let mi: i64 = q.next()?.parse().ok()?;
        let se: f64 = q.next().unwrap_or("0").parse().ok()?;
        secs += h * 3600 + mi * 60 + se as i64;
    }
    Some(Time { secs, nanos: 0 })
}

/// Go's `time.Duration.String()` for whole seconds.
fn duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let neg = secs < 0;
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if h > 0 {
        let _ = write!(out, "{h}h{m}m{sec}s");
    } else if m > 0 {
        let _ = write!(out, "{m}m{sec}s");
    } else {
        let _ = write!(out, "{sec}s");
    }
    out
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` with units `ns us µs ms s m h`,
/// or `0`; nanoseconds.
fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || {
        format!(
            "time: invalid duration {}",
            crate::gotemplate::fmt::quote(text)
        )
    };
    let (neg, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::gotemplate::fmt::quote(text)
                ));
            }
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::gotemplate::fmt::quote(unit),
                    crate::gotemplate::fmt::quote(text)
                ));
            }
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let digits = &frac_part[..frac_part.len().min(30)];
            let f: i128 = digits.parse().map_err(|_| invalid())?;
            value += f * scale / 10i128.pow(digits.len() as u32);
        }
        total += value;
        if total > i128::from(i64::MAX) + i128::from(neg) {
            return Err(invalid());
        }
    }
    let total = if neg { -total } else { total };
    i64::try_from(total).map_err(|_| invalid())
}

/// `t` moved by `nanos`.
fn add_nanos(t: Time, nanos: i64) -> Time {
    let total = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos) + i128::from(nanos);
    Time {
        secs: total.div_euclid(1_000_000_000) as i64,
        nanos: total.rem_euclid(1_000_000_000) as u32,
    }
}

/// A `time.Time` parameter.
fn want_time(v: &Value) -> Result<Time, String> {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => Ok(to_time(v)),
        Value::Nil => Err(format!("{NO_WRAP}invalid value; expected time.Time")),
        other => Err(format!(
            "{NO_WRAP}wrong type for value; expected time.Time; got {}",
            other.type_name()
        )),
    }
}

/// Sprig's `durationRound`: the largest whole unit (`y`, `mo`nths of 30 days, `d`, `h`,
/// `m`inutes, `s`) strictly below the duration. Strings are Go durations and times count from
/// now. An integer is nanoseconds: Go tells `int64` (counted) from an untyped `int` literal
/// (ignored, giving `0s`); our values do not, so both count.
fn duration_round(v: &Value) -> String {
    let d: i64 = match v {
        Value::Str(s) => parse_duration(s).unwrap_or(0),
        Value::Int(i) => *i,
        Value::Object(o) if o.type_name() == "time.Time" => {
            let t = to_time(v);
            let n = now();
            (i64::from(n.nanos) - i64::from(t.nanos))
                .saturating_add((n.secs - t.secs).saturating_mul(1_000_000_000))
        }
        _ => 0,
    };
    let u = d.unsigned_abs();
    const SECOND: u64 = 1_000_000_000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    const MONTH: u64 = 30 * DAY;
    const YEAR: u64 = 365 * DAY;
    for (unit, suffix) in [
        (YEAR, "y"),
        (MONTH, "mo"),
        (DAY, "d"),
        (HOUR, "h"),
        (MINUTE, "m"),
        (SECOND, "s"),
    ] {
        if u > unit {
            return format!("{}{suffix}", u / unit);
        }
    }
    "0s".to_owned()
}

pub(super) fn register(m: &mut FuncMap) {
    for name in ["dateModify", "date_modify"] {
        m.insert(name, |_, a| {
            arity("dateModify", a, 2)?;
            let shift = want_str(&a[0])?;
            let t = want_time(&a[1])?;
            Ok(Value::Object(Rc::new(match parse_duration(shift) {
                Ok(d) => add_nanos(t, d),
                Err(_) => t,
            })))
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        m.insert(name, |_, a| {
            arity("mustDateModify", a, 2)?;
            let shift = want_str(&a[0])?;
            let t = want_time(&a[1])?;
            parse_duration(shift).map(|d| Value::Object(Rc::new(add_nanos(t, d))))
        });
    }
    m.insert("durationRound", |_, a| {
        arity("durationRound", a, 1)?;
        Ok(Value::str(duration_round(&a[0])))
    });
    m.insert("now", |_, a| {
        arity("now", a, 0)?;
        Ok(Value::Object(Rc::new(now())))
    });
    m.insert("date", |_, a| {
        arity("date", a, 2)?;
        Ok(Value::str(format(&to_time(&a[1]), want_str(&a[0])?)))
    });
    for name in ["dateInZone", "date_in_zone"] {
        m.insert(name, |_, a| {
            arity("dateInZone", a, 3)?;
            Ok(Value::str(format(&to_time(&a[1]), want_str(&a[0])?)))
        });
    }
    m.insert("htmlDate", |_, a| {
        arity("htmlDate", a, 1)?;
        Ok(Value::str(format(&to_time(&a[0]), "2006-01-02")))
    });
    m.insert("htmlDateInZone", |_, a| {
        arity("htmlDateInZone", a, 2)?;
        Ok(Value::str(format(&to_time(&a[0]), "2006-01-02")))
    });
    m.insert("unixEpoch", |_, a| {
        arity("unixEpoch", a, 1)?;
        Ok(Value::str(to_time(&a[0]).secs.to_string()))
    });
    for name in ["toDate", "mustToDate"] {
        m.insert(name, |_, a| {
            arity("toDate", a, 2)?;
            let s = want_str(&a[1])?;
            parse_date(want_str(&a[0])?, s)
                .map(|t| Value::Object(Rc::new(t)))
                .ok_or_else(|| format!("parsing time {s:?}: cannot parse"))
        });
    }
    m.insert("ago", |_, a| {
        arity("ago", a, 1)?;
        Ok(Value::str(duration(now().secs - to_time(&a[0]).secs)))
    });
    m.insert("duration", |_, a| {
        arity("duration", a, 1)?;
        Ok(Value::str(duration(to_i64(&a[0]))))
    });
}
