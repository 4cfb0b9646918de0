//! What an apply did (or, in a dry run, would do) to each object.

use crate::ObjectRef;

/// What happened to one object, in the past tense as it is printed (`web created`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// It did not exist and was created.
    Created,
    /// It existed and the apply changed it.
    Configured,
    /// It existed and the apply changed nothing.
    Unchanged,
    /// It was deleted (pruned, or deleted to be recreated).
    Deleted,
    /// It was left alone on purpose (prune disabled, a namespace not ours, already gone).
    Skipped,
}

impl Action {
    /// The past-tense word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Configured => "configured",
            Self::Unchanged => "unchanged",
            Self::Deleted => "deleted",
            Self::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object's outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// The object.
    pub object: ObjectRef,
    /// What happened.
    pub action: Action,
    /// Why, when it is not obvious (`prune disabled by annotation`, `recreated: immutable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Change {
    /// A change without a reason.
    #[must_use]
    pub fn new(object: ObjectRef, action: Action) -> Self {
        Self {
            object,
            action,
            reason: None,
        }
    }

    /// A change with a reason.
    #[must_use]
    pub fn because(object: ObjectRef, action: Action, reason: impl Into<String>) -> Self {
        Self {
            object,
            action,
            reason: Some(reason.into()),
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.object, self.action)?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        Ok(())
    }
}

/// The outcomes of an apply, in the order they happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeSet {
    /// One entry per object touched or considered.
    pub changes: Vec<Change>,
}

impl ChangeSet {
    /// How many entries have `action`.
    #[must_use]
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// `2 created, 1 configured, 5 unchanged` (actions with a zero count left out; `no changes`
    /// when empty).
    #[must_use]
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            Action::Created,
            Action::Configured,
            Action::Unchanged,
            Action::Deleted,
            Action::Skipped,
        ]
        .into_iter()
        .filter_map(|a| {
            let n = self.count(a);
            (n > 0).then(|| format!("{n} {a}"))
        })
        .collect();
        if parts.is_empty() {
            "no changes".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// Appends another change set.
    pub fn extend(&mut self, other: ChangeSet) {
        self.changes.extend(other.changes);
    }

    /// The action recorded for an object, if any (the last one).
    #[must_use]
    pub fn action_of(&self, object: &ObjectRef) -> Option<Action> {
        self.changes
            .iter()
            .rev()
            .find(|c| &c.object == object)
            .map(|c| c.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_in_a_fixed_order() {
        let r = |name: &str| ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: None,
            name: name.into(),
        };
        let mut set = ChangeSet::default();
        assert_eq!(set.summary(), "no changes");
        set.changes.push(Change::new(r("a"), Action::Unchanged));
        set.changes.push(Change::new(r("b"), Action::Created));
        set.changes
            .push(Change::because(r("c"), Action::Skipped, "prune disabled"));
        assert_eq!(set.summary(), "1 created, 1 unchanged, 1 skipped");
        assert_eq!(
            set.changes[2].to_string(),
            "ConfigMap/c skipped (prune disabled)"
        );
        assert_eq!(set.action_of(&r("b")), Some(Action::Created));
    }
}
