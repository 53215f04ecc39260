//! The pure decisions about one associated MCPServer: which entry its labels name, which managed fields
//! another field manager set, and what a sync's entry does to it under `syncPolicy.onUpdate`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::managed::Desired;
use super::{
    CATEGORY_LABEL, ENTRY_DIGEST_ANNOTATION, FIELD_MANAGER, REGISTRY_NAME_LABEL, REGISTRY_NAMESPACE_LABEL,
    SERVER_NAME_LABEL, TIER_LABEL,
};
use crate::OnUpdate;

/// The entry an MCPServer's labels name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// `toolhive.stacklok.io/registry-name`.
    pub registry: String,
    /// `toolhive.stacklok.io/registry-namespace` (the MCPServer's namespace when absent).
    pub registry_namespace: String,
    /// `toolhive.stacklok.io/server-name`: a full or short server name.
    pub server: String,
}

impl Association {
    /// Reads the labels of an MCPServer in `namespace`. `Err` names the missing label.
    pub fn of(labels: &BTreeMap<String, String>, namespace: &str) -> Result<Self, &'static str> {
        let get = |key: &'static str| labels.get(key).filter(|v| !v.is_empty()).cloned().ok_or(key);
        Ok(Self {
            registry: get(REGISTRY_NAME_LABEL)?,
            registry_namespace: labels
                .get(REGISTRY_NAMESPACE_LABEL)
                .filter(|v| !v.is_empty())
                .cloned()
                .unwrap_or_else(|| namespace.to_owned()),
            server: get(SERVER_NAME_LABEL)?,
        })
    }

    /// The three association labels.
    pub fn labels(&self) -> [(String, String); 3] {
        [
            (REGISTRY_NAME_LABEL.to_owned(), self.registry.clone()),
            (REGISTRY_NAMESPACE_LABEL.to_owned(), self.registry_namespace.clone()),
            (SERVER_NAME_LABEL.to_owned(), self.server.clone()),
        ]
    }
}

/// One managed field of an MCPServer's spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ManagedField {
    /// `spec.image`.
    Image,
    /// `spec.transport`.
    Transport,
    /// `spec.mcpPort`.
    McpPort,
    /// `spec.args`.
    Args,
    /// The `value` of the `spec.env` item of this name.
    Env(String),
}

impl ManagedField {
    /// The field as `kubectl explain` would name it (`spec.env[FETCH_TIMEOUT]`).
    pub fn path(&self) -> String {
        match self {
            Self::Image => "spec.image".into(),
            Self::Transport => "spec.transport".into(),
            Self::McpPort => "spec.mcpPort".into(),
            Self::Args => "spec.args".into(),
            Self::Env(name) => format!("spec.env[{name}]"),
        }
    }

    /// The field's path in a `managedFields` entry's `fieldsV1`.
    fn fields_v1_path(&self) -> Vec<String> {
        let field = |name: &str| format!("f:{name}");
        match self {
            Self::Image => vec![field("spec"), field("image")],
            Self::Transport => vec![field("spec"), field("transport")],
            Self::McpPort => vec![field("spec"), field("mcpPort")],
            Self::Args => vec![field("spec"), field("args")],
            Self::Env(name) => {
                vec![field("spec"), field("env"), format!("k:{}", json!({"name": name})), field("value")]
            }
        }
    }

    /// The field's live value in `object`.
    fn live<'a>(&self, object: &'a Value) -> Option<&'a Value> {
        let spec = object.get("spec")?;
        match self {
            Self::Image => spec.get("image"),
            Self::Transport => spec.get("transport"),
            Self::McpPort => spec.get("mcpPort"),
            Self::Args => spec.get("args"),
            Self::Env(name) => spec
                .get("env")?
                .as_array()?
                .iter()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?
                .get("value"),
        }
    }
}

/// A managed field another field manager set to another value: left at its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The field.
    pub field: ManagedField,
    /// The manager that set it (`kubectl`, `kubectl-client-side-apply`, …).
    pub manager: String,
}

/// The managed fields of `desired` that another field manager owns in `live` with another value. The
/// operator leaves them out of its apply, so a person's own value is never forced over (and the apply does
/// not conflict); when the value is the same, the field is shared.
pub fn kept_fields(live: &Value, desired: &Desired) -> Vec<Kept> {
    let wanted = json!({"spec": desired.spec_json(&[])});
    let mut fields = vec![ManagedField::Image, ManagedField::Transport, ManagedField::McpPort, ManagedField::Args];
    fields.extend(desired.spec.env.iter().map(|(name, _)| ManagedField::Env(name.clone())));
    let entries = live.pointer("/metadata/managedFields").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut kept = Vec::new();
    for field in fields {
        let wanted_value = field.live(&wanted);
        let live_value = field.live(live);
        if live_value.is_none() || live_value == wanted_value {
            continue;
        }
        let owner = entries.iter().find(|entry| {
            let manager = entry.get("manager").and_then(Value::as_str).unwrap_or_default();
            let main_resource = entry.get("subresource").and_then(Value::as_str).is_none_or(str::is_empty);
            manager != FIELD_MANAGER && main_resource && owns(entry.get("fieldsV1"), &field.fields_v1_path())
        });
        if let Some(owner) = owner {
            let manager = owner.get("manager").and_then(Value::as_str).unwrap_or_default().to_owned();
            kept.push(Kept { field, manager });
        }
    }
    kept
}

