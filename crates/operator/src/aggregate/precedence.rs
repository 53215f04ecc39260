//! The one rule of the aggregate API's precedence: registries by `spec.priority`, highest first, ties by
//! served name (in the cluster scope `<namespace>.<name>`, so by namespace, then name). The first registry in
//! that order that has a server name serves every version of it in `/v0.1`
//! ([`thv_api::Snapshot::new`]).

use std::cmp::Reverse;

/// Which MCPRegistries the aggregate API serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Those of one namespace, each served as its name.
    Namespace(String),
    /// Those of every namespace, each served as `<namespace>.<name>` (names are unique per namespace only).
    Cluster,
}

impl Scope {
    /// The name the registry `name` of `namespace` is served as (`/registry/{served}/v0.1`). A namespace
    /// has no dot, so `<namespace>.<name>` is never ambiguous.
    pub fn served_name(&self, namespace: &str, name: &str) -> String {
        match self {
            Self::Namespace(_) => name.to_owned(),
            Self::Cluster => format!("{namespace}.{name}"),
        }
    }

    /// The namespace to watch; `None` for all of them.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Self::Namespace(namespace) => Some(namespace),
            Self::Cluster => None,
        }
    }
}

/// Sorts `registries` (served name, priority) into precedence order: the highest priority first, ties by
/// served name.
pub fn sort_by_precedence<T>(registries: &mut [T], key: impl Fn(&T) -> (&str, i32)) {
    registries.sort_by(|a, b| {
        let ((name_a, priority_a), (name_b, priority_b)) = (key(a), key(b));
        (Reverse(priority_a), name_a).cmp(&(Reverse(priority_b), name_b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_priority_comes_first_and_ties_go_by_name() {
        let mut registries = vec![("b", 0), ("a", 0), ("low", -5), ("top", 10), ("c", 0)];
        sort_by_precedence(&mut registries, |(name, priority)| (name, *priority));
        assert_eq!(registries, [("top", 10), ("a", 0), ("b", 0), ("c", 0), ("low", -5)]);
    }

    #[test]
    fn the_cluster_scope_names_registries_by_namespace() {
        assert_eq!(Scope::Cluster.served_name("team-a", "platform"), "team-a.platform");
        assert_eq!(Scope::Namespace("team-a".into()).served_name("team-a", "platform"), "platform");
        assert_eq!(Scope::Cluster.namespace(), None);
    }
}
