//! Sprig's key and certificate functions: `genPrivateKey`, `buildCustomCert`, `genCA`,
//! `genSelfSignedCert`, `genSignedCert` and their `...WithKey` variants. Output follows Sprig
//! (Go's `crypto/x509`): RSA-2048 keys for generated certificates as `RSA PRIVATE KEY` (PKCS#1),
//! P-256 keys as `EC PRIVATE KEY` (SEC 1), Ed25519 as `PRIVATE KEY` (PKCS#8), DSA as
//! `DSA PRIVATE KEY`; X.509 v3 certificates with a random 128-bit serial, validity from now for
//! the given days, key usage digital signature + key encipherment (+ cert sign for a CA), extended
//! key usage server + client auth, basic constraints, subject/authority key identifiers and
//! subject alternative names as Go writes them. Everything here is random and differs between
//! renders, as in Helm.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;

use rand_core::{OsRng, RngCore as _};
use ring::signature::KeyPair as _;
use sha1::Digest as _;

use super::dates::civil;
use super::der::{self, Reader, tag};
use crate::gotemplate::{FuncMap, NO_WRAP, Object, Value, arity, want_int, want_str};

const OID_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 1];
const OID_SHA256_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 11];
const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10_045, 2, 1];
const OID_P256: &[u64] = &[1, 2, 840, 10_045, 3, 1, 7];
const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10_045, 4, 3, 2];
const OID_ED25519: &[u64] = &[1, 3, 101, 112];
const OID_DSA: &[u64] = &[1, 2, 840, 10_040, 4, 1];
const OID_CN: &[u64] = &[2, 5, 4, 3];
const OID_SKID: &[u64] = &[2, 5, 29, 14];

/// A private key of one of the kinds Sprig handles.
enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    /// P-256: the private scalar and the uncompressed public point.
    Ec {
        scalar: Vec<u8>,
        public: Vec<u8>,
    },
    Ed25519 {
        seed: [u8; 32],
    },
    /// DSA keys can be generated and parsed, not used to sign (as in Go).
    Dsa {
        pem: String,
    },
}