fn owns(fields: Option<&Value>, path: &[String]) -> bool {
    let mut current = fields;
    for segment in path {
        current = current.and_then(|c| c.get(segment));
    }
    current.is_some()
}

/// The managed fields the operator's own field manager applied to `live`, at their live values: what a
/// labels-only apply must carry again, since server-side apply removes the fields a manager stops applying.
pub fn owned_spec(live: &Value) -> Value {
    let entries = live.pointer("/metadata/managedFields").and_then(Value::as_array).cloned().unwrap_or_default();
    let ours = entries.iter().find(|entry| {
        entry.get("manager").and_then(Value::as_str) == Some(FIELD_MANAGER)
            && entry.get("operation").and_then(Value::as_str) == Some("Apply")
            && entry.get("subresource").and_then(Value::as_str).is_none_or(str::is_empty)
    });
    let mut spec = serde_json::Map::new();
    let Some(fields) = ours.and_then(|entry| entry.pointer("/fieldsV1/f:spec")) else {
        return Value::Object(spec);
    };
    for (key, field) in [
        ("image", ManagedField::Image),
        ("transport", ManagedField::Transport),
        ("mcpPort", ManagedField::McpPort),
        ("args", ManagedField::Args),
    ] {
        if let (Some(_), Some(value)) = (fields.get(format!("f:{key}")), field.live(live)) {
            spec.insert(key.to_owned(), value.clone());
        }
    }
    let env: Vec<Value> = fields
        .get("f:env")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, item)| item.get("f:value").is_some())
        .filter_map(|(key, _)| {
            let selector: Value = serde_json::from_str(key.strip_prefix("k:")?).ok()?;
            let name = selector.get("name")?.as_str()?.to_owned();
            let value = ManagedField::Env(name.clone()).live(live)?.clone();
            Some(json!({"name": name, "value": value}))
        })
        .collect();
    if !env.is_empty() {
        spec.insert("env".into(), Value::Array(env));
    }
    Value::Object(spec)
}

/// What to do with one associated MCPServer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It is as the entry says.
    Nothing,
    /// Set the tier and category labels (and, with `record_digest`, the digest: a baseline).
    Label {
        /// Also record the entry digest.
        record_digest: bool,
    },
    /// Apply the managed fields, labels and digest (server-side apply, never forced).
    Apply,
    /// Delete the server and create it again from the entry.
    Recreate,
}

