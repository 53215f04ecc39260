//! Field ownership for server-side apply, approximated: each manager's fields are the leaf paths of what it
//! last applied (or changed with an update), kept in `metadata.managedFields` in the `FieldsV1` format.
//! Re-applying without a field removes it when no other manager owns it; a non-forced apply that changes a
//! field another manager owns is a conflict; `force` takes the field over.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::patch::merge_key;

/// One owned path: `f:<field>` and `k:<key json>` segments, ending with `.` for a keyed list item itself.
pub(crate) type FieldPath = Vec<String>;
/// The paths one manager owns.
pub(crate) type FieldSet = BTreeSet<FieldPath>;

/// Whether a manager's entry came from server-side apply or from another write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub subresource: Option<String>,
    pub api_version: String,
    pub time: String,
    pub fields: FieldSet,
}

/// Metadata the server owns: never part of a manager's fields.
const IDENTITY_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "generateName",
    "selfLink",
];

/// The leaf paths of an object (its whole content when `prefix` is empty).
pub(crate) fn field_set(object: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    if let Value::Object(map) = object {
        for (key, value) in map {
            if key == "apiVersion" || key == "kind" {
                continue;
            }
            if key == "metadata" {
                if let Value::Object(metadata) = value {
                    for (field, child) in metadata {
                        if !IDENTITY_METADATA.contains(&field.as_str()) {
                            collect(&mut set, vec!["f:metadata".to_string(), format!("f:{field}")], field, child);
                        }
                    }
                }
                continue;
            }
            collect(&mut set, vec![format!("f:{key}")], key, value);
        }
    }
    set
}

fn collect(set: &mut FieldSet, path: FieldPath, field: &str, value: &Value) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let mut child_path = path.clone();
                child_path.push(format!("f:{key}"));
                collect(set, child_path, key, child);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            if let Some(key) = merge_key(field, items) {
                for item in items {
                    let mut item_path = path.clone();
                    item_path.push(item_key(key, item));
                    let mut marker = item_path.clone();
                    marker.push(".".to_string());
                    set.insert(marker);
                    if let Value::Object(map) = item {
                        for (child_key, child) in map {
                            let mut child_path = item_path.clone();
                            child_path.push(format!("f:{child_key}"));
                            collect(set, child_path, child_key, child);
                        }
                    }
                }
            } else {
                set.insert(path);
            }
        }
        _ => {
            set.insert(path);
        }
    }
}

fn item_key(key: &str, item: &Value) -> String {
    let mut selector = Map::new();
    selector.insert(key.to_string(), item.get(key).cloned().unwrap_or(Value::Null));
    format!("k:{}", Value::Object(selector))
}

/// The value at an owned path, if the object has it.
pub(crate) fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = object;
    for segment in path {
        if segment == "." {
            return Some(current);
        }
        current = step(current, segment)?;
    }
    Some(current)
}

fn step<'a>(current: &'a Value, segment: &str) -> Option<&'a Value> {
    if let Some(field) = segment.strip_prefix("f:") {
        current.get(field)
    } else if let Some(selector) = segment.strip_prefix("k:") {
        let selector: Map<String, Value> = serde_json::from_str(selector).ok()?;
        current.as_array()?.iter().find(|item| selector.iter().all(|(key, value)| item.get(key) == Some(value)))
    } else {
        None
    }
}

/// Removes the field or list item at an owned path; missing paths are ignored. A map the removal leaves
/// empty goes too, as the API server drops a map whose only fields the manager owned (`f:configMap: {f:name}`),
/// rather than leaving `configMap: {}`.
pub(crate) fn remove_at(object: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() || rest == ["."] {
        remove_leaf(object, first);
        return;
    }
    let child = if let Some(field) = first.strip_prefix("f:") {
        object.get_mut(field)
    } else if let Some(selector) = first.strip_prefix("k:") {
        let Ok(selector) = serde_json::from_str::<Map<String, Value>>(selector) else {
            return;
        };
        object.as_array_mut().and_then(|items| {
            items.iter_mut().find(|item| selector.iter().all(|(key, value)| item.get(key) == Some(value)))
        })
    } else {
        None
    };
    let Some(child) = child else { return };
    remove_at(child, rest);
    let emptied = child.as_object().is_some_and(Map::is_empty);
    if emptied
        && let Some(field) = first.strip_prefix("f:")
        && let Some(map) = object.as_object_mut()
    {
        map.remove(field);
    }
}