fn ring_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl PrivateKey {
    fn generate_rsa(bits: usize) -> Result<Self, String> {
        super::rsakey::generate(bits).map(|k| PrivateKey::Rsa(Box::new(k)))
    }

    fn generate_ec() -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let alg = &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(ring_err)?;
        parse_pkcs8(doc.as_ref())
    }

    fn generate_ed25519() -> Self {
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        PrivateKey::Ed25519 { seed }
    }

    fn generate_dsa() -> Self {
        let components = dsa::Components::generate(&mut OsRng, dsa::KeySize::DSA_2048_256);
        let key = dsa::SigningKey::generate(&mut OsRng, components);
        let vk = key.verifying_key();
        let c = vk.components();
        let body = der::seq(&[
            &der::uint(&[0]),
            &der::uint(&c.p().to_bytes_be()),
            &der::uint(&c.q().to_bytes_be()),
            &der::uint(&c.g().to_bytes_be()),
            &der::uint(&vk.y().to_bytes_be()),
            &der::uint(&key.x().to_bytes_be()),
        ]);
        PrivateKey::Dsa {
            pem: der::pem_encode("DSA PRIVATE KEY", &body),
        }
    }

    /// The key as Sprig writes it (`pemBlockForKey`).
    fn to_pem(&self) -> Result<String, String> {
        Ok(match self {
            PrivateKey::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPrivateKey as _;
                let doc = k.to_pkcs1_der().map_err(|e| e.to_string())?;
                der::pem_encode("RSA PRIVATE KEY", doc.as_bytes())
            }
            PrivateKey::Ec { scalar, public } => {
                let body = der::seq(&[
                    &der::uint(&[1]),
                    &der::octets(scalar),
                    &der::cons(0xa0, &[&der::oid(OID_P256)]),
                    &der::cons(0xa1, &[&der::bits(public)]),
                ]);
                der::pem_encode("EC PRIVATE KEY", &body)
            }
            PrivateKey::Ed25519 { seed } => {
                let body = der::seq(&[
                    &der::uint(&[0]),
                    &der::seq(&[&der::oid(OID_ED25519)]),
                    &der::octets(&der::octets(seed)),
                ]);
                der::pem_encode("PRIVATE KEY", &body)
            }
            PrivateKey::Dsa { pem } => pem.clone(),
        })
    }

    /// The SubjectPublicKeyInfo of the key.
    fn spki(&self) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPublicKey as _;
                let public = k
                    .to_public_key()
                    .to_pkcs1_der()
                    .map_err(|e| e.to_string())?;
                Ok(der::seq(&[
                    &der::seq(&[&der::oid(OID_RSA), &der::null()]),
                    &der::bits(public.as_bytes()),
                ]))
            }
            PrivateKey::Ec { public, .. } => Ok(der::seq(&[
                &der::seq(&[&der::oid(OID_EC_PUBLIC_KEY), &der::oid(OID_P256)]),
                &der::bits(public),
            ])),
            PrivateKey::Ed25519 { seed } => {
                let kp =
                    ring::signature::Ed25519KeyPair::from_seed_unchecked(seed).map_err(ring_err)?;
                Ok(der::seq(&[
                    &der::seq(&[&der::oid(OID_ED25519)]),
                    &der::bits(kp.public_key().as_ref()),
                ]))
            }
            PrivateKey::Dsa { .. } => Err(dsa_unsupported()),
        }
    }

    /// The AlgorithmIdentifier of the signatures this key makes (as Go chooses it).
    fn signature_algorithm(&self) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(_) => Ok(der::seq(&[&der::oid(OID_SHA256_RSA), &der::null()])),
            PrivateKey::Ec { .. } => Ok(der::seq(&[&der::oid(OID_ECDSA_SHA256)])),
            PrivateKey::Ed25519 { .. } => Ok(der::seq(&[&der::oid(OID_ED25519)])),
            PrivateKey::Dsa { .. } => Err(dsa_unsupported()),
        }
    }

    /// Signs `tbs` with the algorithm of [`Self::signature_algorithm`].
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(k) => {
                let digest = sha2::Sha256::digest(tbs);
                let sig = k
                    .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
                    .map_err(|e| e.to_string())?;
                Ok(sig)
            }
            PrivateKey::Ec { scalar, public } => {
                let rng = ring::rand::SystemRandom::new();
                let kp = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                    &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    scalar,
                    public,
                    &rng,
                )
                .map_err(ring_err)?;
                let sig = kp.sign(&rng, tbs).map_err(ring_err)?;
                Ok(sig.as_ref().to_vec())
            }
            PrivateKey::Ed25519 { seed } => {
                let kp =
                    ring::signature::Ed25519KeyPair::from_seed_unchecked(seed).map_err(ring_err)?;
                Ok(kp.sign(tbs).as_ref().to_vec())
            }
            PrivateKey::Dsa { .. } => Err(dsa_unsupported()),
        }
    }
}

fn dsa_unsupported() -> String {
    "x509: only RSA, ECDSA and Ed25519 keys supported".to_owned()
}

/// A PKCS#8 `PrivateKeyInfo` (RSA, P-256 or Ed25519).
fn parse_pkcs8(bytes: &[u8]) -> Result<PrivateKey, String> {
    let mut outer = Reader::new(bytes);
    let info = outer.expect(tag::SEQUENCE)?;
    let mut r = Reader::new(info.content);
    r.expect(tag::INTEGER)?;
    let alg = r.expect(tag::SEQUENCE)?;
    let key = r.expect(tag::OCTET_STRING)?;
    let mut a = Reader::new(alg.content);
    let alg_oid = a.expect(tag::OID)?.raw;
    if alg_oid == der::oid(OID_RSA) {
        use rsa::pkcs8::DecodePrivateKey as _;
        return rsa::RsaPrivateKey::from_pkcs8_der(bytes)
            .map(|k| PrivateKey::Rsa(Box::new(k)))
            .map_err(|e| e.to_string());
    }
    if alg_oid == der::oid(OID_EC_PUBLIC_KEY) {
        let curve = a.optional(tag::OID).map(|e| e.raw.to_vec());
        return parse_sec1(key.content, curve);
    }
    if alg_oid == der::oid(OID_ED25519) {
        let seed = Reader::new(key.content).expect(tag::OCTET_STRING)?.content;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| "ed25519: bad private key length".to_owned())?;
        return Ok(PrivateKey::Ed25519 { seed });
    }
    if alg_oid == der::oid(OID_DSA) {
        return Err(
            "x509: PKCS#8 wrapping contained private key with unknown algorithm: 1.2.840.10040.4.1"
                .to_owned(),
        );
    }
    Err("x509: PKCS#8 wrapping contained private key with unknown algorithm".to_owned())
}