/// The step for a server whose object is `live`, given the registry's `onUpdate`:
///
/// - `create`: running servers are left alone; only their tier and category labels are kept current;
/// - `update`: when the entry's digest differs from the one recorded on the server (or none is), apply;
/// - `recreate`: when the digest differs, delete and create; a server with no digest yet (newly associated)
///   is labelled and its digest recorded, never deleted for being labelled.
pub fn step(on_update: OnUpdate, live: &Value, desired: &Desired) -> Step {
    let annotation = live.pointer("/metadata/annotations").and_then(|a| a.get(ENTRY_DIGEST_ANNOTATION));
    let recorded = annotation.and_then(Value::as_str);
    let labels = live.pointer("/metadata/labels");
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str).map(ToOwned::to_owned);
    let labels_current = label(TIER_LABEL) == desired.tier && label(CATEGORY_LABEL) == desired.category;
    let current = recorded == Some(desired.digest().as_str());
    match on_update {
        OnUpdate::Create if labels_current => Step::Nothing,
        OnUpdate::Create => Step::Label { record_digest: false },
        _ if current && labels_current => Step::Nothing,
        _ if current => Step::Label { record_digest: true },
        OnUpdate::Update => Step::Apply,
        OnUpdate::Recreate if recorded.is_none() => Step::Label { record_digest: true },
        OnUpdate::Recreate => Step::Recreate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcpserver::managed::ManagedSpec;

    fn desired(image: &str) -> Desired {
        Desired {
            server: "io.github.example/fetch".into(),
            server_label: "fetch".into(),
            spec: ManagedSpec {
                image: image.into(),
                transport: "stdio".into(),
                mcp_port: None,
                args: vec![],
                env: vec![("TIMEOUT".into(), "30".into()), ("LEVEL".into(), "info".into())],
            },
            tier: Some("Official".into()),
            category: None,
            required_env: vec![],
        }
    }

    fn live(labels: Value, digest: Option<String>) -> Value {
        let annotations = digest.map(|d| json!({ENTRY_DIGEST_ANNOTATION: d})).unwrap_or(json!({}));
        json!({"metadata": {"name": "fetch", "labels": labels, "annotations": annotations},
               "spec": {"image": "ghcr.io/example/fetch:1.0.0"}})
    }

    #[test]
    fn association_reads_three_labels() {
        let labels: BTreeMap<String, String> = [
            (REGISTRY_NAME_LABEL.to_owned(), "platform".to_owned()),
            (SERVER_NAME_LABEL.to_owned(), "fetch".to_owned()),
        ]
        .into();
        let association = Association::of(&labels, "team-a").expect("association");
        assert_eq!(association.registry_namespace, "team-a", "the server's own namespace by default");
        let mut without = labels.clone();
        without.remove(SERVER_NAME_LABEL);
        assert_eq!(Association::of(&without, "team-a"), Err(SERVER_NAME_LABEL));
    }

    #[test]
    fn each_on_update_mode_decides() {
        let old = desired("ghcr.io/example/fetch:1.0.0");
        let new = desired("ghcr.io/example/fetch:1.1.0");
        let labelled = json!({TIER_LABEL: "Official"});
        let current = live(labelled.clone(), Some(old.digest()));
        let fresh = live(json!({}), None);
        // Nothing changed: nothing to do, in every mode.
        for mode in [OnUpdate::Create, OnUpdate::Update, OnUpdate::Recreate] {
            assert_eq!(step(mode, &current, &old), Step::Nothing, "{mode:?}");
        }
        // The entry changed.
        assert_eq!(step(OnUpdate::Create, &current, &new), Step::Nothing, "create leaves running servers alone");
        assert_eq!(step(OnUpdate::Update, &current, &new), Step::Apply);
        assert_eq!(step(OnUpdate::Recreate, &current, &new), Step::Recreate);
        // A newly labelled server.
        assert_eq!(step(OnUpdate::Create, &fresh, &new), Step::Label { record_digest: false });
        assert_eq!(step(OnUpdate::Update, &fresh, &new), Step::Apply);
        assert_eq!(
            step(OnUpdate::Recreate, &fresh, &new),
            Step::Label { record_digest: true },
            "never deleted for a label"
        );
        // Labels removed by hand come back, without touching the spec.
        let unlabelled = live(json!({}), Some(old.digest()));
        assert_eq!(step(OnUpdate::Update, &unlabelled, &old), Step::Label { record_digest: true });
    }

    #[test]
    fn fields_another_manager_set_differently_are_kept() {
        let wanted = desired("ghcr.io/example/fetch:1.1.0");
        let object = json!({
            "metadata": {"managedFields": [
                {"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {
                    "f:image": {}, "f:env": {"k:{\"name\":\"TIMEOUT\"}": {".": {}, "f:name": {}, "f:value": {}},
                                             "k:{\"name\":\"LEVEL\"}": {".": {}, "f:name": {}, "f:value": {}}}}}},
                {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": {"f:spec": {"f:transport": {}}}},
                {"manager": "toolhive-operator", "operation": "Update", "subresource": "status",
                 "fieldsV1": {"f:spec": {"f:transport": {}}}}
            ]},
            "spec": {"image": "ghcr.io/mine/fetch:patched", "transport": "sse",
                     "env": [{"name": "TIMEOUT", "value": "5"}, {"name": "LEVEL", "value": "info"}]}
        });
        let kept = kept_fields(&object, &wanted);
        assert_eq!(
            kept,
            [
                Kept { field: ManagedField::Image, manager: "kubectl".into() },
                Kept { field: ManagedField::Env("TIMEOUT".into()), manager: "kubectl".into() },
            ],
            "LEVEL has the same value (shared); transport is the operator's own"
        );
        assert_eq!(kept[1].field.path(), "spec.env[TIMEOUT]");
    }

    #[test]
    fn the_fields_the_operator_applied_are_read_back_at_their_values() {
        let object = json!({
            "metadata": {"managedFields": [
                {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": {"f:spec": {
                    "f:image": {}, "f:env": {"k:{\"name\":\"TIMEOUT\"}": {".": {}, "f:name": {}, "f:value": {}},
                                             "k:{\"name\":\"TOKEN\"}": {".": {}, "f:name": {}}}}}},
                {"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:transport": {}}}}
            ]},
            "spec": {"image": "ghcr.io/example/fetch:1.0.0", "transport": "sse",
                     "env": [{"name": "TIMEOUT", "value": "30"}, {"name": "TOKEN", "value": "s3cret"}]}
        });
        assert_eq!(
            owned_spec(&object),
            json!({"image": "ghcr.io/example/fetch:1.0.0", "env": [{"name": "TIMEOUT", "value": "30"}]})
        );
        assert_eq!(owned_spec(&json!({"metadata": {}})), json!({}));
    }
}
