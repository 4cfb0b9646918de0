//! Kubernetes objects and their identity.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value};

/// A Kubernetes object: a JSON mapping with typed accessors for the fields every object has.
///
/// The value is kept as JSON so that any kind, built-in or custom, passes through unchanged and
/// in its original field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    value: Map<String, Value>,
}

/// Why a value is not a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The document is not a mapping.
    #[error("expected a mapping (a Kubernetes object), found {found}")]
    NotAMapping {
        /// JSON type that was found instead.
        found: &'static str,
    },
    /// A required field is missing or empty.
    #[error("missing required field `{field}`")]
    Missing {
        /// Dotted path of the field.
        field: &'static str,
    },
    /// A field has the wrong type.
    #[error("field `{field}`: expected {expected}, found {found}")]
    WrongType {
        /// Dotted path of the field.
        field: &'static str,
        /// What the field must hold.
        expected: &'static str,
        /// JSON type that was found.
        found: &'static str,
    },
}

impl ObjectError {
    /// JSON pointer of the field the error is about, for locating it in the source.
    #[must_use]
    pub fn pointer(&self) -> &'static str {
        match self {
            Self::NotAMapping { .. } => "",
            Self::Missing { field } | Self::WrongType { field, .. } => match *field {
                "apiVersion" => "/apiVersion",
                "kind" => "/kind",
                "metadata" => "/metadata",
                "metadata.name" => "/metadata/name",
                "metadata.namespace" => "/metadata/namespace",
                _ => "",
            },
        }
    }
}

/// The JSON type name of a value, for error messages.
#[must_use]
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

impl Object {
    /// Checks that `value` is a Kubernetes object: a mapping with string `apiVersion` and `kind`
    /// and a `metadata.name` (or `metadata.generateName`), and a string namespace if any.
    ///
    /// # Errors
    /// Names the first field that is missing or of the wrong type.
    pub fn from_value(value: Value) -> Result<Self, ObjectError> {
        let Value::Object(map) = value else {
            return Err(ObjectError::NotAMapping {
                found: type_name(&value),
            });
        };
        require_string(&map, "apiVersion", "apiVersion")?;
        require_string(&map, "kind", "kind")?;
        let metadata = match map.get("metadata") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => return Err(ObjectError::Missing { field: "metadata" }),
            Some(other) => {
                return Err(ObjectError::WrongType {
                    field: "metadata",
                    expected: "a mapping",
                    found: type_name(other),
                });
            }
        };
        if metadata
            .get("generateName")
            .and_then(Value::as_str)
            .is_none()
        {
            require_string(metadata, "name", "metadata.name")?;
        }
        match metadata.get("namespace") {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => {
                return Err(ObjectError::WrongType {
                    field: "metadata.namespace",
                    expected: "a string",
                    found: type_name(other),
                });
            }
        }
        Ok(Self { value: map })
    }

    /// `apiVersion`, e.g. `apps/v1`.
    #[must_use]
    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// API group: the part of `apiVersion` before `/`, empty for the core group.
    #[must_use]
    pub fn group(&self) -> &str {
        split_api_version(self.api_version()).0
    }

    /// API version: the part of `apiVersion` after `/`.
    #[must_use]
    pub fn version(&self) -> &str {
        split_api_version(self.api_version()).1
    }

    /// `kind`, e.g. `Deployment`.
    #[must_use]
    pub fn kind(&self) -> &str {
        self.value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `metadata` as a mapping.
    #[must_use]
    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.value.get("metadata").and_then(Value::as_object)
    }

    /// `metadata.name` (or `metadata.generateName` when there is no name).
    #[must_use]
    pub fn name(&self) -> &str {
        self.metadata()
            .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `metadata.namespace`, if set and not empty.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        self.metadata()
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
    }

    /// Sets or clears `metadata.namespace`.
    pub fn set_namespace(&mut self, namespace: Option<&str>) {
        if let Some(Value::Object(meta)) = self.value.get_mut("metadata") {
            match namespace {
                Some(ns) => {
                    meta.insert("namespace".to_owned(), Value::String(ns.to_owned()));
                }
                None => {
                    meta.shift_remove("namespace");
                }
            }
        }
    }

    /// `metadata.labels`.
    #[must_use]
    pub fn labels(&self) -> Option<&Map<String, Value>> {
        self.metadata()
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
    }

    /// `metadata.annotations`.
    #[must_use]
    pub fn annotations(&self) -> Option<&Map<String, Value>> {
        self.metadata()
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
    }

    /// One annotation's value.
    #[must_use]
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations()
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }

    /// The identity of this object.
    #[must_use]
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            group: self.group().to_owned(),
            version: self.version().to_owned(),
            kind: self.kind().to_owned(),
            namespace: self.namespace().map(str::to_owned),
            name: self.name().to_owned(),
        }
    }

    /// The whole object as a JSON mapping.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.value
    }

    /// Mutable access to the whole object. Callers keep `apiVersion`, `kind` and
    /// `metadata.name` valid.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.value
    }

    /// The object as a JSON value.
    #[must_use]
    pub fn into_value(self) -> Value {
        Value::Object(self.value)
    }

    /// A JSON value view, cloned.
    #[must_use]
    pub fn to_value(&self) -> Value {
        Value::Object(self.value.clone())
    }
}

impl TryFrom<Value> for Object {
    type Error = ObjectError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_value(value)
    }
}

