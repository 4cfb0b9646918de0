//! The little DER and PEM that Sprig's certificate functions need: writing the parts of an
//! X.509 certificate and of private keys, and reading certificates and keys back (structure
//! only, enough to find a subject, a public key and a key identifier).

use crate::helm::funcs::b64encode;

/// Universal tags used here.
pub(super) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
}

/// A tag-length-value element.
pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A constructed element (SEQUENCE, SET, context tags) from encoded parts.
pub(super) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// A SEQUENCE of encoded parts.
pub(super) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    cons(tag::SEQUENCE, parts)
}

/// A non-negative INTEGER from big-endian magnitude bytes.
pub(super) fn uint(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|b| **b == 0).count();
    let digits = &be[skip..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(digits);
    tlv(tag::INTEGER, &content)
}

/// An OBJECT IDENTIFIER from its arcs.
pub(super) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let first = arcs.first().copied().unwrap_or(0) * 40 + arcs.get(1).copied().unwrap_or(0);
    for arc in std::iter::once(first).chain(arcs.iter().skip(2).copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        content.extend(groups.iter().rev());
    }
    tlv(tag::OID, &content)
}

/// A BIT STRING of whole bytes.
pub(super) fn bits(bytes: &[u8]) -> Vec<u8> {
    bits_unused(0, bytes)
}

/// A BIT STRING whose last byte has `unused` padding bits.
pub(super) fn bits_unused(unused: u8, bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(unused);
    content.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &content)
}

/// An OCTET STRING.
pub(super) fn octets(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, bytes)
}

/// NULL.
pub(super) fn null() -> Vec<u8> {
    tlv(tag::NULL, &[])
}

/// BOOLEAN TRUE (DER omits FALSE where it is the default).
pub(super) fn true_() -> Vec<u8> {
    tlv(tag::BOOLEAN, &[0xff])
}

/// A string as Go's `encoding/asn1` marshals an untagged Go string: PrintableString when every
/// character allows it, UTF8String otherwise.
pub(super) fn go_string(s: &str) -> Vec<u8> {
    let printable = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
    tlv(
        if printable {
            tag::PRINTABLE_STRING
        } else {
            tag::UTF8_STRING
        },
        s.as_bytes(),
    )
}

/// One element read from DER: its tag, its content, and all of its bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Element<'a> {
    pub(super) tag: u8,
    pub(super) content: &'a [u8],
    pub(super) raw: &'a [u8],
}

/// Reads consecutive DER elements from a byte string.
pub(super) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next element, without consuming it.
    pub(super) fn peek(&self) -> Option<Element<'a>> {
        let d = self.data;
        let (&tag, rest) = d.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        let header = d.len() - rest.len();
        if rest.len() < len {
            return None;
        }
        Some(Element {
            tag,
            content: &rest[..len],
            raw: &d[..header + len],
        })
    }

    /// The next element.
    pub(super) fn next(&mut self) -> Result<Element<'a>, String> {
        let e = self.peek().ok_or("malformed DER")?;
        self.data = &self.data[e.raw.len()..];
        Ok(e)
    }

    /// The next element, which must carry `tag`.
    pub(super) fn expect(&mut self, tag: u8) -> Result<Element<'a>, String> {
        let e = self.next()?;
        if e.tag == tag {
            Ok(e)
        } else {
            Err(format!(
                "malformed DER: expected tag 0x{tag:02x}, found 0x{:02x}",
                e.tag
            ))
        }
    }

    /// Consumes the next element if it carries `tag`.
    pub(super) fn optional(&mut self, tag: u8) -> Option<Element<'a>> {
        let e = self.peek().filter(|e| e.tag == tag)?;
        self.data = &self.data[e.raw.len()..];
        Some(e)
    }
}

/// A PEM block as Go's `pem.EncodeToMemory` writes it (64 base64 characters a line).
pub(super) fn pem_encode(kind: &str, der: &[u8]) -> String {
    let b64 = b64encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

/// The first PEM block of `text` (Go's `pem.Decode`): its type and decoded bytes. Header lines
/// (`Proc-Type: ...`) are skipped.
pub(super) fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let kind_end = rest.find("-----")?;
    let kind = &rest[..kind_end];
    let body = &rest[kind_end + 5..];
    let end_marker = format!("-----END {kind}-----");
    let end = body.find(&end_marker)?;
    let b64: String = body[..end]
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .ok()?;
    Some((kind.to_owned(), der))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn encodes_like_der() {
        assert_eq!(
            oid(&[1, 2, 840, 113_549, 1, 1, 11])[2..],
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]
        );
        assert_eq!(uint(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0, 5]), [0x02, 0x01, 0x05]);
        assert_eq!(uint(&[]), [0x02, 0x01, 0x00]);
        let long = tlv(tag::OCTET_STRING, &[7; 300]);
        assert_eq!(long[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(go_string("nginx-ca")[0], tag::PRINTABLE_STRING);
        assert_eq!(go_string("a*b")[0], tag::UTF8_STRING);
    }

    #[test]
    fn reads_back_what_it_writes() {
        let inner = seq(&[&uint(&[1, 2]), &octets(b"xy")]);
        let mut r = Reader::new(&inner);
        let s = r.expect(tag::SEQUENCE).unwrap();
        assert!(r.is_empty());
        let mut r = Reader::new(s.content);
        assert_eq!(r.expect(tag::INTEGER).unwrap().content, [1, 2]);
        assert!(r.optional(tag::BOOLEAN).is_none());
        assert_eq!(r.expect(tag::OCTET_STRING).unwrap().content, b"xy");
        assert!(r.next().is_err());
        let long = tlv(tag::OCTET_STRING, &[7; 300]);
        assert_eq!(Reader::new(&long).next().unwrap().content.len(), 300);
    }

    #[test]
    fn pem_round_trip() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = pem_encode("CERTIFICATE", &der);
        assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        assert_eq!(pem_decode(&pem).unwrap(), ("CERTIFICATE".to_owned(), der));
        assert!(pem_decode("no pem here").is_none());
    }
}
