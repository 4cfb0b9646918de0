//! GVK → API resource mapping, cached per group version and refreshed on a miss (so a kind whose
//! CRD was applied a moment ago is found once the server serves it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use kube::Client;
use kube::api::{ApiResource, DynamicObject};
use kube::core::GroupVersion;
use kube::discovery::{ApiCapabilities, Scope};

use super::error::{Error, is_not_found};
use crate::{Object, ObjectRef};

/// Where objects of one kind live in the API.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The resource (plural, group, version).
    pub api: ApiResource,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
}

impl Resource {
    /// Reads the live object `id` of this resource; `None` when it does not exist.
    ///
    /// # Errors
    /// When the server refuses the read or answers with something that is not an object.
    pub async fn get(&self, client: &Client, id: &ObjectRef) -> Result<Option<Object>, Error> {
        let api = self.api(client, id.namespace.as_deref());
        let Some(live) = api
            .get_opt(&id.name)
            .await
            .map_err(|e| Error::from_kube(id, "get", e))?
        else {
            return Ok(None);
        };
        let value = super::apply::to_value(id, &live)?;
        Object::from_value(value)
            .map(Some)
            .map_err(|e| Error::Invalid {
                object: id.clone(),
                message: e.to_string(),
            })
    }

    /// The dynamic API for an object of this resource in `namespace` (ignored when
    /// cluster-scoped).
    #[must_use]
    pub fn api(&self, client: &Client, namespace: Option<&str>) -> kube::Api<DynamicObject> {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => kube::Api::namespaced_with(client.clone(), ns, &self.api),
            _ => kube::Api::all_with(client.clone(), &self.api),
        }
    }
}

type GroupResources = Arc<Vec<(ApiResource, ApiCapabilities)>>;

/// A discovery cache shared by the tasks of one apply.
#[derive(Clone)]
pub struct Discovery {
    client: Client,
    cache: Arc<Mutex<HashMap<String, GroupResources>>>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery").finish_non_exhaustive()
    }
}

impl Discovery {
    /// An empty cache over `client`.
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self {
            client,
            cache: Arc::default(),
        }
    }

    /// The client.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The resource of `object`'s kind, or `None` when the server does not serve it. A kind
    /// missing from a cached group version triggers one refresh of that group version.
    ///
    /// # Errors
    /// When discovery itself fails (other than the group version not existing).
    pub async fn resolve(&self, object: &ObjectRef) -> Result<Option<Resource>, Error> {
        let gv = object.api_version();
        if let Some(found) = self.lookup(&gv, &object.kind) {
            return Ok(Some(found));
        }
        self.refresh(&gv, &object.group, &object.version).await?;
        Ok(self.lookup(&gv, &object.kind))
    }

    /// Like [`Discovery::resolve`], but an unknown kind is an error naming the object.
    ///
    /// # Errors
    /// [`Error::UnknownKind`], or a discovery failure.
    pub async fn require(&self, object: &ObjectRef) -> Result<Resource, Error> {
        self.resolve(object)
            .await?
            .ok_or_else(|| Error::UnknownKind {
                object: object.clone(),
                kind: object.kind.clone(),
                api_version: object.api_version(),
            })
    }

    /// Forgets everything, so that the next lookups ask the server again.
    pub fn invalidate(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn lookup(&self, gv: &str, kind: &str) -> Option<Resource> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let resources = cache.get(gv)?;
        resources
            .iter()
            .find(|(r, _)| r.kind == kind && !r.plural.contains('/'))
            .map(|(api, caps)| Resource {
                api: api.clone(),
                namespaced: caps.scope == Scope::Namespaced,
            })
    }

    async fn refresh(&self, gv: &str, group: &str, version: &str) -> Result<(), Error> {
        let key = GroupVersion::gv(group, version);
        let resources = match kube::discovery::oneshot::pinned_group(&self.client, &key).await {
            Ok(api_group) => api_group.versioned_resources(version),
            Err(e) if is_not_found(&e) => Vec::new(),
            Err(source) => {
                return Err(Error::Discovery {
                    group_version: gv.to_owned(),
                    source,
                });
            }
        };
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(gv.to_owned(), Arc::new(resources));
        Ok(())
    }
}

/// Whether one of `objects` is a CRD that defines `object`'s group and kind (so the object can
/// be applied once that CRD is Established).
#[must_use]
pub fn defined_by_crd_in(object: &ObjectRef, objects: &[Object]) -> bool {
    objects.iter().any(|o| {
        if !crate::order::is_crd(o) {
            return false;
        }
        let spec = &o.as_map().get("spec");
        let Some(spec) = spec else { return false };
        spec["group"] == object.group.as_str() && spec["names"]["kind"] == object.kind.as_str()
    })
}
