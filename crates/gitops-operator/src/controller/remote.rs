//! `spec.kubeConfig`: the client of the cluster a unit applies to when that is not the
//! operator's own. Flux's form, `kubeConfig.secretRef{name, key}`: the kubeconfig is the value of
//! `key` (default `value`, then `value.yaml`) of a Secret in the unit's namespace, read from the
//! operator's cluster. Apply, prune, health checks and drift checks go through that client; the
//! inventory (in the unit's status) lists objects of that cluster.
//!
//! A kubeconfig from a Secret is written by whoever may write Secrets in the unit's namespace,
//! so it may not make the operator run commands or read its own files: `exec` and
//! `auth-provider` plugins, file references (`token-file`, `client-certificate`, `client-key`,
//! `certificate-authority`) and `insecure-skip-tls-verify` are refused (Flux refuses exec and
//! insecure TLS by default too). Inline data (`*-data`, `token`, user name and password) works.
//!
//! The Secret is read on every reconciliation, not watched: a fixed Secret is seen at the next
//! retry.

use std::collections::BTreeMap;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use super::Context;
use super::inputs::client_as;
use super::source::Failure;
use crate::conditions::reason;

/// The keys tried, in order, when `secretRef.key` is not given.
const DEFAULT_KEYS: [&str; 2] = ["value", "value.yaml"];

/// Where a unit's kubeconfig is: `spec.kubeConfig.secretRef`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KubeConfigRef {
    /// The Secret, in the unit's namespace.
    pub(super) name: String,
    /// Its key; [`DEFAULT_KEYS`] when absent.
    pub(super) key: Option<String>,
}

/// Reads `spec.kubeConfig` (kept as free-form JSON in the API type).
pub(super) fn parse_ref(value: &Value) -> Result<KubeConfigRef, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("spec.kubeConfig should be an object, found `{value}`"))?;
    if object.contains_key("configMapRef") {
        return Err(
            "spec.kubeConfig.configMapRef (workload identity) is not supported; \
                    give the kubeconfig in a Secret with spec.kubeConfig.secretRef"
                .to_owned(),
        );
    }
    let secret_ref = object
        .get("secretRef")
        .and_then(Value::as_object)
        .ok_or_else(|| "spec.kubeConfig needs secretRef: {name, key}".to_owned())?;
    let name = secret_ref
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| "spec.kubeConfig.secretRef.name should be a Secret's name".to_owned())?;
    let key = match secret_ref.get("key") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) if !k.is_empty() => Some(k.clone()),
        Some(other) => {
            return Err(format!(
                "spec.kubeConfig.secretRef.key should be a key of the Secret, found `{other}`"
            ));
        }
    };
    Ok(KubeConfigRef {
        name: name.to_owned(),
        key,
    })
}

/// The key holding the kubeconfig and its bytes: `key`, or the first of [`DEFAULT_KEYS`].
pub(super) fn pick_key<'a>(
    data: &'a BTreeMap<String, Vec<u8>>,
    key: Option<&str>,
) -> Result<(&'a str, &'a [u8]), String> {
    let wanted: Vec<&str> = match key {
        Some(k) => vec![k],
        None => DEFAULT_KEYS.to_vec(),
    };
    for k in &wanted {
        if let Some((found, bytes)) = data.get_key_value(*k) {
            return Ok((found.as_str(), bytes.as_slice()));
        }
    }
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    Err(format!(
        "has no key {} (keys: {})",
        wanted
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(" or "),
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.join(", ")
        }
    ))
}

/// Refuses what a kubeconfig from a Secret may not do: run plugins, read the operator's files,
/// skip TLS verification. The message names the user or cluster and the field.
pub(super) fn check(kubeconfig: &Kubeconfig) -> Result<(), String> {
    for named in &kubeconfig.auth_infos {
        let Some(user) = &named.auth_info else {
            continue;
        };
        let refused = [
            ("exec", user.exec.is_some()),
            ("auth-provider", user.auth_provider.is_some()),
            ("tokenFile", user.token_file.is_some()),
            ("client-certificate", user.client_certificate.is_some()),
            ("client-key", user.client_key.is_some()),
        ];
        if let Some((field, _)) = refused.iter().find(|(_, set)| *set) {
            return Err(format!(
                "user `{}` sets `{field}`, which is refused in a kubeconfig from a Secret \
                 (no plugins, no files of the operator; inline the credentials)",
                named.name
            ));
        }
    }
    for named in &kubeconfig.clusters {
        let Some(cluster) = &named.cluster else {
            continue;
        };
        if cluster.certificate_authority.is_some() {
            return Err(format!(
                "cluster `{}` sets `certificate-authority` (a file), which is refused in a \
                 kubeconfig from a Secret; use `certificate-authority-data`",
                named.name
            ));
        }
        if cluster.insecure_skip_tls_verify == Some(true) {
            return Err(format!(
                "cluster `{}` sets `insecure-skip-tls-verify`, which is refused in a kubeconfig \
                 from a Secret",
                named.name
            ));
        }
    }
    Ok(())
}

