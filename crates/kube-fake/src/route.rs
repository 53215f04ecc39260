//! Turning an HTTP method and path into what the API server calls request info: the verb, the kind, the
//! namespace, the name and the subresource.

use std::collections::HashMap;

use http::Method;

use crate::error::ApiError;
use crate::kinds::{Kinds, ResourceKind};

/// A Kubernetes API verb, as RBAC names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// GET of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET of a collection with `watch=true`.
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH (any patch type, server-side apply included).
    Patch,
    /// DELETE of one object.
    Delete,
    /// DELETE of a collection.
    DeleteCollection,
}

impl Verb {
    /// The verb as written in an RBAC rule: `get`, `list`, `watch`, `create`, `update`, `patch`,
    /// `delete`, `deletecollection`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one resource request is about.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub kind: ResourceKind,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub verb: Verb,
}

/// Where a request goes.
#[derive(Debug)]
pub(crate) enum Route {
    /// A resource request.
    Resource(Target),
    /// A discovery document: `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`, `/version`.
    Discovery(Discovery),
}

#[derive(Debug)]
pub(crate) enum Discovery {
    Version,
    CoreVersions,
    Groups,
    Resources { group: String, version: String },
}

/// Parses the query string into a map (the last value wins, as the API server's decoder does).
pub(crate) fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

/// Resolves a request path against the served kinds.
pub(crate) fn route(
    kinds: &Kinds,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Ok(Route::Discovery(Discovery::Version)),
        ["api"] => return Ok(Route::Discovery(Discovery::CoreVersions)),
        ["apis"] => return Ok(Route::Discovery(Discovery::Groups)),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::unknown_path(path)),
    };
    if rest.is_empty() {
        return Ok(Route::Discovery(Discovery::Resources { group: group.to_string(), version: version.to_string() }));
    }
    let namespaced_kind = |plural: &str| kinds.by_path(group, version, plural).filter(|kind| kind.namespaced).cloned();
    let (kind, namespace, tail) = match rest {
        ["namespaces", namespace, plural, tail @ ..] if namespaced_kind(plural).is_some() => {
            (namespaced_kind(plural).ok_or_else(|| ApiError::unknown_path(path))?, Some((*namespace).to_string()), tail)
        }
        [plural, tail @ ..] => {
            (kinds.by_path(group, version, plural).cloned().ok_or_else(|| ApiError::unknown_path(path))?, None, tail)
        }
        [] => return Err(ApiError::unknown_path(path)),
    };
    let (name, subresource) = match tail {
        [] => (None, None),
        [name] => (Some((*name).to_string()), None),
        [name, subresource] => (Some((*name).to_string()), Some((*subresource).to_string())),
        _ => return Err(ApiError::unknown_path(path)),
    };
    if let Some(subresource) = &subresource
        && !(subresource == "status" && kind.status_subresource)
    {
        return Err(ApiError::unknown_path(path));
    }
    if kind.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::unknown_path(path));
    }
    let watch = query.get("watch").is_some_and(|value| value == "true" || value == "1");
    let verb = match (method, name.is_some()) {
        (&Method::GET, true) => Verb::Get,
        (&Method::GET, false) if watch => Verb::Watch,
        (&Method::GET, false) => Verb::List,
        (&Method::POST, false) => Verb::Create,
        (&Method::PUT, true) => Verb::Update,
        (&Method::PATCH, true) => Verb::Patch,
        (&Method::DELETE, true) => Verb::Delete,
        (&Method::DELETE, false) => Verb::DeleteCollection,
        _ => {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({method} {path})"
            )));
        }
    };
    if kind.namespaced && namespace.is_none() && !matches!(verb, Verb::List | Verb::Watch) {
        return Err(ApiError::method_not_allowed(format!(
            "{} are namespaced: {verb} needs /namespaces/{{namespace}}/ in the path ({path})",
            kind.plural
        )));
    }
    Ok(Route::Resource(Target { kind, namespace, name, subresource, verb }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(method: Method, path: &str, query: &str) -> Target {
        let kinds = Kinds::with_builtins();
        match route(&kinds, &method, path, &parse_query(Some(query))) {
            Ok(Route::Resource(target)) => target,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_core_and_grouped_paths() {
        let get = resource(Method::GET, "/api/v1/namespaces/ns1/configmaps/a", "");
        assert_eq!(
            (get.verb, get.kind.plural.as_str(), get.namespace.as_deref(), get.name.as_deref()),
            (Verb::Get, "configmaps", Some("ns1"), Some("a"))
        );
        let status = resource(Method::PATCH, "/apis/apps/v1/namespaces/ns1/deployments/d/status", "");
        assert_eq!(
            (status.verb, status.kind.group.as_str(), status.subresource.as_deref()),
            (Verb::Patch, "apps", Some("status"))
        );
        let watch = resource(Method::GET, "/api/v1/configmaps", "watch=true");
        assert_eq!((watch.verb, watch.namespace), (Verb::Watch, None));
        let list = resource(Method::GET, "/api/v1/namespaces/ns1/secrets", "limit=5");
        assert_eq!(list.verb, Verb::List);
    }

    #[test]
    fn namespaces_are_cluster_scoped_with_a_status_subresource() {
        let ns = resource(Method::GET, "/api/v1/namespaces/ns1", "");
        assert_eq!((ns.kind.plural.as_str(), ns.name.as_deref()), ("namespaces", Some("ns1")));
        let status = resource(Method::PUT, "/api/v1/namespaces/ns1/status", "");
        assert_eq!(status.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn unknown_resources_and_subresources_are_404() {
        let kinds = Kinds::with_builtins();
        for path in [
            "/api/v1/namespaces/ns1/widgets",
            "/apis/example.com/v1/widgets",
            "/api/v1/namespaces/ns1/configmaps/a/status",
            "/api/v1/namespaces/ns1/configmaps/a/b/c",
            "/healthz",
        ] {
            let error = route(&kinds, &Method::GET, path, &HashMap::new()).err();
            assert_eq!(error.map(|e| e.code), Some(404), "{path}");
        }
    }

    #[test]
    fn namespaced_objects_need_a_namespace_except_to_list_and_watch() {
        let kinds = Kinds::with_builtins();
        let error = route(&kinds, &Method::POST, "/api/v1/configmaps", &HashMap::new()).err();
        assert_eq!(error.map(|e| e.code), Some(405));
    }
}