/// A SEC 1 `ECPrivateKey`; `curve` is the OID from an enclosing PKCS#8, if any.
fn parse_sec1(bytes: &[u8], curve: Option<Vec<u8>>) -> Result<PrivateKey, String> {
    let outer = Reader::new(bytes).expect(tag::SEQUENCE)?;
    let mut r = Reader::new(outer.content);
    r.expect(tag::INTEGER)?;
    let scalar = r.expect(tag::OCTET_STRING)?.content.to_vec();
    let curve = match r.optional(0xa0) {
        Some(p) => Some(Reader::new(p.content).expect(tag::OID)?.raw.to_vec()),
        None => curve,
    };
    if curve.is_some_and(|c| c != der::oid(OID_P256)) {
        return Err("x509: unsupported elliptic curve (only P-256 is supported)".to_owned());
    }
    let public = match r.optional(0xa1) {
        Some(p) => {
            let b = Reader::new(p.content).expect(tag::BIT_STRING)?.content;
            b.get(1..).unwrap_or_default().to_vec()
        }
        None => return Err("x509: EC private key without its public key".to_owned()),
    };
    if scalar.len() != 32 {
        return Err("x509: invalid P-256 private key length".to_owned());
    }
    Ok(PrivateKey::Ec { scalar, public })
}

/// Sprig's `parsePrivateKeyPEM`.
fn parse_private_key_pem(text: &str) -> Result<PrivateKey, String> {
    let (kind, bytes) = der::pem_decode(text).ok_or("no PEM data in input")?;
    if kind == "PRIVATE KEY" {
        return parse_pkcs8(&bytes).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
    }
    let Some(prefix) = kind.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {kind}"));
    };
    match prefix {
        "RSA" => {
            use rsa::pkcs1::DecodeRsaPrivateKey as _;
            rsa::RsaPrivateKey::from_pkcs1_der(&bytes)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| format!("parsing RSA private key from PEM: {e}"))
        }
        "EC" => {
            parse_sec1(&bytes, None).map_err(|e| format!("parsing EC private key from PEM: {e}"))
        }
        "DSA" => Ok(PrivateKey::Dsa {
            pem: text.to_owned(),
        }),
        _ => Err(format!("invalid private key type {kind}")),
    }
}

/// What a certificate must say about its issuer.
struct ParsedCert {
    subject: Vec<u8>,
    spki: Vec<u8>,
    subject_key_id: Option<Vec<u8>>,
}

