//! The four patch types: JSON merge patch (RFC 7386), strategic merge patch (approximated: keyed lists for a
//! fixed table of fields), JSON patch (RFC 6902, with the API server's rule for `test` of a missing value),
//! and the merge step of server-side apply.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The patch type, from the request's `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/json-patch+json`.
    Json,
    /// `application/apply-patch+yaml`: server-side apply.
    Apply,
}

impl PatchType {
    pub(crate) fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        match media {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/json-patch+json" => Ok(Self::Json),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(Self::Apply),
            _ => Err(ApiError::unsupported_media_type(content_type)),
        }
    }
}

/// The merge key of a list field in strategic merge patch and server-side apply, for the fields the
/// Kubernetes API marks as keyed lists (`patchMergeKey` / `x-kubernetes-list-map-keys`). Lists not named
/// here are atomic: a patch replaces them whole.
pub(crate) fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "conditions" => Some("type"),
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => {
            Some("name")
        }
        "volumeMounts" => Some("mountPath"),
        "ownerReferences" => Some("uid"),
        "ports" if items.iter().any(|item| item.get("containerPort").is_some()) => Some("containerPort"),
        "ports" => Some("port"),
        _ => None,
    }
    .filter(|key| items.iter().all(|item| item.get(key).is_some()))
}

/// List fields whose primitive items merge as a set in strategic merge patch.
fn is_primitive_set(field: &str) -> bool {
    field == "finalizers"
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Strategic merge patch, approximated: objects merge as in a merge patch, `null` removes, lists named in
/// [`merge_key`] merge item by item on their key (an item with `"$patch": "delete"` removes its match),
/// `finalizers` merge as a set, every other list is replaced, and other `$`-directives are ignored.
pub(crate) fn strategic_merge(target: &mut Value, patch: &Value) {
    keyed_merge(target, patch, true);
}

/// The merge step of server-side apply: the applied configuration merged into the live object with the
/// same keyed lists; other lists are atomic.
pub(crate) fn apply_merge(target: &mut Value, applied: &Value) {
    keyed_merge(target, applied, false);
}

fn keyed_merge(target: &mut Value, patch: &Value, strategic: bool) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        if value.is_null() {
            target.remove(key);
            continue;
        }
        match (target.get_mut(key), value) {
            (Some(Value::Array(live)), Value::Array(items)) => {
                if let Some(merge_key) = merge_key(key, items).filter(|k| live.iter().all(|i| i.get(k).is_some())) {
                    merge_keyed_list(live, items, merge_key, strategic);
                } else if strategic && is_primitive_set(key) {
                    for item in items {
                        if !live.contains(item) {
                            live.push(item.clone());
                        }
                    }
                } else {
                    *live = strip_directives(items);
                }
            }
            (Some(live @ Value::Object(_)), Value::Object(_)) => keyed_merge(live, value, strategic),
            _ => {
                let mut fresh = Value::Null;
                keyed_merge(&mut fresh, value, strategic);
                if let Value::Array(items) = value {
                    fresh = Value::Array(strip_directives(items));
                }
                target.insert(key.clone(), fresh);
            }
        }
    }
}

fn strip_directives(items: &[Value]) -> Vec<Value> {
    items.iter().filter(|item| item.get("$patch").is_none()).cloned().collect()
}

fn merge_keyed_list(live: &mut Vec<Value>, items: &[Value], key: &str, strategic: bool) {
    for item in items {
        let position = live.iter().position(|existing| existing.get(key) == item.get(key));
        let delete = strategic && item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(index), true) => {
                live.remove(index);
            }
            (None, true) => {}
            (Some(index), false) => keyed_merge(&mut live[index], item, strategic),
            (None, false) => {
                let mut fresh = Value::Null;
                keyed_merge(&mut fresh, item, strategic);
                live.push(fresh);
            }
        }
    }
}

/// RFC 6902 JSON patch, all or nothing. As in the API server, a `test` whose value is `null` passes when the
/// tested member is absent from an existing parent (kube's finalizer helper relies on this).
pub(crate) fn json_patch(target: &mut Value, operations: &json_patch::Patch) -> Result<(), String> {
    let mut working = target.clone();
    for (index, operation) in operations.0.iter().enumerate() {
        if let json_patch::PatchOperation::Test(test) = operation
            && test.value.is_null()
            && working.pointer(test.path.as_str()).is_none()
        {
            let parent_exists = test.path.parent().is_some_and(|parent| working.pointer(parent.as_str()).is_some());
            if parent_exists {
                continue;
            }
        }
        json_patch::patch(&mut working, std::slice::from_ref(operation))
            .map_err(|error| format!("operation {index} ({}): {error}", operation_name(operation)))?;
    }
    *target = working;
    Ok(())
}

fn operation_name(operation: &json_patch::PatchOperation) -> &'static str {
    match operation {
        json_patch::PatchOperation::Add(_) => "add",
        json_patch::PatchOperation::Remove(_) => "remove",
        json_patch::PatchOperation::Replace(_) => "replace",
        json_patch::PatchOperation::Move(_) => "move",
        json_patch::PatchOperation::Copy(_) => "copy",
        json_patch::PatchOperation::Test(_) => "test",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_replaces_lists_and_removes_nulls() {
        let mut live = json!({"a": {"b": 1, "c": 2}, "list": [1, 2]});
        merge(&mut live, &json!({"a": {"c": null, "d": 3}, "list": [3]}));
        assert_eq!(live, json!({"a": {"b": 1, "d": 3}, "list": [3]}));
    }

    #[test]
    fn strategic_merge_merges_conditions_by_type_and_unions_finalizers() {
        let mut live = json!({
            "metadata": {"finalizers": ["a"]},
            "status": {"conditions": [
                {"type": "Ready", "status": "False", "reason": "Syncing"},
                {"type": "Stalled", "status": "False"}
            ], "hosts": ["x"]}
        });
        strategic_merge(
            &mut live,
            &json!({
                "metadata": {"finalizers": ["b", "a"]},
                "status": {"conditions": [
                    {"type": "Ready", "status": "True", "reason": null},
                    {"type": "Stalled", "$patch": "delete"},
                    {"type": "Synced", "status": "True"}
                ], "hosts": ["y"], "$setElementOrder/conditions": [{"type": "Ready"}]}
            }),
        );
        assert_eq!(
            live,
            json!({
                "metadata": {"finalizers": ["a", "b"]},
                "status": {"conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "Synced", "status": "True"}
                ], "hosts": ["y"]}
            })
        );
    }

    #[test]
    fn json_patch_is_atomic_and_tests_values() {
        let mut live = json!({"metadata": {"finalizers": ["a"]}});
        let failing: json_patch::Patch = serde_json::from_value(json!([
            {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
            {"op": "test", "path": "/metadata/finalizers/0", "value": "other"}
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let error = json_patch(&mut live, &failing).err().unwrap_or_default();
        assert!(error.contains("operation 1 (test)"), "{error}");
        assert_eq!(live, json!({"metadata": {"finalizers": ["a"]}}));
    }

    #[test]
    fn json_patch_test_of_null_passes_on_a_missing_member_as_the_api_server_does() {
        let mut live = json!({"metadata": {"name": "x"}});
        let add_first_finalizer: json_patch::Patch = serde_json::from_value(json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json_patch(&mut live, &add_first_finalizer), Ok(()));
        assert_eq!(live, json!({"metadata": {"name": "x", "finalizers": ["f"]}}));
        let missing_parent: json_patch::Patch =
            serde_json::from_value(json!([{"op": "test", "path": "/spec/x", "value": null}]))
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(json_patch(&mut live, &missing_parent).is_err());
    }
}
