use std::fmt;

use serde::Serialize;

/// The kinds of unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[non_exhaustive]
pub enum UnitKind {
    /// A Flux or gitops.rs `Kustomization`.
    Kustomization,
    /// A Flux or gitops.rs `HelmRelease`.
    HelmRelease,
    /// An Argo CD `Application`.
    Application,
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Kustomization => "Kustomization",
            Self::HelmRelease => "HelmRelease",
            Self::Application => "Application",
        })
    }
}

/// A unit's identity: kind, namespace and name. Displays as `Kustomization/flux-system/apps`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct UnitId {
    /// Kind.
    pub kind: UnitKind,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl UnitId {
    /// A unit identity.
    #[must_use]
    pub fn new(kind: UnitKind, namespace: &str, name: &str) -> Self {
        Self {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// A source's identity: kind (`GitRepository`, `HelmRepository`, …), namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceId {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}
