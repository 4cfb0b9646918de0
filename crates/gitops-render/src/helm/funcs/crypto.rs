//! Hashes (`sha1sum`, `sha256sum`, `sha512sum`, `adler32sum`) and the random generators behind
//! `uuidv4`, `randBytes` and the `rand*` string functions. Random values are not
//! cryptographically strong and differ between renders, as in Helm.
//!
//! Not provided: `bcrypt`, `htpasswd`, `genPrivateKey`, `genCA*`, `genSelfSignedCert*`,
//! `genSignedCert*`, `buildCustomCert`, `derivePassword`, `encryptAES`/`decryptAES`: they need
//! RSA/ECDSA/X.509/bcrypt implementations; a template calling them fails with "function not
//! defined".

use std::cell::Cell;
use std::fmt::Write as _;

use sha1::Digest as _;

use crate::gotemplate::{FuncMap, Value, arity, want_int, want_str};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (t ^ 0x9E37_79B9_7F4A_7C15) | 1
}

/// A pseudo-random number (xorshift64*).
pub(crate) fn random_u64() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `sha256sum` of text, as hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&sha2::Sha256::digest(data))
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("sha256sum", |_, a| {
        arity("sha256sum", a, 1)?;
        Ok(Value::str(sha256_hex(want_str(&a[0])?.as_bytes())))
    });
    m.insert("sha1sum", |_, a| {
        arity("sha1sum", a, 1)?;
        Ok(Value::str(hex(&sha1::Sha1::digest(
            want_str(&a[0])?.as_bytes(),
        ))))
    });
    m.insert("sha512sum", |_, a| {
        arity("sha512sum", a, 1)?;
        Ok(Value::str(hex(&sha2::Sha512::digest(
            want_str(&a[0])?.as_bytes(),
        ))))
    });
    m.insert("adler32sum", |_, a| {
        arity("adler32sum", a, 1)?;
        let (mut x, mut y) = (1u32, 0u32);
        for &b in want_str(&a[0])?.as_bytes() {
            x = (x + u32::from(b)) % 65521;
            y = (y + x) % 65521;
        }
        Ok(Value::str(((y << 16) | x).to_string()))
    });
    m.insert("uuidv4", |_, a| {
        arity("uuidv4", a, 0)?;
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&random_u64().to_le_bytes());
        b[8..].copy_from_slice(&random_u64().to_le_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        Ok(Value::str(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )))
    });
    m.insert("randBytes", |_, a| {
        arity("randBytes", a, 1)?;
        let n = usize::try_from(want_int(&a[0])?).unwrap_or(0);
        let bytes: Vec<u8> = (0..n).map(|_| random_u64() as u8).collect();
        Ok(Value::str(super::encoding::b64encode(&bytes)))
    });
}