/// Reads the parts of a DER certificate that signing with it needs.
fn parse_certificate(bytes: &[u8]) -> Result<ParsedCert, String> {
    let malformed = |e: String| format!("x509: malformed certificate ({e})");
    let cert = Reader::new(bytes)
        .expect(tag::SEQUENCE)
        .map_err(malformed)?;
    let tbs = Reader::new(cert.content)
        .expect(tag::SEQUENCE)
        .map_err(malformed)?;
    let mut r = Reader::new(tbs.content);
    r.optional(0xa0);
    let fields = (|| -> Result<_, String> {
        r.expect(tag::INTEGER)?;
        r.expect(tag::SEQUENCE)?;
        r.expect(tag::SEQUENCE)?;
        r.expect(tag::SEQUENCE)?;
        let subject = r.expect(tag::SEQUENCE)?.raw.to_vec();
        let spki = r.expect(tag::SEQUENCE)?.raw.to_vec();
        Ok((subject, spki))
    })();
    let (subject, spki) = fields.map_err(malformed)?;
    r.optional(0x81);
    r.optional(0x82);
    let mut subject_key_id = None;
    if let Some(ext) = r.optional(0xa3) {
        let list = Reader::new(ext.content)
            .expect(tag::SEQUENCE)
            .map_err(malformed)?;
        let mut exts = Reader::new(list.content);
        while !exts.is_empty() {
            let e = exts.expect(tag::SEQUENCE).map_err(malformed)?;
            let mut f = Reader::new(e.content);
            let id = f.expect(tag::OID).map_err(malformed)?;
            f.optional(tag::BOOLEAN);
            let value = f.expect(tag::OCTET_STRING).map_err(malformed)?;
            if id.raw == der::oid(OID_SKID) {
                let kid = Reader::new(value.content)
                    .expect(tag::OCTET_STRING)
                    .map_err(malformed)?;
                subject_key_id = Some(kid.content.to_vec());
            }
        }
    }
    Ok(ParsedCert {
        subject,
        spki,
        subject_key_id,
    })
}

/// What goes into a new certificate.
struct Template {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280).
fn der_time(secs: i64) -> Vec<u8> {
    let (y, mo, d, h, mi, s, _) = civil(secs);
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        der::tlv(tag::UTC_TIME, text.as_bytes())
    } else {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        der::tlv(tag::GENERALIZED_TIME, text.as_bytes())
    }
}

fn name(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return der::seq(&[]);
    }
    let atv = der::seq(&[&der::oid(OID_CN), &der::go_string(cn)]);
    der::seq(&[&der::cons(tag::SET, &[&atv])])
}

fn extension(id: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        der::seq(&[&der::oid(id), &der::true_(), &der::octets(value)])
    } else {
        der::seq(&[&der::oid(id), &der::octets(value)])
    }
}

/// Creates a certificate for `subject_key`, signed by `issuer` (itself when `None`), in the way
/// Go's `x509.CreateCertificate` lays it out; returns the certificate PEM.
fn create_certificate(
    t: &Template,
    subject_key: &PrivateKey,
    issuer: Option<(&ParsedCert, &PrivateKey)>,
) -> Result<String, String> {
    let spki = subject_key.spki()?;
    let subject = name(&t.cn);
    let (issuer_name, signer, parent_skid) = match issuer {
        Some((cert, key)) => {
            if key.spki()? != cert.spki {
                return Err(
                    "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey"
                        .to_owned(),
                );
            }
            (cert.subject.clone(), key, cert.subject_key_id.clone())
        }
        None => (subject.clone(), subject_key, None),
    };
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);

    let mut exts = Vec::new();
    // Key usage: digital signature (bit 0), key encipherment (bit 2), cert sign (bit 5).
    let usage = if t.is_ca {
        der::bits_unused(2, &[0xa4])
    } else {
        der::bits_unused(5, &[0xa0])
    };
    exts.push(extension(&[2, 5, 29, 15], true, &usage));
    let eku = der::seq(&[
        &der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
        &der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
    ]);
    exts.push(extension(&[2, 5, 29, 37], false, &eku));
    let basic = if t.is_ca {
        der::seq(&[&der::true_()])
    } else {
        der::seq(&[])
    };
    exts.push(extension(&[2, 5, 29, 19], true, &basic));
    if t.is_ca {
        // Go derives a missing subject key identifier of a CA from its public key.
        let mut r = Reader::new(&spki);
        let inner = r.expect(tag::SEQUENCE)?;
        let mut f = Reader::new(inner.content);
        f.expect(tag::SEQUENCE)?;
        let key_bits = f.expect(tag::BIT_STRING)?.content;
        let kid = sha1::Sha1::digest(key_bits.get(1..).unwrap_or_default());
        exts.push(extension(OID_SKID, false, &der::octets(&kid)));
    }
    if let Some(kid) = parent_skid.filter(|_| issuer_name != subject) {
        let aki = der::seq(&[&der::tlv(0x80, &kid)]);
        exts.push(extension(&[2, 5, 29, 35], false, &aki));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names = Vec::new();
        for d in &t.dns {
            names.extend(der::tlv(0x82, d.as_bytes()));
        }
        for ip in &t.ips {
            names.extend(der::tlv(0x87, ip));
        }
        let san = der::tlv(tag::SEQUENCE, &names);
        exts.push(extension(&[2, 5, 29, 17], t.cn.is_empty(), &san));
    }
    let ext_refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();

    let sig_alg = signer.signature_algorithm()?;
    let tbs = der::seq(&[
        &der::cons(0xa0, &[&der::uint(&[2])]),
        &der::uint(&serial),
        &sig_alg,
        &issuer_name,
        &der::seq(&[&der_time(now), &der_time(now + t.days * 86_400)]),
        &subject,
        &spki,
        &der::cons(0xa3, &[&der::seq(&ext_refs)]),
    ]);
    let signature = signer.sign(&tbs)?;
    let cert = der::seq(&[&tbs, &sig_alg, &der::bits(&signature)]);
    Ok(der::pem_encode("CERTIFICATE", &cert))
}