/// The client a unit applies with: the operator's (or impersonating `account`) without
/// `kube_config`; otherwise the kubeconfig's cluster and user (impersonating `account` there, as
/// Flux does). A failure is (reason, message, stalled).
pub(super) async fn client(
    ctx: &Context,
    namespace: &str,
    kube_config: Option<&Value>,
    account: Option<&str>,
) -> Result<kube::Client, Failure> {
    let Some(value) = kube_config else {
        return client_as(ctx, namespace, account).map_err(|m| (reason::INVALID_SPEC, m, true));
    };
    let reference = parse_ref(value).map_err(|m| (reason::INVALID_SPEC, m, true))?;
    let failed = |message: String| (reason::KUBE_CONFIG_FAILED, message, false);
    let secret_name = &reference.name;
    let secret = ctx
        .api::<k8s_openapi::api::core::v1::Secret>(namespace)
        .get_opt(secret_name)
        .await
        .map_err(|e| {
            failed(format!(
                "spec.kubeConfig: cannot read Secret {namespace}/{secret_name}: {e}"
            ))
        })?
        .ok_or_else(|| {
            failed(format!(
                "spec.kubeConfig: Secret {namespace}/{secret_name} does not exist"
            ))
        })?;
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    let (key, bytes) = pick_key(&data, reference.key.as_deref()).map_err(|why| {
        failed(format!(
            "spec.kubeConfig: Secret {namespace}/{secret_name} {why}"
        ))
    })?;
    let what = format!("spec.kubeConfig: Secret {namespace}/{secret_name} key `{key}`");
    let text = std::str::from_utf8(bytes)
        .map_err(|_| failed(format!("{what}: the kubeconfig is not UTF-8 text")))?;
    let kubeconfig = Kubeconfig::from_yaml(text)
        .map_err(|e| failed(format!("{what}: not a kubeconfig: {e}")))?;
    check(&kubeconfig).map_err(|why| failed(format!("{what}: {why}")))?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| failed(format!("{what}: cannot load the kubeconfig: {e}")))?;
    if let Some(account) = account {
        config.auth_info.impersonate = Some(format!("system:serviceaccount:{namespace}:{account}"));
    }
    kube::Client::try_from(config)
        .map_err(|e| failed(format!("{what}: cannot create a client: {e}")))
}

/// The name of the kubeconfig Secret of `kube_config` when it is known not to exist (not on a
/// failed read): deletion then skips pruning instead of waiting forever.
async fn secret_gone(
    ctx: &Context,
    namespace: &str,
    kube_config: Option<&Value>,
) -> Option<String> {
    let reference = parse_ref(kube_config?).ok()?;
    match ctx
        .api::<k8s_openapi::api::core::v1::Secret>(namespace)
        .get_opt(&reference.name)
        .await
    {
        Ok(None) => Some(reference.name),
        _ => None,
    }
}

