//! Sprig's `urlParse` and `urlJoin`, with the parsing and printing rules of Go's `net/url`
//! (`url.Parse` and `URL.String`), which differ from WHATWG URLs: no normalisation, the path is
//! percent-decoded on parse and re-encoded on print, and the query is kept raw.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::gotemplate::{FuncMap, NO_WRAP, Value, arity, want_str};

/// The parts of a URL as Go's `url.URL` holds them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Url {
    scheme: String,
    opaque: String,
    /// `user` or `user:password`, decoded; `None` without an `@`.
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    UserPassword,
    Fragment,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment | Mode::Host => false,
        },
        b'!' | b'(' | b')' | b'*' if mode == Mode::Fragment => false,
        _ => true,
    }
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if should_escape(b, mode) {
            let _ = write!(out, "%{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Go's `unescape`: `%XX` sequences, an error when malformed.
fn unescape(s: &str, _mode: Mode) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
            let Some(hex) = hex else {
                let bad: String = s[i..].chars().take(3).collect();
                return Err(format!("invalid URL escape {bad:?}"));
            };
            out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("invalid URL escape in {s:?}"))
}

/// `[A-Za-z][A-Za-z0-9+.-]*:` at the start, lowercased; `Err` for a leading `:`.
fn split_scheme(raw: &str) -> Result<(String, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".to_owned()),
            b':' => return Ok((raw[..i].to_ascii_lowercase(), &raw[i + 1..])),
            _ => return Ok((String::new(), raw)),
        }
    }
    Ok((String::new(), raw))
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(end) = host.rfind(']') else {
            return Err("missing ']' in host".to_owned());
        };
        let port = &host[end + 1..];
        if !port.is_empty() && !valid_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
    } else if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
    }
    unescape(host, Mode::Host)
}

fn valid_port(p: &str) -> bool {
    p.strip_prefix(':')
        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
}

/// Go's `url.Parse`.
fn parse(raw_url: &str) -> Result<Url, String> {
    let fail = |e: String| format!("parse {raw_url:?}: {e}");
    if raw_url.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(fail("net/url: invalid control character in URL".to_owned()));
    }
    let (rest, fragment) = match raw_url.split_once('#') {
        Some((r, f)) => (r, unescape(f, Mode::Fragment).map_err(fail)?),
        None => (raw_url, String::new()),
    };
    let mut u = Url {
        fragment,
        ..Url::default()
    };
    if rest == "*" {
        u.path = "*".to_owned();
        return Ok(u);
    }
    let (scheme, rest) = split_scheme(rest).map_err(fail)?;
    u.scheme = scheme;
    let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else if let Some((r, q)) = rest.split_once('?') {
        u.raw_query = q.to_owned();
        r
    } else {
        rest
    };
    if !rest.starts_with('/') {
        if !u.scheme.is_empty() {
            u.opaque = rest.to_owned();
            return Ok(u);
        }
        let first = rest.split('/').next().unwrap_or_default();
        if first.contains(':') {
            return Err(fail(
                "first path segment in URL cannot contain colon".to_owned(),
            ));
        }
    }
    let mut rest = rest;
    if (!u.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        u.host = parse_host(host).map_err(fail)?;
        if let Some(info) = userinfo {
            if !info
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b))
            {
                return Err(fail("net/url: invalid userinfo".to_owned()));
            }
            u.user = Some(match info.split_once(':') {
                Some((name, pass)) => (
                    unescape(name, Mode::UserPassword).map_err(fail)?,
                    Some(unescape(pass, Mode::UserPassword).map_err(fail)?),
                ),
                None => (unescape(info, Mode::UserPassword).map_err(fail)?, None),
            });
        }
        rest = path;
    }
    u.path = unescape(rest, Mode::Path).map_err(fail)?;
    Ok(u)
}

impl Url {
    fn userinfo(&self) -> String {
        match &self.user {
            None => String::new(),
            Some((name, None)) => escape(name, Mode::UserPassword),
            Some((name, Some(pass))) => format!(
                "{}:{}",
                escape(name, Mode::UserPassword),
                escape(pass, Mode::UserPassword)
            ),
        }
    }

