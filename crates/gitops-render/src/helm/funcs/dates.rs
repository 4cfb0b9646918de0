//! Date functions on UTC times: `now`, `date`/`dateInZone` (Go reference-time layouts),
//! `htmlDate`, `unixEpoch`, `toDate`, `ago`, `duration`. Times are Unix seconds with
//! nanoseconds; zones other than UTC are treated as UTC. `now` is non-deterministic.

use std::fmt::Write as _;
use std::rc::Rc;

use super::conv::to_i64;
use crate::gotemplate::{FuncMap, Object, Value, arity, want_str};

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
            Time { secs, nanos: 0 }
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

pub(super) fn register(m: &mut FuncMap) {
    m.insert("now", |_, a| {
        arity("now", a, 0)?;
        Ok(Value::Object(Rc::new(now())))
    });
    m.insert("date", |_, a| {
        arity("date", a, 2)?;
        Ok(Value::str(format(&to_time(&a[1]), want_str(&a[0])?)))
    });
    m.insert("dateInZone", |_, a| {
        arity("dateInZone", a, 3)?;
        Ok(Value::str(format(&to_time(&a[1]), want_str(&a[0])?)))
    });
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
