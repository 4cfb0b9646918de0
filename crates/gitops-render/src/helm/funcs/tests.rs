#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Table tests of the function library, run through the template engine as charts call them.

use super::der::{self, Reader, tag};
use super::helm_funcs;
use crate::gotemplate::{Templates, Value};

const NAME: &str = "chart/templates/t.yaml";

fn render(text: &str) -> Result<String, String> {
    let mut t = Templates::new();
    t.parse(NAME, text)?;
    t.execute(&helm_funcs(), NAME, &Value::Nil)
        .map_err(|e| e.to_string())
}

fn ok(text: &str) -> String {
    render(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Each case renders to the expected text.
fn table(cases: &[(&str, &str)]) {
    for (text, want) in cases {
        assert_eq!(&ok(text), want, "{text}");
    }
}

/// Each case fails with a message containing the expected text; every message names the
/// template and the line:column of the call.
fn errors(cases: &[(&str, &str)]) {
    for (text, want) in cases {
        let e = render(text).expect_err(text);
        assert!(e.contains(want), "{text}: {e}");
        assert!(e.starts_with(&format!("template: {NAME}:")), "{text}: {e}");
    }
}

/// A certificate, split into the parts a signature check needs.
struct Cert {
    tbs: Vec<u8>,
    signature: Vec<u8>,
    public_key: Vec<u8>,
    key_algorithm: Vec<u8>,
    issuer: Vec<u8>,
    subject: Vec<u8>,
    extensions: Vec<(Vec<u8>, bool, Vec<u8>)>,
}

fn read_cert(pem: &str) -> Cert {
    let (kind, bytes) = der::pem_decode(pem).unwrap();
    assert_eq!(kind, "CERTIFICATE");
    let outer = Reader::new(&bytes).expect(tag::SEQUENCE).unwrap();
    let mut c = Reader::new(outer.content);
    let tbs = c.expect(tag::SEQUENCE).unwrap();
    c.expect(tag::SEQUENCE).unwrap();
    let sig = c.expect(tag::BIT_STRING).unwrap().content[1..].to_vec();
    let mut t = Reader::new(tbs.content);
    let version = t.expect(0xa0).unwrap();
    assert_eq!(version.content, [2, 1, 2], "X.509 v3");
    let serial = t.expect(tag::INTEGER).unwrap();
    assert!(serial.content.len() <= 17);
    t.expect(tag::SEQUENCE).unwrap();
    let issuer = t.expect(tag::SEQUENCE).unwrap().raw.to_vec();
    t.expect(tag::SEQUENCE).unwrap();
    let subject = t.expect(tag::SEQUENCE).unwrap().raw.to_vec();
    let spki = t.expect(tag::SEQUENCE).unwrap();
    let mut s = Reader::new(spki.content);
    let key_algorithm = s.expect(tag::SEQUENCE).unwrap().content.to_vec();
    let public_key = s.expect(tag::BIT_STRING).unwrap().content[1..].to_vec();
    let exts = t.expect(0xa3).unwrap();
    let list = Reader::new(exts.content).expect(tag::SEQUENCE).unwrap();
    let mut r = Reader::new(list.content);
    let mut extensions = Vec::new();
    while !r.is_empty() {
        let e = r.expect(tag::SEQUENCE).unwrap();
        let mut f = Reader::new(e.content);
        let id = f.expect(tag::OID).unwrap().raw.to_vec();
        let critical = f.optional(tag::BOOLEAN).is_some();
        let value = f.expect(tag::OCTET_STRING).unwrap().content.to_vec();
        extensions.push((id, critical, value));
    }
    Cert {
        tbs: tbs.raw.to_vec(),
        signature: sig,
        public_key,
        key_algorithm,
        issuer,
        subject,
        extensions,
    }
}

impl Cert {
    /// Checks this certificate's signature with `signer`'s public key.
    fn verify_with(&self, signer: &Cert) {
        use ring::signature as s;
        let alg: &dyn s::VerificationAlgorithm = if signer
            .key_algorithm
            .starts_with(&der::oid(&[1, 2, 840, 113_549, 1, 1, 1]))
        {
            &s::RSA_PKCS1_2048_8192_SHA256
        } else if signer.key_algorithm == der::oid(&[1, 3, 101, 112]) {
            &s::ED25519
        } else {
            &s::ECDSA_P256_SHA256_ASN1
        };
        s::UnparsedPublicKey::new(alg, &signer.public_key)
            .verify(&self.tbs, &self.signature)
            .expect("signature verifies");
    }

    fn extension(&self, arcs: &[u64]) -> Option<&(Vec<u8>, bool, Vec<u8>)> {
        let id = der::oid(arcs);
        self.extensions.iter().find(|(i, _, _)| *i == id)
    }
}

fn cert_and_key(expr: &str) -> (String, String) {
    let out = ok(&format!(
        "{{{{ $c := {expr} }}}}{{{{ $c.Cert }}}}|{{{{ $c.Key }}}}"
    ));
    let (c, k) = out.split_once('|').unwrap();
    (c.to_owned(), k.to_owned())
}

#[test]
fn gen_ca_is_a_self_signed_rsa_ca() {
    let (cert, key) = cert_and_key(r#"genCA "my-ca" 365"#);
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    let c = read_cert(&cert);
    c.verify_with(&c);
    assert_eq!(c.issuer, c.subject);
    assert!(c.subject.windows(5).any(|w| w == b"my-ca"));
    let (_, critical, basic) = c.extension(&[2, 5, 29, 19]).unwrap();
    assert!(*critical);
    assert_eq!(basic, &[0x30, 0x03, 0x01, 0x01, 0xff], "CA:TRUE");
    let (_, critical, usage) = c.extension(&[2, 5, 29, 15]).unwrap();
    assert!(*critical);
    assert_eq!(
        usage,
        &[0x03, 0x02, 0x02, 0xa4],
        "digitalSignature keyEncipherment keyCertSign"
    );
    assert!(c.extension(&[2, 5, 29, 14]).is_some(), "subject key id");
    assert!(c.extension(&[2, 5, 29, 17]).is_none(), "no SANs");
}

#[test]
fn signed_certs_chain_to_their_ca() {
    let out = ok(
        r#"{{ $ca := genCA "ca" 10 }}{{ $l := genSignedCert "leaf" (list "10.1.2.3" "::1") (list "a.example" "b.example") 5 $ca }}{{ $ca.Cert }}|{{ $l.Cert }}|{{ $l.Key }}"#,
    );
    let parts: Vec<&str> = out.split('|').collect();
    let (ca, leaf) = (read_cert(parts[0]), read_cert(parts[1]));
    assert!(parts[2].starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    leaf.verify_with(&ca);
    assert_eq!(leaf.issuer, ca.subject);
    let (_, _, basic) = leaf.extension(&[2, 5, 29, 19]).unwrap();
    assert_eq!(basic, &[0x30, 0x00], "CA:FALSE");
    let (_, _, skid) = ca.extension(&[2, 5, 29, 14]).unwrap();
    let (_, _, akid) = leaf.extension(&[2, 5, 29, 35]).unwrap();
    assert!(
        akid.ends_with(&skid[2..]),
        "authority key id = CA's subject key id"
    );
    let (_, critical, san) = leaf.extension(&[2, 5, 29, 17]).unwrap();
    assert!(!critical);
    let mut want = Vec::new();
    want.extend(der::tlv(0x82, b"a.example"));
    want.extend(der::tlv(0x82, b"b.example"));
    want.extend(der::tlv(0x87, &[10, 1, 2, 3]));
    let mut v6 = [0u8; 16];
    v6[15] = 1;
    want.extend(der::tlv(0x87, &v6));
    assert_eq!(san, &der::tlv(tag::SEQUENCE, &want));
}

#[test]
fn certs_with_given_keys_of_each_kind() {
    for kind in ["ecdsa", "ed25519"] {
        let out = ok(&format!(
            r#"{{{{ $k := genPrivateKey "{kind}" }}}}{{{{ $ca := genCAWithKey "ca" 1 $k }}}}{{{{ $s := genSelfSignedCertWithKey "s" nil (list "x.example") 1 $k }}}}{{{{ $l := genSignedCertWithKey "l" nil nil 1 $ca $k }}}}{{{{ $k }}}}|{{{{ $ca.Cert }}}}|{{{{ $ca.Key }}}}|{{{{ $s.Cert }}}}|{{{{ $l.Cert }}}}"#
        ));
        let p: Vec<&str> = out.split('|').collect();
        assert_eq!(p[0], p[2], "{kind}: the CA keeps the given key");
        let (ca, s, l) = (read_cert(p[1]), read_cert(p[3]), read_cert(p[4]));
        ca.verify_with(&ca);
        s.verify_with(&s);
        l.verify_with(&ca);
    }
    let rsa = ok(r#"{{ genPrivateKey "rsa" }}"#);
    assert!(rsa.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    // 4096-bit modulus: the PKCS#1 body is well over 2,000 bytes.
    assert!(der::pem_decode(&rsa).unwrap().1.len() > 2200);
    let (ca, _) = cert_and_key(&format!("genCAWithKey \"ca\" 1 {rsa:?}"));
    read_cert(&ca).verify_with(&read_cert(&ca));
}

#[test]
fn private_key_formats() {
    let ec = ok(r#"{{ genPrivateKey "ecdsa" }}"#);
    let (kind, body) = der::pem_decode(&ec).unwrap();
    assert_eq!(kind, "EC PRIVATE KEY");
    assert_eq!(ec.len(), 227, "same size as Go's SEC 1 encoding");
    assert_eq!(body.len(), 121);
    let ed = ok(r#"{{ genPrivateKey "ed25519" }}"#);
    assert_eq!(der::pem_decode(&ed).unwrap().0, "PRIVATE KEY");
    assert_eq!(ed.len(), 119, "same size as Go's PKCS#8 encoding");
    table(&[(r#"{{ genPrivateKey "x" }}"#, "Unknown type x")]);
}

#[test]
fn dsa_keys_generate_but_do_not_sign() {
    let out = ok(r#"{{ $k := genPrivateKey "dsa" }}{{ $k }}"#);
    let (kind, body) = der::pem_decode(&out).unwrap();
    assert_eq!(kind, "DSA PRIVATE KEY");
    let seq = Reader::new(&body).expect(tag::SEQUENCE).unwrap();
    let mut r = Reader::new(seq.content);
    for _ in 0..6 {
        r.expect(tag::INTEGER).unwrap();
    }
    let e = render(&format!("{{{{ genCAWithKey \"ca\" 1 {out:?} }}}}")).unwrap_err();
    assert!(
        e.contains("only RSA, ECDSA and Ed25519 keys supported"),
        "{e}"
    );
}

#[test]
fn build_custom_cert_checks_its_input() {
    let (cert, key) = cert_and_key(r#"genCA "ca" 1"#);
    let out = ok(&format!(
        "{{{{ $c := buildCustomCert ({cert:?} | b64enc) ({key:?} | b64enc) }}}}{{{{ $c.Cert }}}}{{{{ $c.Key }}}}"
    ));
    assert_eq!(out, format!("{cert}{key}"));
    errors(&[
        (
            r#"{{ buildCustomCert "%%%" "" }}"#,
            "error calling buildCustomCert: unable to decode base64 certificate",
        ),
        (
            r#"{{ buildCustomCert ("no pem" | b64enc) "" }}"#,
            "unable to decode certificate",
        ),
    ]);
}

#[test]
fn cert_function_errors() {
    errors(&[
        (
            r#"{{ genCAWithKey "ca" 1 "junk" }}"#,
            "error calling genCAWithKey: parsing private key: no PEM data in input",
        ),
        (
            "{{ genCAWithKey \"ca\" 1 \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\" }}",
            "no private key data in PEM block of type CERTIFICATE",
        ),
        (
            r#"{{ genSelfSignedCert "x" (list "300.1.1.1") nil 1 }}"#,
            "error parsing ip: 300.1.1.1",
        ),
        (
            r#"{{ genSelfSignedCert "x" (list 1) nil 1 }}"#,
            "error parsing ip: 1 is not a string",
        ),
        (
            r#"{{ genSelfSignedCert "x" "10.0.0.1" nil 1 }}"#,
            "expected []interface {}; got string",
        ),
        (
            r#"{{ genSignedCert "x" nil nil 1 (dict "Cert" "" "Key" "") }}"#,
            "expected sprig.certificate; got map[string]interface {}",
        ),
        (
            r#"{{ genCA "x" }}"#,
            "wrong number of args for genCA: want 2 got 1",
        ),
        (
            r#"{{ $a := genCA "a" 1 }}{{ $b := genCA "b" 1 }}{{ genSignedCertWithKey "x" nil nil 1 (buildCustomCert ($a.Cert | b64enc) ($b.Key | b64enc)) $a.Key }}"#,
            "provided PrivateKey doesn't match parent's PublicKey",
        ),
    ]);
}

#[test]
fn passwords_and_aes() {
    table(&[
        (
            r#"{{ derivePassword 1 "long" "password" "user" "example.com" }}"#,
            "ZedaFaxcZaso9*",
        ),
        (
            r#"{{ derivePassword 1 "pin" "secret" "someone" "site.example" }}"#,
            "9491",
        ),
        (
            r#"{{ derivePassword 1 "huge" "p" "u" "s" }}"#,
            "cannot find password template huge",
        ),
        (
            r#"{{ decryptAES "secretkey" "t3V8ha4JkPppBDhh/04668e5VLOAHKNojUk1GBcpMT6/h1qSGBfFs3zFPZG1CCVt" }}"#,
            "hello world from helm",
        ),
        (
            r#"{{ encryptAES "k" "exactly 16 bytes" | decryptAES "k" }}"#,
            "exactly 16 bytes",
        ),
        (
            r#"{{ encryptAES "a key longer than thirty-two bytes!!" "x" | decryptAES "a key longer than thirty-two bytes!!" }}"#,
            "x",
        ),
        (r#"{{ encryptAES "k" "" }}|{{ decryptAES "k" "" }}"#, "|"),
        (r#"{{ htpasswd "a:b" "pw" }}"#, "invalid username: a:b"),
    ]);
    let hash = ok(r#"{{ bcrypt "s3cret" }}"#);
    assert!(hash.starts_with("$2a$10$") && hash.len() == 60, "{hash}");
    assert!(bcrypt::verify("s3cret", &hash).unwrap());
    let line = ok(r#"{{ htpasswd "admin" "pw" }}"#);
    let (user, hash) = line.split_once(':').unwrap();
    assert_eq!(user, "admin");
    assert!(bcrypt::verify("pw", hash).unwrap());
    let long = "x".repeat(73);
    assert_eq!(
        ok(&format!("{{{{ bcrypt {long:?} }}}}")),
        "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
    );
    errors(&[
        (
            r#"{{ decryptAES "k" "AAAA" }}"#,
            "error calling decryptAES: ciphertext of 3 bytes",
        ),
        (
            r#"{{ decryptAES "k" "!!" }}"#,
            "error calling decryptAES: illegal base64 data",
        ),
        (
            r#"{{ derivePassword -1 "long" "p" "u" "s" }}"#,
            "value out of range for uint32",
        ),
    ]);
}

#[test]
fn date_modify_and_duration_round() {
    let t = r#"{{ $t := toDate "2006-01-02" "2024-02-28" }}"#;
    table(&[
        (
            &format!(r#"{t}{{{{ dateModify "24h" $t | date "2006-01-02" }}}}"#),
            "2024-02-29",
        ),
        (
            &format!(r#"{t}{{{{ dateModify "-.5h" $t | date "15:04" }}}}"#),
            "23:30",
        ),
        (
            &format!(r#"{t}{{{{ dateModify "1h1m1s1ms" $t | date "15:04:05.000" }}}}"#),
            "01:01:01.001",
        ),
        (
            &format!(r#"{t}{{{{ dateModify "1µs" $t | date "05.000000" }}}}"#),
            "00.000001",
        ),
        (
            &format!(r#"{t}{{{{ dateModify "x" $t | unixEpoch }}}}"#),
            "1709078400",
        ),
        (r#"{{ durationRound "25h" }}"#, "1d"),
        (r#"{{ durationRound "721h" }}"#, "1mo"),
        (r#"{{ durationRound "8761h" }}"#, "1y"),
        (r#"{{ durationRound "1h" }}"#, "60m"),
        (r#"{{ durationRound "-2m1s" }}"#, "2m"),
        (r#"{{ durationRound "0" }}"#, "0s"),
        (r#"{{ durationRound 3.5 }}"#, "0s"),
        (r#"{{ durationRound (int64 61000000000) }}"#, "1m"),
    ]);
    errors(&[
        (
            &format!(r#"{t}{{{{ mustDateModify "3 days" $t }}}}"#),
            r#"error calling mustDateModify: time: unknown unit " days" in duration "3 days""#,
        ),
        (
            &format!(r#"{t}{{{{ mustDateModify "5" $t }}}}"#),
            r#"time: missing unit in duration "5""#,
        ),
        (
            &format!(r#"{t}{{{{ mustDateModify "" $t }}}}"#),
            r#"time: invalid duration """#,
        ),
        (
            r#"{{ dateModify "1h" "2024-01-01" }}"#,
            "wrong type for value; expected time.Time; got string",
        ),
    ]);
}

#[test]
fn urls_and_hosts() {
    table(&[
        (
            r#"{{ (urlParse "https://u@h.example:8080/p%20q?a=b#f").hostname }}"#,
            "h.example",
        ),
        (
            r#"{{ (urlParse "https://u@h.example/p%20q").path }}"#,
            "/p q",
        ),
        (r#"{{ (urlParse "https://u@h.example/").userinfo }}"#, "u"),
        (
            r#"{{ urlJoin (dict "scheme" "https" "host" "h" "path" "/a b" "query" "x=1") }}"#,
            "https://h/a%20b?x=1",
        ),
        (r#"{{ urlJoin (dict "path" "a:b") }}"#, "./a:b"),
        (r#"{{ urlJoin (dict) }}"#, ""),
        (r#"{{ getHostByName "localhost" }}"#, ""),
        (
            r#"{{ osBase "/x/y.tgz" }} {{ osExt "y.tar.gz" }}"#,
            "y.tgz .gz",
        ),
    ]);
    errors(&[
        (
            r#"{{ urlParse ":nope" }}"#,
            r#"error calling urlParse: unable to parse url: parse ":nope": missing protocol scheme"#,
        ),
        (
            r#"{{ urlJoin (dict "host" 5) }}"#,
            "unable to parse host key, must be of type string, but int found",
        ),
        (
            r#"{{ urlJoin "x" }}"#,
            "expected map[string]interface {}; got string",
        ),
        (
            r#"{{ urlJoin (dict "userinfo" "a b") }}"#,
            "unable to parse userinfo in dict",
        ),
    ]);
}

/// Renders with the per-render memo of the engine, as charts run.
fn render_with_memo(text: &str) -> String {
    use std::rc::Rc;
    let mut t = Templates::new();
    t.parse(NAME, text).unwrap();
    let funcs = helm_funcs();
    let mut exec = crate::gotemplate::Exec::new(t.into_shared(), &funcs);
    exec.host = Some(Rc::new(super::RenderMemo::default()));
    exec.execute(NAME, &Value::Nil).unwrap()
}

#[test]
fn memoized_yaml_functions_give_fresh_values_and_follow_changes() {
    // A parsed map changed by the template does not change what the next parse returns.
    assert_eq!(
        render_with_memo(
            r#"{{ $a := "x: 1\nl: [1]" | fromYaml }}{{ $_ := set $a "x" 2 }}{{ $b := "x: 1\nl: [1]" | fromYaml }}{{ $b.x }} {{ $a.x }} {{ $b | toJson }}"#
        ),
        r#"1 2 {"l":[1],"x":1}"#
    );
    // A map changed between two toYaml calls is written anew; equal values give equal text.
    assert_eq!(
        render_with_memo(
            r#"{{ $d := dict "a" 1 }}{{ toYaml $d }}|{{ $_ := set $d "a" "s" }}{{ toYaml $d }}|{{ toYaml (dict "a" 1.0) }}|{{ toYaml (dict "a" 1.5) }}"#
        ),
        "a: 1|a: s|a: 1|a: 1.5"
    );
    assert_eq!(
        render_with_memo(
            r#"{{ "[1, 2]" | fromYamlArray | toJson }}{{ "- a" | fromYamlArray | toJson }}{{ "[1, 2]" | fromYamlArray | toJson }}"#
        ),
        r#"[1,2]["a"][1,2]"#
    );
}
