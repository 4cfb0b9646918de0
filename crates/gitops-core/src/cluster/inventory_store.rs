//! The inventory of a unit kept in the cluster, as a ConfigMap (what the CLI uses; the operator
//! keeps it in its custom resource's status instead).

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::discovery::Discovery;
use super::error::Error;
use crate::inventory::Inventory;

/// Key of the ConfigMap's data that holds the inventory JSON.
pub const DATA_KEY: &str = "inventory";

/// Where a unit's inventory is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryLocation {
    /// Namespace of the ConfigMap.
    pub namespace: String,
    /// Name of the ConfigMap.
    pub name: String,
}

impl InventoryLocation {
    /// The ConfigMap `gitops-inventory-<unit>` in `namespace`.
    #[must_use]
    pub fn for_unit(namespace: &str, unit: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: format!("gitops-inventory-{unit}"),
        }
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Inventory {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            message: message.into(),
        }
    }

    fn api(&self, discovery: &Discovery) -> Api<ConfigMap> {
        Api::namespaced(discovery.client().clone(), &self.namespace)
    }

    /// Reads the inventory; `None` when the ConfigMap does not exist (first apply).
    ///
    /// # Errors
    /// When the read fails or the ConfigMap holds no valid inventory.
    pub async fn load(&self, discovery: &Discovery) -> Result<Option<Inventory>, Error> {
        let cm = self
            .api(discovery)
            .get_opt(&self.name)
            .await
            .map_err(|e| self.error(format!("cannot read it: {e}")))?;
        let Some(cm) = cm else { return Ok(None) };
        let text = cm
            .data
            .as_ref()
            .and_then(|d| d.get(DATA_KEY))
            .ok_or_else(|| self.error(format!("no `{DATA_KEY}` key in data")))?;
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| self.error(format!("data.{DATA_KEY} is not an inventory: {e}")))
    }

    /// Writes the inventory (server-side apply, so it is created on first use).
    ///
    /// # Errors
    /// When the write fails (for example the namespace does not exist).
    pub async fn store(
        &self,
        discovery: &Discovery,
        inventory: &Inventory,
        field_manager: &str,
    ) -> Result<(), Error> {
        let text = serde_json::to_string(inventory)
            .map_err(|e| self.error(format!("cannot serialise: {e}")))?;
        let body = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/managed-by": "gitops"},
            },
            "data": {DATA_KEY: text},
        });
        self.api(discovery)
            .patch(
                &self.name,
                &PatchParams::apply(field_manager).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|e| self.error(format!("cannot write it: {e}")))?;
        Ok(())
    }
}