/// Sprig's `certificate` struct: `.Cert` and `.Key`, both PEM.
#[derive(Debug)]
struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::str(self.cert.as_str())),
            "Key" => Some(Value::str(self.key.as_str())),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        let mut m = BTreeMap::new();
        m.insert("Cert".to_owned(), Value::str(self.cert.as_str()));
        m.insert("Key".to_owned(), Value::str(self.key.as_str()));
        Value::map(m)
    }
    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
}

fn cert_value(cert: String, key: &PrivateKey) -> Result<Value, String> {
    Ok(Value::Object(Rc::new(Certificate {
        cert,
        key: key.to_pem()?,
    })))
}

/// A `[]interface{}` parameter: nil or a list.
fn want_list(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::List(l) => Ok(l.to_vec()),
        other => Err(format!(
            "{NO_WRAP}wrong type for value; expected []interface {{}}; got {}",
            other.type_name()
        )),
    }
}

/// A `certificate` parameter (what `genCA` and `buildCustomCert` return).
fn want_cert(v: &Value) -> Result<(String, String), String> {
    if let Value::Object(o) = v
        && o.type_name() == "sprig.certificate"
    {
        let get = |f: &str| o.field(f).and_then(|v| v.as_str().map(str::to_owned));
        return Ok((
            get("Cert").unwrap_or_default(),
            get("Key").unwrap_or_default(),
        ));
    }
    Err(format!(
        "{NO_WRAP}wrong type for value; expected sprig.certificate; got {}",
        v.type_name()
    ))
}

fn template(
    cn: &Value,
    ips: &Value,
    dns: &Value,
    days: &Value,
    is_ca: bool,
) -> Result<Template, String> {
    let cn = want_str(cn)?.to_owned();
    let days = want_int(days)?;
    let mut ip_bytes = Vec::new();
    for ip in want_list(ips)? {
        let Value::Str(s) = &ip else {
            return Err(format!("error parsing ip: {ip} is not a string"));
        };
        let addr: IpAddr = s.parse().map_err(|_| format!("error parsing ip: {s}"))?;
        ip_bytes.push(match addr {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets().to_vec(),
                None => v6.octets().to_vec(),
            },
        });
    }
    let mut names = Vec::new();
    for d in want_list(dns)? {
        let Value::Str(s) = &d else {
            return Err(format!(
                "error processing alternate dns name: {d} is not a string"
            ));
        };
        names.push(s.to_string());
    }
    Ok(Template {
        cn,
        ips: ip_bytes,
        dns: names,
        days,
        is_ca,
    })
}

fn with_key(pem: &Value) -> Result<PrivateKey, String> {
    parse_private_key_pem(want_str(pem)?).map_err(|e| format!("parsing private key: {e}"))
}

