//! Hashes (`sha1sum`, `sha256sum`, `sha512sum`, `adler32sum`), the random generators behind
//! `uuidv4`, `randBytes` and the `rand*` string functions, and Sprig's password functions:
//! `bcrypt`/`htpasswd` (bcrypt `$2a$`, cost 10, random salt), `derivePassword` (the Master
//! Password algorithm: scrypt N=32768 r=8 p=2, HMAC-SHA-256, deterministic) and
//! `encryptAES`/`decryptAES` (AES-256-CBC, PKCS#7 padding, random IV first, base64; the key is
//! the password cut or zero-padded to 32 bytes). `rand*`/`uuidv4` values are not
//! cryptographically strong; salts, IVs and keys come from the OS. All random values differ
//! between renders, as in Helm. Certificates and keys are in `certs`.

use std::cell::Cell;
use std::fmt::Write as _;

use rand_core::{OsRng, RngCore as _};
use sha1::Digest as _;

use crate::gotemplate::{FuncMap, NO_WRAP, Value, arity, want_int, want_str};

/// A `uint32` parameter: Go converts integer constants and values; negative ones do not fit.
fn want_uint(v: &Value) -> Result<i64, String> {
    let i = want_int(v)?;
    if i < 0 {
        return Err(format!("{NO_WRAP}value out of range for uint32: {i}"));
    }
    Ok(i)
}

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

/// Sprig's `bcrypt`: errors are returned as the value, as Sprig does.
fn bcrypt_hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    match bcrypt::non_truncating_hash_with_salt(password, 10, salt) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(bcrypt::BcryptError::Truncation(_)) => {
            "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
                .to_owned()
        }
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

/// The Master Password templates per password type (from the algorithm's specification).
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn password_chars(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// Sprig's `derivePassword` (Master Password v3 without the name normalisation).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            scrypt::scrypt(password.as_bytes(), &salt, &p, &mut key).map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut message = MASTER_PASSWORD_SEED.to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&counter.to_be_bytes());
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
        &message,
    );
    let seed = mac.as_ref();
    let template = templates[usize::from(seed[0]) % templates.len()].as_bytes();
    template
        .iter()
        .enumerate()
        .map(|(i, class)| {
            let chars = password_chars(*class);
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}

fn aes_key(password: &str) -> aes::Aes256 {
    use aes::cipher::KeyInit as _;
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    aes::Aes256::new(&key.into())
}

/// Sprig's `encryptAES`.
fn encrypt_aes(password: &str, plaintext: &str) -> String {
    use aes::cipher::BlockEncrypt as _;
    if plaintext.is_empty() {
        return String::new();
    }
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = vec![0u8; 16];
    OsRng.fill_bytes(&mut out);
    let mut prev: [u8; 16] = [0; 16];
    prev.copy_from_slice(&out);
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in block.iter_mut().enumerate() {
            *b = chunk[i] ^ prev[i];
        }
        let mut ga = block.into();
        cipher.encrypt_block(&mut ga);
        prev.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    super::encoding::b64encode(&out)
}

/// Sprig's `decryptAES`, with errors where Go would panic on malformed input.
fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    use aes::cipher::BlockDecrypt as _;
    use base64::Engine as _;
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = base64::engine::general_purpose::STANDARD
        .decode(crypt64)
        .map_err(|e| format!("illegal base64 data: {e}"))?;
    if crypt.len() < 32 || crypt.len() % 16 != 0 {
        return Err(format!(
            "ciphertext of {} bytes is not an IV followed by whole AES blocks",
            crypt.len()
        ));
    }
    let cipher = aes_key(password);
    let mut plain = Vec::with_capacity(crypt.len() - 16);
    for (i, chunk) in crypt.chunks(16).enumerate().skip(1) {
        let mut ga = aes::Block::clone_from_slice(chunk);
        cipher.decrypt_block(&mut ga);
        let prev = &crypt[(i - 1) * 16..i * 16];
        plain.extend(ga.iter().zip(prev).map(|(a, b)| a ^ b));
    }
    let pad = usize::from(plain.last().copied().unwrap_or(0));
    if pad > plain.len() {
        return Err("invalid padding: wrong password or corrupt ciphertext".to_owned());
    }
    plain.truncate(plain.len() - pad);
    Ok(String::from_utf8_lossy(&plain).into_owned())
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("bcrypt", |_, a| {
        arity("bcrypt", a, 1)?;
        Ok(Value::str(bcrypt_hash(want_str(&a[0])?)))
    });
    m.insert("htpasswd", |_, a| {
        arity("htpasswd", a, 2)?;
        let user = want_str(&a[0])?;
        let password = want_str(&a[1])?;
        Ok(Value::str(if user.contains(':') {
            format!("invalid username: {user}")
        } else {
            format!("{user}:{}", bcrypt_hash(password))
        }))
    });
    m.insert("derivePassword", |_, a| {
        arity("derivePassword", a, 5)?;
        let counter = u32::try_from(want_uint(&a[0])?)
            .map_err(|_| format!("{NO_WRAP}value out of range for uint32: {}", a[0]))?;
        Ok(Value::str(derive_password(
            counter,
            want_str(&a[1])?,
            want_str(&a[2])?,
            want_str(&a[3])?,
            want_str(&a[4])?,
        )))
    });
    m.insert("encryptAES", |_, a| {
        arity("encryptAES", a, 2)?;
        Ok(Value::str(encrypt_aes(want_str(&a[0])?, want_str(&a[1])?)))
    });
    m.insert("decryptAES", |_, a| {
        arity("decryptAES", a, 2)?;
        decrypt_aes(want_str(&a[0])?, want_str(&a[1])?).map(Value::str)
    });
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
