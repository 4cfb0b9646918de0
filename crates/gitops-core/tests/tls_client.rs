//! A kube client with TLS can be created: exactly one rustls crypto provider is compiled in (two
//! make rustls panic when the first TLS client is built).
#![cfg(feature = "cluster")]

use std::io::Write;

#[tokio::test]
async fn client_with_tls_kubeconfig_is_created_without_a_provider_clash() {
    let ca = include_str!("data/ca.crt");
    let ca_b64 = base64_encode(ca.as_bytes());
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    certificate-authority-data: {ca_b64}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\nusers:\n- name: u\n  user: {{token: abc}}\n"
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(kubeconfig.as_bytes()).unwrap();
    let client = gitops_core::cluster::client_from_kubeconfig(Some(file.path()), None).await;
    assert!(client.is_ok(), "{:?}", client.err());
}

#[tokio::test]
async fn a_missing_kubeconfig_names_the_file() {
    let err = gitops_core::cluster::client_from_kubeconfig(
        Some(std::path::Path::new("/nonexistent/kubeconfig")),
        None,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "cannot read kubeconfig `/nonexistent/kubeconfig`"
    );
}

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