    /// `Hostname()`: the host without port and IPv6 brackets.
    fn hostname(&self) -> &str {
        let h = &self.host;
        if let Some(rest) = h.strip_prefix('[') {
            return rest.split(']').next().unwrap_or_default();
        }
        match h.rfind(':') {
            Some(i) if valid_port(&h[i..]) => &h[..i],
            _ => h,
        }
    }

    /// Go's `URL.String()`.
    fn to_go_string(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else {
            if !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some() {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.push_str("//");
                }
                if self.user.is_some() {
                    out.push_str(&self.userinfo());
                    out.push('@');
                }
                out.push_str(&escape(&self.host, Mode::Host));
            }
            let path = if self.path == "*" {
                "*".to_owned()
            } else {
                escape(&self.path, Mode::Path)
            };
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            if out.is_empty() && path.split('/').next().is_some_and(|s| s.contains(':')) {
                out.push_str("./");
            }
            out.push_str(&path);
        }
        if !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&escape(&self.fragment, Mode::Fragment));
        }
        out
    }
}

fn url_parse(raw: &str) -> Result<Value, String> {
    let u = parse(raw).map_err(|e| format!("unable to parse url: {e}"))?;
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        m.insert(k.to_owned(), Value::str(v));
    };
    put("scheme", &u.scheme);
    put("host", &u.host);
    put("hostname", u.hostname());
    put("path", &u.path);
    put("query", &u.raw_query);
    put("opaque", &u.opaque);
    put("fragment", &u.fragment);
    put("userinfo", &u.userinfo());
    Ok(Value::map(m))
}

fn url_join(d: &Value) -> Result<Value, String> {
    let Value::Map(map) = d else {
        return Err(format!(
            "{NO_WRAP}wrong type for value; expected map[string]interface {{}}; got {}",
            d.type_name()
        ));
    };
    let map = map.borrow();
    let get = |key: &str| -> Result<String, String> {
        match map.get(key) {
            None | Some(Value::Nil) => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.to_string()),
            Some(other) => Err(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                other.kind_name()
            )),
        }
    };
    let mut u = Url {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        user: None,
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let parsed = parse(&format!("proto://{userinfo}@host"))
            .map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        u.user = parsed.user;
    }
    Ok(Value::str(u.to_go_string()))
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("urlParse", |_, a| {
        arity("urlParse", a, 1)?;
        url_parse(want_str(&a[0])?)
    });
    m.insert("urlJoin", |_, a| {
        arity("urlJoin", a, 1)?;
        url_join(&a[0])
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_like_go() {
        let u = parse("https://user:p%40ss@example.com:8443/a%20b/c?x=1&y=%20#frag%21").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.host, "example.com:8443");
        assert_eq!(u.hostname(), "example.com");
        assert_eq!(u.path, "/a b/c");
        assert_eq!(u.raw_query, "x=1&y=%20");
        assert_eq!(u.fragment, "frag!");
        assert_eq!(u.userinfo(), "user:p%40ss");
        assert_eq!(
            u.to_go_string(),
            "https://user:p%40ss@example.com:8443/a%20b/c?x=1&y=%20#frag!"
        );
        let m = parse("mailto:someone@example.com").unwrap();
        assert_eq!(m.opaque, "someone@example.com");
        assert_eq!(m.to_go_string(), "mailto:someone@example.com");
        let ip6 = parse("http://[::1]:80/").unwrap();
        assert_eq!(ip6.hostname(), "::1");
        assert_eq!(parse("/rel/path").unwrap().path, "/rel/path");
        assert!(
            parse("1http://x").is_err(),
            "no scheme, and a colon in the first segment"
        );
        assert!(parse("a:b/c").unwrap().opaque == "b/c");
    }

    #[test]
    fn refuses_what_go_refuses() {
        for (raw, want) in [
            (":foo", "missing protocol scheme"),
            ("http://x/%zz", "invalid URL escape \"%zz\""),
            ("http://host:port/", "invalid port \":port\" after host"),
            ("x:y\n", "invalid control character"),
            ("http://[::1/", "missing ']' in host"),
        ] {
            let e = parse(raw).unwrap_err();
            assert!(e.contains(want), "{raw}: {e}");
        }
    }
}