fn self_signed(t: &Template, key: PrivateKey) -> Result<Value, String> {
    let cert = create_certificate(t, &key, None)?;
    cert_value(cert, &key)
}

fn signed(t: &Template, ca: &Value, key: PrivateKey) -> Result<Value, String> {
    let (ca_cert, ca_key) = want_cert(ca)?;
    let parsed = match der::pem_decode(&ca_cert) {
        Some((_, bytes)) => parse_certificate(&bytes)
            .map_err(|e| format!("error parsing certificate: decodedSignerCert.Bytes: {e}"))?,
        None => return Err("unable to decode certificate".to_owned()),
    };
    let signer =
        parse_private_key_pem(&ca_key).map_err(|e| format!("error parsing private key: {e}"))?;
    let cert = create_certificate(t, &key, Some((&parsed, &signer)))?;
    cert_value(cert, &key)
}

fn build_custom_cert(b64cert: &str, b64key: &str) -> Result<Value, String> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let cert = b64
        .decode(b64cert)
        .map_err(|_| "unable to decode base64 certificate".to_owned())?;
    let key = b64
        .decode(b64key)
        .map_err(|_| "unable to decode base64 private key".to_owned())?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let Some((_, der)) = der::pem_decode(&cert) else {
        return Err("unable to decode certificate".to_owned());
    };
    parse_certificate(&der)
        .map_err(|e| format!("error parsing certificate: decodedCert.Bytes: {e}"))?;
    parse_private_key_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Value::Object(Rc::new(Certificate { cert, key })))
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("genPrivateKey", |_, a| {
        arity("genPrivateKey", a, 1)?;
        let typ = want_str(&a[0])?;
        let key = match typ {
            "" | "rsa" => PrivateKey::generate_rsa(4096),
            "ecdsa" => PrivateKey::generate_ec(),
            "ed25519" => Ok(PrivateKey::generate_ed25519()),
            "dsa" => Ok(PrivateKey::generate_dsa()),
            other => return Ok(Value::str(format!("Unknown type {other}"))),
        };
        // Sprig returns its error text as the function's value.
        Ok(Value::str(match key.and_then(|k| k.to_pem()) {
            Ok(pem) => pem,
            Err(e) => format!("failed to generate private key: {e}"),
        }))
    });
    m.insert("buildCustomCert", |_, a| {
        arity("buildCustomCert", a, 2)?;
        build_custom_cert(want_str(&a[0])?, want_str(&a[1])?)
    });
    m.insert("genCA", |_, a| {
        arity("genCA", a, 2)?;
        let t = template(&a[0], &Value::Nil, &Value::Nil, &a[1], true)?;
        self_signed(&t, PrivateKey::generate_rsa(2048)?)
    });
    m.insert("genCAWithKey", |_, a| {
        arity("genCAWithKey", a, 3)?;
        let t = template(&a[0], &Value::Nil, &Value::Nil, &a[1], true)?;
        self_signed(&t, with_key(&a[2])?)
    });
    m.insert("genSelfSignedCert", |_, a| {
        arity("genSelfSignedCert", a, 4)?;
        let t = template(&a[0], &a[1], &a[2], &a[3], false)?;
        self_signed(&t, PrivateKey::generate_rsa(2048)?)
    });
    m.insert("genSelfSignedCertWithKey", |_, a| {
        arity("genSelfSignedCertWithKey", a, 5)?;
        let t = template(&a[0], &a[1], &a[2], &a[3], false)?;
        self_signed(&t, with_key(&a[4])?)
    });
    m.insert("genSignedCert", |_, a| {
        arity("genSignedCert", a, 5)?;
        let t = template(&a[0], &a[1], &a[2], &a[3], false)?;
        want_cert(&a[4])?;
        signed(&t, &a[4], PrivateKey::generate_rsa(2048)?)
    });
    m.insert("genSignedCertWithKey", |_, a| {
        arity("genSignedCertWithKey", a, 6)?;
        let t = template(&a[0], &a[1], &a[2], &a[3], false)?;
        want_cert(&a[4])?;
        signed(&t, &a[4], with_key(&a[5])?)
    });
}