fn remove_leaf(current: &mut Value, last: &str) {
    if let Some(field) = last.strip_prefix("f:") {
        if let Some(map) = current.as_object_mut() {
            map.remove(field);
        }
    } else if let Some(selector) = last.strip_prefix("k:")
        && let Ok(selector) = serde_json::from_str::<Map<String, Value>>(selector)
        && let Some(items) = current.as_array_mut()
    {
        items.retain(|item| !selector.iter().all(|(key, value)| item.get(key) == Some(value)));
    }
}

/// The printed form of a path in a conflict message: `.spec.replicas`, `.status.conditions[type="Ready"]`.
pub(crate) fn display(path: &[String]) -> String {
    let mut out = String::new();
    for segment in path {
        if let Some(field) = segment.strip_prefix("f:") {
            out.push('.');
            out.push_str(field);
        } else if let Some(selector) = segment.strip_prefix("k:") {
            let parsed: Map<String, Value> = serde_json::from_str(selector).unwrap_or_default();
            let inner: Vec<String> = parsed.iter().map(|(key, value)| format!("{key}={value}")).collect();
            out.push_str(&format!("[{}]", inner.join(",")));
        }
    }
    out
}

/// Reads the entries from an object's `metadata.managedFields`.
pub(crate) fn read_entries(object: &Value) -> Vec<Entry> {
    let Some(entries) = object.pointer("/metadata/managedFields").and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let mut fields = FieldSet::new();
            if let Some(tree) = entry.get("fieldsV1") {
                tree_paths(tree, &mut Vec::new(), &mut fields);
            }
            Some(Entry {
                manager: entry.get("manager")?.as_str()?.to_string(),
                operation: match entry.get("operation").and_then(Value::as_str) {
                    Some("Apply") => Operation::Apply,
                    _ => Operation::Update,
                },
                subresource: entry.get("subresource").and_then(Value::as_str).map(str::to_string),
                api_version: entry.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string(),
                time: entry.get("time").and_then(Value::as_str).unwrap_or_default().to_string(),
                fields,
            })
        })
        .collect()
}

fn tree_paths(tree: &Value, path: &mut FieldPath, out: &mut FieldSet) {
    let Value::Object(map) = tree else {
        return;
    };
    if map.is_empty() && !path.is_empty() {
        out.insert(path.clone());
        return;
    }
    for (key, child) in map {
        path.push(key.clone());
        if key == "." {
            out.insert(path.clone());
        } else {
            tree_paths(child, path, out);
        }
        path.pop();
    }
}

fn to_tree(fields: &FieldSet) -> Value {
    let mut root = Value::Object(Map::new());
    for path in fields {
        let mut node = &mut root;
        for segment in path {
            let Value::Object(map) = node else {
                break;
            };
            node = map.entry(segment.clone()).or_insert_with(|| Value::Object(Map::new()));
        }
    }
    root
}

/// Writes the entries back into `metadata.managedFields` (dropping managers left with no fields).
pub(crate) fn write_entries(object: &mut Value, entries: &[Entry]) {
    let rendered: Vec<Value> = entries
        .iter()
        .filter(|entry| !entry.fields.is_empty())
        .map(|entry| {
            let mut rendered = json!({
                "manager": entry.manager,
                "operation": entry.operation.as_str(),
                "apiVersion": entry.api_version,
                "time": entry.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_tree(&entry.fields),
            });
            if let Some(subresource) = &entry.subresource {
                rendered["subresource"] = Value::String(subresource.clone());
            }
            rendered
        })
        .collect();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if rendered.is_empty() {
            metadata.remove("managedFields");
        } else {
            metadata.insert("managedFields".to_string(), Value::Array(rendered));
        }
    }
}