/// On deletion of `object` (a unit or release in `namespace` with `kube_config`): when its
/// kubeconfig Secret is known to be gone (deleting a namespace deletes it with the object),
/// publishes a warning Event and returns true, so that the caller skips pruning instead of
/// keeping the finalizer forever. The remote objects stay, and the Event says so.
pub(super) async fn prune_impossible(
    ctx: &Context,
    object: &k8s_openapi::api::core::v1::ObjectReference,
    namespace: &str,
    kube_config: Option<&Value>,
    objects: usize,
) -> bool {
    let Some(secret) = secret_gone(ctx, namespace, kube_config).await else {
        return false;
    };
    let message = format!(
        "not pruned on deletion: the kubeconfig Secret {namespace}/{secret} of spec.kubeConfig \
         is gone; {objects} objects stay in the remote cluster"
    );
    tracing::warn!(
        kind = object.kind.as_deref().unwrap_or_default(),
        namespace,
        name = object.name.as_deref().unwrap_or_default(),
        "{message}"
    );
    super::events::publish(ctx, object, false, "PruneSkipped", "Delete", &message).await;
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn the_secret_ref_is_read_with_an_optional_key() {
        assert_eq!(
            parse_ref(&json!({"secretRef": {"name": "remote"}})),
            Ok(KubeConfigRef {
                name: "remote".into(),
                key: None
            })
        );
        assert_eq!(
            parse_ref(&json!({"secretRef": {"name": "remote", "key": "config"}})),
            Ok(KubeConfigRef {
                name: "remote".into(),
                key: Some("config".into())
            })
        );
        assert_eq!(
            parse_ref(&json!({"secretRef": {}})),
            Err("spec.kubeConfig.secretRef.name should be a Secret's name".to_owned())
        );
        assert!(
            parse_ref(&json!({"configMapRef": {"name": "x"}}))
                .unwrap_err()
                .contains("configMapRef (workload identity) is not supported")
        );
        assert_eq!(
            parse_ref(&json!("remote")),
            Err("spec.kubeConfig should be an object, found `\"remote\"`".to_owned())
        );
    }

    #[test]
    fn the_key_defaults_to_value_then_value_yaml() {
        let data = |keys: &[&str]| -> BTreeMap<String, Vec<u8>> {
            keys.iter()
                .map(|k| ((*k).to_owned(), k.as_bytes().to_vec()))
                .collect()
        };
        let both = data(&["value", "value.yaml"]);
        assert_eq!(pick_key(&both, None).unwrap().0, "value");
        let yaml = data(&["value.yaml", "other"]);
        assert_eq!(pick_key(&yaml, None).unwrap().0, "value.yaml");
        assert_eq!(pick_key(&yaml, Some("other")).unwrap().0, "other");
        assert_eq!(
            pick_key(&yaml, Some("value")),
            Err("has no key `value` (keys: other, value.yaml)".to_owned())
        );
        assert_eq!(
            pick_key(&data(&[]), None),
            Err("has no key `value` or `value.yaml` (keys: none)".to_owned())
        );
    }

    fn kubeconfig(user: &str, cluster: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: remote\n  cluster:\n    server: https://remote.example:6443\n{cluster}users:\n- name: deployer\n  user:\n{user}contexts:\n- name: remote\n  context:\n    cluster: remote\n    user: deployer\ncurrent-context: remote\n"
        ))
        .unwrap()
    }

    #[test]
    fn inline_credentials_are_accepted() {
        let ok = kubeconfig("    token: abc\n", "    certificate-authority-data: Y2E=\n");
        assert_eq!(check(&ok), Ok(()));
        let certs = kubeconfig(
            "    client-certificate-data: Y2VydA==\n    client-key-data: a2V5\n",
            "",
        );
        assert_eq!(check(&certs), Ok(()));
    }

    #[test]
    fn plugins_files_and_insecure_tls_are_refused() {
        let exec = kubeconfig(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [-c, id]\n",
            "",
        );
        let message = check(&exec).unwrap_err();
        assert!(
            message.starts_with("user `deployer` sets `exec`, which is refused"),
            "{message}"
        );
        let file = kubeconfig("    tokenFile: /var/run/secrets/token\n", "");
        assert!(check(&file).unwrap_err().contains("sets `tokenFile`"));
        let key = kubeconfig("    client-key: /etc/key.pem\n", "");
        assert!(check(&key).unwrap_err().contains("sets `client-key`"));
        let ca = kubeconfig(
            "    token: abc\n",
            "    certificate-authority: /etc/ca.crt\n",
        );
        assert!(
            check(&ca)
                .unwrap_err()
                .starts_with("cluster `remote` sets `certificate-authority` (a file)")
        );
        let insecure = kubeconfig("    token: abc\n", "    insecure-skip-tls-verify: true\n");
        assert!(
            check(&insecure)
                .unwrap_err()
                .contains("sets `insecure-skip-tls-verify`")
        );
    }
}