impl From<Object> for Value {
    fn from(object: Object) -> Self {
        object.into_value()
    }
}

fn require_string(
    map: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<(), ObjectError> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        None | Some(Value::Null) => Err(ObjectError::Missing { field }),
        Some(Value::String(_)) => Err(ObjectError::Missing { field }),
        Some(other) => Err(ObjectError::WrongType {
            field,
            expected: "a string",
            found: type_name(other),
        }),
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
#[must_use]
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The identity of a Kubernetes object: group, kind, namespace and name. The version travels with
/// it (to address the API) but is not part of the identity: `apps/v1` and `apps/v1beta1` of the
/// same Deployment are one object, as the API server sees it.
#[derive(Debug, Clone, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectRef {
    /// API group, empty for the core group.
    pub group: String,
    /// API version within the group.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped objects and for objects that take the default one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// A string that is not an inventory identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid inventory id `{id}`: expected `<namespace>_<name>_<group>_<kind>`")]
pub struct InventoryIdError {
    /// The string that was given.
    pub id: String,
}

impl ObjectRef {
    /// `group/version`, or `version` for the core group.
    #[must_use]
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Flux's inventory form, `<namespace>_<name>_<group>_<kind>` (`prod_web_apps_Deployment`,
    /// `_admin_rbac.authorization.k8s.io_ClusterRole`), which sorts and stores without the
    /// version.
    #[must_use]
    pub fn inventory_id(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.namespace.as_deref().unwrap_or_default(),
            self.name,
            self.group,
            self.kind
        )
    }

    /// Parses Flux's inventory form back; `version` comes from the inventory entry beside it.
    ///
    /// # Errors
    /// When the string does not have four `_`-separated parts with a name and kind. Names may
    /// not contain `_` in Kubernetes, so the split is unambiguous.
    pub fn from_inventory_id(id: &str, version: &str) -> Result<Self, InventoryIdError> {
        let err = || InventoryIdError { id: id.to_owned() };
        let mut parts = id.splitn(4, '_');
        let (Some(namespace), Some(name), Some(group), Some(kind)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        if name.is_empty() || kind.is_empty() || kind.contains('_') {
            return Err(err());
        }
        Ok(Self {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_owned()),
            name: name.to_owned(),
        })
    }

    fn identity(&self) -> (&str, &str, Option<&str>, &str) {
        (
            &self.group,
            &self.kind,
            self.namespace.as_deref(),
            &self.name,
        )
    }
}

impl PartialEq for ObjectRef {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Hash for ObjectRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl PartialOrd for ObjectRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ObjectRef {
    fn cmp(&self, other: &Self) -> Ordering {
        self.identity().cmp(&other.identity())
    }
}

/// `apps/Deployment/prod/web`: group (omitted for the core group), kind, namespace (omitted when
/// there is none) and name. Every message that names an object uses this form.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.group.is_empty() {
            write!(f, "{}/", self.group)?;
        }
        write!(f, "{}/", self.kind)?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object::from_value(v).unwrap()
    }

    #[test]
    fn identity_displays_group_kind_namespace_name() {
        let d = obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod"}}));
        assert_eq!(d.object_ref().to_string(), "apps/Deployment/prod/web");
        let s = obj(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}));
        assert_eq!(s.object_ref().to_string(), "Service/web");
        let c = obj(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "admin"}}),
        );
        assert_eq!(
            c.object_ref().to_string(),
            "rbac.authorization.k8s.io/ClusterRole/admin"
        );
    }

    #[test]
    fn inventory_ids_round_trip() {
        let d = obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod"}}));
        let r = d.object_ref();
        assert_eq!(r.inventory_id(), "prod_web_apps_Deployment");
        let back = ObjectRef::from_inventory_id(&r.inventory_id(), "v1").unwrap();
        assert_eq!(back, r);
        assert_eq!(back.api_version(), "apps/v1");
        let ns = ObjectRef::from_inventory_id("_prod__Namespace", "v1").unwrap();
        assert_eq!(ns.to_string(), "Namespace/prod");
        assert_eq!(ns.api_version(), "v1");
        assert!(ObjectRef::from_inventory_id("a_b", "v1").is_err());
        assert!(ObjectRef::from_inventory_id("ns__apps_Deployment", "v1").is_err());
    }

    #[test]
    fn version_is_not_part_of_identity() {
        let a = ObjectRef::from_inventory_id("p_w_apps_Deployment", "v1").unwrap();
        let b = ObjectRef::from_inventory_id("p_w_apps_Deployment", "v1beta1").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn invalid_objects_name_the_field() {
        let cases = [
            (
                json!([1]),
                "expected a mapping (a Kubernetes object), found a sequence",
            ),
            (
                json!({"kind": "X", "metadata": {"name": "a"}}),
                "missing required field `apiVersion`",
            ),
            (
                json!({"apiVersion": "v1", "kind": 3, "metadata": {"name": "a"}}),
                "field `kind`: expected a string, found a number",
            ),
            (
                json!({"apiVersion": "v1", "kind": "X"}),
                "missing required field `metadata`",
            ),
            (
                json!({"apiVersion": "v1", "kind": "X", "metadata": {}}),
                "missing required field `metadata.name`",
            ),
            (
                json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "namespace": 1}}),
                "field `metadata.namespace`: expected a string, found a number",
            ),
        ];
        for (value, message) in cases {
            assert_eq!(Object::from_value(value).unwrap_err().to_string(), message);
        }
    }
}