/// Gives `fields` to one manager's entry (creating it), and takes them away from every other entry.
pub(crate) fn take_ownership(entries: &mut Vec<Entry>, owner: Entry, replace: bool) {
    for entry in entries.iter_mut() {
        if !same_entry(entry, &owner) {
            entry.fields.retain(|path| !owner.fields.contains(path));
        }
    }
    if let Some(entry) = entries.iter_mut().find(|entry| same_entry(entry, &owner)) {
        if replace {
            entry.fields = owner.fields;
        } else {
            entry.fields.extend(owner.fields);
        }
        entry.time = owner.time;
        entry.api_version = owner.api_version;
    } else {
        entries.push(owner);
    }
    entries.retain(|entry| !entry.fields.is_empty());
}

/// Whether two entries are the same manager's record (same manager, operation and subresource).
pub(crate) fn same_entry(a: &Entry, b: &Entry) -> bool {
    a.manager == b.manager && a.operation == b.operation && a.subresource == b.subresource
}

/// Whether two lists of entries record the same owners of the same fields (times aside).
pub(crate) fn same_ownership(a: &[Entry], b: &[Entry]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_entry(x, y) && x.fields == y.fields)
}

/// The paths whose value differs between two versions of an object (present in `new`).
pub(crate) fn changed_fields(old: Option<&Value>, new: &Value) -> FieldSet {
    field_set(new).into_iter().filter(|path| old.and_then(|old| value_at(old, path)) != value_at(new, path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_sets_follow_keyed_lists_and_skip_identity_metadata() {
        let object = json!({
            "apiVersion": "v1", "kind": "X",
            "metadata": {"name": "a", "labels": {"app": "x"}, "resourceVersion": "3"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "hosts": ["a", "b"]}
        });
        let paths: Vec<String> = field_set(&object).iter().map(|p| p.join("/")).collect();
        assert_eq!(
            paths,
            vec![
                "f:metadata/f:labels/f:app",
                "f:status/f:conditions/k:{\"type\":\"Ready\"}/.",
                "f:status/f:conditions/k:{\"type\":\"Ready\"}/f:status",
                "f:status/f:conditions/k:{\"type\":\"Ready\"}/f:type",
                "f:status/f:hosts",
            ]
        );
    }

    #[test]
    fn entries_round_trip_through_managed_fields() {
        let mut object = json!({"metadata": {"name": "a"}, "spec": {"x": 1, "list": [{"name": "n", "v": 2}]}});
        let entry = Entry {
            manager: "m".to_string(),
            operation: Operation::Apply,
            subresource: None,
            api_version: "v1".to_string(),
            time: "2024-01-01T00:00:00Z".to_string(),
            fields: field_set(&object),
        };
        write_entries(&mut object, std::slice::from_ref(&entry));
        let read = read_entries(&object);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].fields, entry.fields);
        assert_eq!(read[0].manager, "m");
    }

    #[test]
    fn remove_at_drops_fields_and_keyed_items() {
        let mut object = json!({"status": {"a": 1, "conditions": [{"type": "A"}, {"type": "B"}]}});
        remove_at(&mut object, &["f:status".to_string(), "f:a".to_string()]);
        remove_at(
            &mut object,
            &["f:status".to_string(), "f:conditions".to_string(), "k:{\"type\":\"A\"}".to_string(), ".".to_string()],
        );
        assert_eq!(object, json!({"status": {"conditions": [{"type": "B"}]}}));
        // A map left empty goes with its last field.
        let mut object = json!({"status": {"storageRef": {"type": "postgres", "configMap": {"name": "x"}}}});
        let path = ["f:status", "f:storageRef", "f:configMap", "f:name"].map(String::from);
        remove_at(&mut object, &path);
        assert_eq!(object, json!({"status": {"storageRef": {"type": "postgres"}}}));
    }
}
