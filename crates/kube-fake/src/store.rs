//! The object store: every object as JSON, one global `resourceVersion` counter, the change history that
//! watches replay, and the write rules of the API server (create, replace, patch, delete with finalizers,
//! garbage collection of dependents, status subresource, generation, field managers).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::error::{ApiError, FieldCause};
use crate::fields::{self, Entry, Operation};
use crate::kinds::{Kinds, ResourceKind, StorageKey};
use crate::patch::{self, PatchType};
use crate::selector::Selectors;
use crate::validate;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeType {
    Added,
    Modified,
    Deleted,
}

/// One committed change, as watches replay it.
#[derive(Debug)]
pub(crate) struct Change {
    pub storage: StorageKey,
    pub namespace: String,
    pub revision: u64,
    pub change: ChangeType,
    pub object: Value,
    pub previous: Option<Value>,
}

/// Options of one write request.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub force: bool,
}

/// Options of one delete request (the `DeleteOptions` body).
#[derive(Debug, Clone, Default)]
pub(crate) struct DeleteOptions {
    pub dry_run: bool,
    pub orphan: bool,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}

/// How a collection is filtered and paged.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListOptions {
    pub namespace: Option<String>,
    pub selectors: Selectors,
    pub limit: Option<usize>,
    pub continue_after: Option<(String, String)>,
}

/// Objects of one collection, keyed by (namespace, name); cluster-scoped objects have namespace "".
type Collection = BTreeMap<(String, String), Value>;

pub(crate) struct State {
    pub kinds: Kinds,
    objects: BTreeMap<StorageKey, Collection>,
    uids: HashSet<String>,
    revision: u64,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    compacted: u64,
    changes: broadcast::Sender<Arc<Change>>,
}

/// The result of starting a watch: the events to send first, then the live feed.
pub(crate) struct WatchStart {
    pub initial: Vec<Arc<Change>>,
    pub synthetic: Vec<Value>,
    pub revision: u64,
    pub receiver: broadcast::Receiver<Arc<Change>>,
}

pub(crate) fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn random_uid() -> String {
    let hex: String = (0..32).map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)])).collect();
    format!("{}-{}-4{}-{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[16..20], &hex[20..32])
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])).collect()
}

fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = Value::Object(Map::new());
    }
    match object.get_mut("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn is_deleting(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}

/// The object without the parts a no-op check must ignore.
fn without_volatile(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(metadata) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
        metadata.remove("resourceVersion");
    }
    copy
}

/// The object without `metadata` and `status`: what `metadata.generation` counts changes of.
fn generation_content(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

impl State {
    pub fn new(history_limit: usize) -> Self {
        let (changes, _) = broadcast::channel(history_limit.max(16));
        let mut state = Self {
            kinds: Kinds::with_builtins(),
            objects: BTreeMap::new(),
            uids: HashSet::new(),
            revision: 0,
            history: VecDeque::new(),
            history_limit,
            compacted: 0,
            changes,
        };
        for namespace in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let namespace_kind = ResourceKind::cluster("", "v1", "Namespace", "namespaces").with_status();
            let seeded = state.create(
                &namespace_kind,
                None,
                json!({"metadata": {"name": namespace}}),
                &WriteOptions::default(),
                false,
            );
            debug_assert!(seeded.is_ok(), "{seeded:?}");
        }
        state
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Drops the watch history: watches from any earlier `resourceVersion` get 410 Expired.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.revision;
    }

    fn collection(&self, kind: &ResourceKind) -> Option<&Collection> {
        self.objects.get(&kind.storage())
    }

    fn key(kind: &ResourceKind, namespace: Option<&str>, name: &str) -> (String, String) {
        let namespace = if kind.namespaced { namespace.unwrap_or_default() } else { "" };
        (namespace.to_string(), name.to_string())
    }

    /// One object, rendered at the kind's version.
    pub fn get(&self, kind: &ResourceKind, namespace: Option<&str>, name: &str) -> Result<Value, ApiError> {
        self.collection(kind)
            .and_then(|objects| objects.get(&Self::key(kind, namespace, name)))
            .map(|object| render(object, kind))
            .ok_or_else(|| ApiError::not_found(kind, name))
    }

    /// A page of a collection and the continue key of the next page.
    pub fn list(&self, kind: &ResourceKind, options: &ListOptions) -> (Vec<Value>, Option<(String, String)>) {
        let Some(objects) = self.collection(kind) else {
            return (Vec::new(), None);
        };
        let mut items = Vec::new();
        let mut next = None;
        for ((namespace, name), object) in objects {
            if let Some(wanted) = &options.namespace
                && kind.namespaced
                && namespace != wanted
            {
                continue;
            }
            if let Some(after) = &options.continue_after
                && (namespace, name) <= (&after.0, &after.1)
            {
                continue;
            }
            if !options.selectors.matches(object) {
                continue;
            }
            if options.limit.is_some_and(|limit| items.len() >= limit) {
                next = items.last().map(|last: &Value| {
                    (
                        meta_str(last, "namespace").unwrap_or_default().to_string(),
                        meta_str(last, "name").unwrap_or_default().to_string(),
                    )
                });
                break;
            }
            items.push(render(object, kind));
        }
        (items, next)
    }

    /// Registers the served versions of a CRD object.
    fn register_crd_object(&mut self, object: &Value) -> Result<(), ApiError> {
        let crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde_json::from_value(object.clone())
                .map_err(|error| ApiError::bad_request(format!("CustomResourceDefinition: {error}")))?;
        for kind in ResourceKind::from_crd(&crd) {
            self.kinds.register(kind);
        }
        Ok(())
    }

    fn namespace_check(&self, kind: &ResourceKind, namespace: Option<&str>) -> Result<(), ApiError> {
        if !kind.namespaced {
            return Ok(());
        }
        let namespace = namespace.unwrap_or_default();
        let namespaces = ResourceKind::cluster("", "v1", "Namespace", "namespaces");
        match self.collection(&namespaces).and_then(|all| all.get(&(String::new(), namespace.to_string()))) {
            None => Err(ApiError::not_found(&namespaces, namespace)),
            Some(object) if is_deleting(object) => Err(ApiError::new(
                403,
                format!("unable to create new content in namespace {namespace} because it is being terminated"),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Creates an object (`POST`); `check_namespace` is off only for seeding the namespaces themselves.
    pub fn create(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        mut object: Value,
        options: &WriteOptions,
        check_namespace: bool,
    ) -> Result<Value, ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request("the request body must be a JSON object"));
        }
        check_type(kind, &mut object)?;
        let body_namespace = meta_str(&object, "namespace").map(str::to_string);
        let namespace = if kind.namespaced {
            match (namespace, body_namespace.as_deref()) {
                (Some(path), Some(body)) if path != body => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                (Some(path), _) => Some(path.to_string()),
                (None, body) => body.map(str::to_string),
            }
        } else {
            None
        };
        if check_namespace {
            self.namespace_check(kind, namespace.as_deref())?;
        }
        let mut name = meta_str(&object, "name").unwrap_or_default().to_string();
        if name.is_empty()
            && let Some(prefix) = meta_str(&object, "generateName").map(str::to_string)
        {
            name = loop {
                let candidate = format!("{prefix}{}", random_suffix());
                let taken = self
                    .collection(kind)
                    .is_some_and(|objects| objects.contains_key(&Self::key(kind, namespace.as_deref(), &candidate)));
                if !taken {
                    break candidate;
                }
            };
        }
        {
            let metadata = metadata_mut(&mut object);
            metadata.insert("name".to_string(), Value::String(name.clone()));
            match &namespace {
                Some(namespace) => metadata.insert("namespace".to_string(), Value::String(namespace.clone())),
                None => metadata.remove("namespace"),
            };
            for field in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "managedFields",
                "selfLink",
            ] {
                metadata.remove(field);
            }
        }
        if kind.status_subresource
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        if kind.group.is_empty() && kind.kind == "Namespace" {
            metadata_mut(&mut object)
                .entry("labels")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .map(|labels| labels.insert("kubernetes.io/metadata.name".to_string(), Value::String(name.clone())));
            object["status"] = json!({"phase": "Active"});
        }
        validate::validate_object(kind, &object)?;
        let key = Self::key(kind, namespace.as_deref(), &name);
        if self.collection(kind).is_some_and(|objects| objects.contains_key(&key)) {
            return Err(ApiError::already_exists(kind, &name));
        }
        let manager = options.field_manager.clone().unwrap_or_else(|| "unknown".to_string());
        let mut entries = Vec::new();
        fields::take_ownership(
            &mut entries,
            Entry {
                manager,
                operation: Operation::Update,
                subresource: None,
                api_version: kind.api_version(),
                time: now(),
                fields: fields::field_set(&object),
            },
            true,
        );
        fields::write_entries(&mut object, &entries);
        {
            let metadata = metadata_mut(&mut object);
            metadata.insert("uid".to_string(), Value::String(random_uid()));
            metadata.insert("creationTimestamp".to_string(), Value::String(now()));
            if kind.generation {
                metadata.insert("generation".to_string(), json!(1));
            }
        }
        self.commit(kind, key, None, object, options.dry_run)
    }

    /// Stores a new version of an object (or a new object), bumping the revision and recording the change.
    fn commit(
        &mut self,
        kind: &ResourceKind,
        key: (String, String),
        previous: Option<Value>,
        mut object: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let size = serde_json::to_vec(&object).map(|bytes| bytes.len()).unwrap_or(usize::MAX);
        validate::check_stored_size(size)?;
        if dry_run {
            return Ok(render(&object, kind));
        }
        self.revision += 1;
        metadata_mut(&mut object).insert("resourceVersion".to_string(), Value::String(self.revision.to_string()));
        if let Some(uid) = meta_str(&object, "uid") {
            self.uids.insert(uid.to_string());
        }
        let change = if previous.is_some() { ChangeType::Modified } else { ChangeType::Added };
        self.objects.entry(kind.storage()).or_default().insert(key.clone(), object.clone());
        self.record(kind, key.0, change, object.clone(), previous);
        if kind.group == "apiextensions.k8s.io" && kind.plural == "customresourcedefinitions" {
            self.register_crd_object(&object)?;
        }
        Ok(render(&object, kind))
    }

    fn record(
        &mut self,
        kind: &ResourceKind,
        namespace: String,
        change: ChangeType,
        object: Value,
        previous: Option<Value>,
    ) {
        let change =
            Arc::new(Change { storage: kind.storage(), namespace, revision: self.revision, change, object, previous });
        self.history.push_back(Arc::clone(&change));
        while self.history.len() > self.history_limit {
            if let Some(dropped) = self.history.pop_front() {
                self.compacted = dropped.revision;
            }
        }
        // No receiver is not an error: nobody watches yet.
        let _ = self.changes.send(change);
    }

    /// Replaces an object (`PUT`), on the main resource or `/status`.
    pub fn update(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        mut object: Value,
        options: &WriteOptions,
    ) -> Result<Value, ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request("the request body must be a JSON object"));
        }
        check_type(kind, &mut object)?;
        if let Some(body_name) = meta_str(&object, "name")
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let key = Self::key(kind, namespace, name);
        let current = self
            .collection(kind)
            .and_then(|objects| objects.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind, name))?;
        match meta_str(&object, "resourceVersion") {
            Some(version) if Some(version) != meta_str(&current, "resourceVersion") => {
                return Err(ApiError::conflict(
                    kind,
                    name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                ));
            }
            None if !kind.builtin => {
                return Err(ApiError::invalid(
                    kind,
                    name,
                    vec![FieldCause {
                        reason: "FieldValueInvalid",
                        field: "metadata.resourceVersion".to_string(),
                        message: "Invalid value: 0: must be specified for an update".to_string(),
                    }],
                ));
            }
            _ => {}
        }
        let manager = options.field_manager.clone().unwrap_or_else(|| "unknown".to_string());
        self.write(kind, key, current, object, subresource, Ownership::Update(manager), options.dry_run)
    }

    /// Patches an object; server-side apply creates it when it does not exist.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        patch_type: PatchType,
        body: &[u8],
        options: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let key = Self::key(kind, namespace, name);
        let current = self.collection(kind).and_then(|objects| objects.get(&key)).cloned();
        if patch_type == PatchType::Strategic && !kind.builtin {
            return Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json (not supported for custom resources)",
            ));
        }
        if patch_type == PatchType::Apply {
            let manager = options
                .field_manager
                .clone()
                .filter(|manager| !manager.is_empty())
                .ok_or_else(|| ApiError::bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"))?;
            let applied: Value = parse_apply_body(body)?;
            return self.apply(kind, namespace, name, subresource, current, applied, &manager, options);
        }
        let current = current.ok_or_else(|| ApiError::not_found(kind, name))?;
        let mut patched = render(&current, kind);
        match patch_type {
            PatchType::Merge | PatchType::Strategic => {
                let patch: Value = serde_json::from_slice(body)
                    .map_err(|error| ApiError::bad_request(format!("error decoding patch: {error}")))?;
                if !patch.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                if patch_type == PatchType::Merge {
                    patch::merge(&mut patched, &patch);
                } else {
                    patch::strategic_merge(&mut patched, &patch);
                }
            }
            PatchType::Json => {
                let operations: json_patch::Patch = serde_json::from_slice(body)
                    .map_err(|error| ApiError::bad_request(format!("error decoding JSON patch: {error}")))?;
                patch::json_patch(&mut patched, &operations).map_err(|error| {
                    ApiError::new(
                        422,
                        format!("the server rejected our request due to an error in our request: {error}"),
                    )
                })?;
            }
            PatchType::Apply => unreachable!("handled above"),
        }
        if meta_str(&patched, "resourceVersion")
            .is_some_and(|version| Some(version) != meta_str(&current, "resourceVersion"))
        {
            return Err(ApiError::conflict(
                kind,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        let manager = options.field_manager.clone().unwrap_or_else(|| "unknown".to_string());
        self.write(kind, key, current, patched, subresource, Ownership::Update(manager), options.dry_run)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        current: Option<Value>,
        mut applied: Value,
        manager: &str,
        options: &WriteOptions,
    ) -> Result<Value, ApiError> {
        check_apply_type(kind, &applied)?;
        if let Some(body_name) = meta_str(&applied, "name")
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        // Only the part the endpoint may write counts as applied.
        if let Some(map) = applied.as_object_mut() {
            if subresource == Some("status") {
                map.retain(|key, _| matches!(key.as_str(), "status" | "apiVersion" | "kind" | "metadata"));
                if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                    metadata.retain(|key, _| matches!(key.as_str(), "name" | "namespace"));
                }
            } else if kind.status_subresource {
                map.remove("status");
            }
        }
        let applied_fields = fields::field_set(&applied);
        let Some(current) = current else {
            if subresource.is_some() {
                return Err(ApiError::not_found(kind, name));
            }
            let mut object = applied;
            metadata_mut(&mut object).insert("name".to_string(), Value::String(name.to_string()));
            let created =
                self.create(kind, namespace, object, &WriteOptions { dry_run: true, ..options.clone() }, true)?;
            let mut created = created;
            let entry = apply_entry(kind, manager, subresource, applied_fields);
            fields::write_entries(&mut created, &[entry]);
            let key = Self::key(kind, namespace, name);
            return self.commit(kind, key, None, created, options.dry_run);
        };
        let mut entries = fields::read_entries(&current);
        let entry = apply_entry(kind, manager, subresource, applied_fields);
        // Conflicts: fields another manager owns whose value this apply changes.
        let mut conflicts = Vec::new();
        for path in &entry.fields {
            let live = fields::value_at(&current, path);
            if live.is_none() || live == fields::value_at(&applied, path) {
                continue;
            }
            for other in entries.iter().filter(|other| !fields::same_entry(other, &entry)) {
                if other.fields.contains(path) {
                    conflicts.push((other.manager.clone(), fields::display(path)));
                }
            }
        }
        if !conflicts.is_empty() && !options.force {
            return Err(ApiError::apply_conflict(kind, name, &conflicts));
        }
        let mut merged = render(&current, kind);
        // Fields this manager applied before and no longer applies go, unless another manager owns them.
        if let Some(previous) = entries.iter().find(|other| fields::same_entry(other, &entry)) {
            for path in previous.fields.difference(&entry.fields) {
                let owned_elsewhere =
                    entries.iter().any(|other| !fields::same_entry(other, &entry) && other.fields.contains(path));
                if !owned_elsewhere {
                    fields::remove_at(&mut merged, path);
                }
            }
        }
        let mut body = applied;
        if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("resourceVersion");
            metadata.remove("managedFields");
        }
        patch::apply_merge(&mut merged, &body);
        if options.force {
            fields::take_ownership(&mut entries, entry, true);
        } else {
            replace_entry(&mut entries, entry);
        }
        let key = Self::key(kind, namespace, name);
        self.write(kind, key, current, merged, subresource, Ownership::Entries(entries), options.dry_run)
    }

    /// The common end of replace, patch and apply: status subresource rules, immutable metadata,
    /// finalizer rules, validation, generation, field managers, the no-op check, and the commit.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        kind: &ResourceKind,
        key: (String, String),
        current: Value,
        mut object: Value,
        subresource: Option<&str>,
        ownership: Ownership,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let name = key.1.clone();
        object["apiVersion"] = current["apiVersion"].clone();
        object["kind"] = current["kind"].clone();
        if subresource == Some("status") {
            let status = object.get("status").cloned();
            let mut kept = current.clone();
            match status {
                Some(status) => kept["status"] = status,
                None => {
                    if let Some(map) = kept.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            object = kept;
        } else if kind.status_subresource {
            match current.get("status") {
                Some(status) => object["status"] = status.clone(),
                None => {
                    if let Some(map) = object.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
        }
        {
            let kept_metadata = current.get("metadata").cloned().unwrap_or_else(|| json!({}));
            let metadata = metadata_mut(&mut object);
            for field in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "managedFields",
                "resourceVersion",
            ] {
                match kept_metadata.get(field) {
                    Some(value) => metadata.insert(field.to_string(), value.clone()),
                    None => metadata.remove(field),
                };
            }
        }
        if is_deleting(&current) {
            let before = finalizers(&current);
            if finalizers(&object).iter().any(|finalizer| !before.contains(finalizer)) {
                return Err(ApiError::invalid(
                    kind,
                    &name,
                    vec![FieldCause {
                        reason: "FieldValueForbidden",
                        field: "metadata.finalizers".to_string(),
                        message: "Forbidden: no new finalizers can be added if the object is being deleted".to_string(),
                    }],
                ));
            }
        }
        if kind.group.is_empty()
            && matches!(kind.kind.as_str(), "ConfigMap" | "Secret")
            && current.get("immutable") == Some(&Value::Bool(true))
        {
            let changed =
                ["data", "binaryData", "immutable"].iter().any(|field| current.get(*field) != object.get(*field));
            if changed {
                return Err(ApiError::invalid(
                    kind,
                    &name,
                    vec![FieldCause {
                        reason: "FieldValueForbidden",
                        field: "data".to_string(),
                        message: "Forbidden: field is immutable when `immutable` is set".to_string(),
                    }],
                ));
            }
        }
        validate::validate_object(kind, &object)?;
        if kind.generation && generation_content(&current) != generation_content(&object) {
            let generation = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
            metadata_mut(&mut object).insert("generation".to_string(), json!(generation + 1));
        }
        let mut entries = match ownership {
            Ownership::Entries(entries) => entries,
            Ownership::Update(manager) => {
                let mut entries = fields::read_entries(&current);
                let changed = fields::changed_fields(Some(&current), &object);
                if !changed.is_empty() {
                    fields::take_ownership(
                        &mut entries,
                        Entry {
                            manager,
                            operation: Operation::Update,
                            subresource: subresource.map(str::to_string),
                            api_version: kind.api_version(),
                            time: now(),
                            fields: changed,
                        },
                        false,
                    );
                }
                entries
            }
        };
        entries.retain(|entry| !entry.fields.is_empty());
        // A write that changes nothing is not stored: no new resourceVersion, no watch event.
        if without_volatile(&current) == without_volatile(&object)
            && fields::same_ownership(&fields::read_entries(&current), &entries)
        {
            return Ok(render(&current, kind));
        }
        fields::write_entries(&mut object, &entries);
        if is_deleting(&object) && finalizers(&object).is_empty() {
            if dry_run {
                return Ok(render(&object, kind));
            }
            return self.remove(kind, key, object, true);
        }
        self.commit(kind, key, Some(current), object, dry_run)
    }

    /// Deletes an object: with finalizers it is only marked (`deletionTimestamp`), otherwise removed and its
    /// dependents garbage-collected. Returns the object, or `None` when it is gone.
    pub fn delete(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(Value, bool), ApiError> {
        self.delete_with(kind, namespace, name, options, true)
    }

    fn delete_with(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
        collect: bool,
    ) -> Result<(Value, bool), ApiError> {
        let key = Self::key(kind, namespace, name);
        let current = self
            .collection(kind)
            .and_then(|objects| objects.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind, name))?;
        if let Some(uid) = &options.precondition_uid
            && Some(uid.as_str()) != meta_str(&current, "uid")
        {
            return Err(ApiError::conflict(
                kind,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta_str(&current, "uid").unwrap_or_default()
                ),
            ));
        }
        if let Some(version) = &options.precondition_resource_version
            && Some(version.as_str()) != meta_str(&current, "resourceVersion")
        {
            return Err(ApiError::conflict(
                kind,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {version}, ResourceVersion in object meta: {}",
                    meta_str(&current, "resourceVersion").unwrap_or_default()
                ),
            ));
        }
        if options.dry_run {
            return Ok((render(&current, kind), finalizers(&current).is_empty()));
        }
        if options.orphan
            && let Some(uid) = meta_str(&current, "uid").map(str::to_string)
        {
            self.orphan_dependents(&uid);
        }
        if kind.group.is_empty() && kind.kind == "Namespace" {
            self.delete_namespace_contents(name);
        }
        if !finalizers(&current).is_empty() {
            if is_deleting(&current) {
                return Ok((render(&current, kind), false));
            }
            let mut marked = current.clone();
            let metadata = metadata_mut(&mut marked);
            metadata.insert("deletionTimestamp".to_string(), Value::String(now()));
            metadata.insert("deletionGracePeriodSeconds".to_string(), json!(0));
            if kind.group.is_empty() && kind.kind == "Namespace" {
                marked["status"] = json!({"phase": "Terminating"});
            }
            return Ok((self.commit(kind, key, Some(current), marked, false)?, false));
        }
        Ok((self.remove(kind, key, current, collect && !options.orphan)?, true))
    }

    /// Removes an object for good, then collects its dependents.
    fn remove(
        &mut self,
        kind: &ResourceKind,
        key: (String, String),
        mut object: Value,
        collect: bool,
    ) -> Result<Value, ApiError> {
        if let Some(objects) = self.objects.get_mut(&kind.storage()) {
            objects.remove(&key);
        }
        let uid = meta_str(&object, "uid").map(str::to_string);
        if let Some(uid) = &uid {
            self.uids.remove(uid);
        }
        self.revision += 1;
        metadata_mut(&mut object).insert("resourceVersion".to_string(), Value::String(self.revision.to_string()));
        self.record(kind, key.0, ChangeType::Deleted, object.clone(), None);
        if collect && uid.is_some() {
            self.collect_garbage();
        }
        Ok(render(&object, kind))
    }

    fn kind_of(&self, object: &Value) -> Option<ResourceKind> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        self.kinds.by_api_version(api_version, kind).cloned()
    }

    /// Background garbage collection: objects all of whose owners are gone are deleted; dangling owner
    /// references of objects that still have an owner are removed. Runs until nothing changes.
    fn collect_garbage(&mut self) {
        loop {
            let mut orphans = Vec::new();
            let mut dangling = Vec::new();
            for objects in self.objects.values() {
                for object in objects.values() {
                    let Some(owners) = object.pointer("/metadata/ownerReferences").and_then(Value::as_array) else {
                        continue;
                    };
                    if owners.is_empty() {
                        continue;
                    }
                    let alive = owners
                        .iter()
                        .filter(|owner| {
                            owner.get("uid").and_then(Value::as_str).is_some_and(|uid| self.uids.contains(uid))
                        })
                        .count();
                    if alive == 0 {
                        if !is_deleting(object) {
                            orphans.push(object.clone());
                        }
                    } else if alive < owners.len() {
                        dangling.push(object.clone());
                    }
                }
            }
            if orphans.is_empty() && dangling.is_empty() {
                return;
            }
            for object in orphans {
                let Some(kind) = self.kind_of(&object) else { continue };
                let name = meta_str(&object, "name").unwrap_or_default().to_string();
                let namespace = meta_str(&object, "namespace").map(str::to_string);
                let removed = self.delete_with(&kind, namespace.as_deref(), &name, &DeleteOptions::default(), false);
                debug_assert!(removed.is_ok(), "{removed:?}");
            }
            for object in dangling {
                let Some(kind) = self.kind_of(&object) else { continue };
                let mut updated = object.clone();
                if let Some(owners) = updated.pointer_mut("/metadata/ownerReferences").and_then(Value::as_array_mut) {
                    owners.retain(|owner| {
                        owner.get("uid").and_then(Value::as_str).is_some_and(|uid| self.uids.contains(uid))
                    });
                }
                let key =
                    Self::key(&kind, meta_str(&object, "namespace"), meta_str(&object, "name").unwrap_or_default());
                let written = self.write(
                    &kind,
                    key,
                    object,
                    updated,
                    None,
                    Ownership::Update("garbage-collector".to_string()),
                    false,
                );
                debug_assert!(written.is_ok(), "{written:?}");
            }
        }
    }

    fn orphan_dependents(&mut self, uid: &str) {
        let mut dependents = Vec::new();
        for objects in self.objects.values() {
            for object in objects.values() {
                let owned =
                    object.pointer("/metadata/ownerReferences").and_then(Value::as_array).is_some_and(|owners| {
                        owners.iter().any(|owner| owner.get("uid").and_then(Value::as_str) == Some(uid))
                    });
                if owned {
                    dependents.push(object.clone());
                }
            }
        }
        for object in dependents {
            let Some(kind) = self.kind_of(&object) else { continue };
            let mut updated = object.clone();
            if let Some(owners) = updated.pointer_mut("/metadata/ownerReferences").and_then(Value::as_array_mut) {
                owners.retain(|owner| owner.get("uid").and_then(Value::as_str) != Some(uid));
            }
            let key = Self::key(&kind, meta_str(&object, "namespace"), meta_str(&object, "name").unwrap_or_default());
            let written = self.write(
                &kind,
                key,
                object,
                updated,
                None,
                Ownership::Update("garbage-collector".to_string()),
                false,
            );
            debug_assert!(written.is_ok(), "{written:?}");
        }
    }

    fn delete_namespace_contents(&mut self, namespace: &str) {
        let mut contained = Vec::new();
        for objects in self.objects.values() {
            for ((object_namespace, _), object) in objects {
                if object_namespace == namespace {
                    contained.push(object.clone());
                }
            }
        }
        for object in contained {
            let Some(kind) = self.kind_of(&object) else { continue };
            let name = meta_str(&object, "name").unwrap_or_default().to_string();
            let deleted = self.delete(&kind, Some(namespace), &name, &DeleteOptions::default());
            debug_assert!(deleted.is_ok() || deleted.as_ref().is_err_and(|e| e.code == 404), "{deleted:?}");
        }
    }

    /// Deletes every object of a collection that matches.
    pub fn delete_collection(
        &mut self,
        kind: &ResourceKind,
        options: &ListOptions,
        delete: &DeleteOptions,
    ) -> Result<Vec<Value>, ApiError> {
        let (items, _) = self.list(kind, &ListOptions { limit: None, continue_after: None, ..options.clone() });
        let mut deleted = Vec::new();
        for item in items {
            let name = meta_str(&item, "name").unwrap_or_default().to_string();
            let namespace = meta_str(&item, "namespace").map(str::to_string);
            match self.delete(kind, namespace.as_deref(), &name, delete) {
                Ok((object, _)) => deleted.push(object),
                Err(error) if error.code == 404 => {}
                Err(error) => return Err(error),
            }
        }
        Ok(deleted)
    }

    /// Starts a watch: either the current objects (no or `0` resource version) or the history after
    /// `from`, plus a receiver of later changes. `Err` when `from` is older than the retained history.
    pub fn watch(&self, kind: &ResourceKind, options: &ListOptions, from: Option<u64>) -> Result<WatchStart, ApiError> {
        let receiver = self.changes.subscribe();
        match from {
            None => {
                let (synthetic, _) =
                    self.list(kind, &ListOptions { limit: None, continue_after: None, ..options.clone() });
                Ok(WatchStart { initial: Vec::new(), synthetic, revision: self.revision, receiver })
            }
            Some(from) if from < self.compacted => Err(ApiError::expired(from, self.compacted + 1)),
            Some(from) => {
                let storage = kind.storage();
                let initial = self
                    .history
                    .iter()
                    .filter(|change| change.revision > from && change.storage == storage)
                    .cloned()
                    .collect();
                Ok(WatchStart { initial, synthetic: Vec::new(), revision: self.revision, receiver })
            }
        }
    }

    /// Every object of a kind (all namespaces), for tests.
    pub fn all(&self, kind: &ResourceKind) -> Vec<Value> {
        self.collection(kind)
            .map(|objects| objects.values().map(|object| render(object, kind)).collect())
            .unwrap_or_default()
    }
}

/// Who a write records as the owner of what it changed.
enum Ownership {
    /// A non-apply write by this manager: it takes the fields it changed.
    Update(String),
    /// Server-side apply: the managed fields as the apply computed them.
    Entries(Vec<Entry>),
}

fn apply_entry(kind: &ResourceKind, manager: &str, subresource: Option<&str>, fields: fields::FieldSet) -> Entry {
    Entry {
        manager: manager.to_string(),
        operation: Operation::Apply,
        subresource: subresource.map(str::to_string),
        api_version: kind.api_version(),
        time: now(),
        fields,
    }
}

fn replace_entry(entries: &mut Vec<Entry>, entry: Entry) {
    match entries.iter_mut().find(|other| fields::same_entry(other, &entry)) {
        Some(existing) => *existing = entry,
        None => entries.push(entry),
    }
}

fn parse_apply_body(body: &[u8]) -> Result<Value, ApiError> {
    let applied: Value = serde_json::from_slice(body).map_err(|error| {
        ApiError::bad_request(format!("error decoding apply patch (this fake reads JSON apply bodies): {error}"))
    })?;
    if applied.is_object() { Ok(applied) } else { Err(ApiError::bad_request("an apply patch must be an object")) }
}

/// `apiVersion` and `kind` of a body must match the endpoint (they may be absent on create and replace).
fn check_type(kind: &ResourceKind, object: &mut Value) -> Result<(), ApiError> {
    let expected = kind.api_version();
    match object.get("apiVersion").and_then(Value::as_str) {
        Some(version) if version != expected => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({version}) does not match the expected API version ({expected})"
            )));
        }
        _ => {}
    }
    match object.get("kind").and_then(Value::as_str) {
        Some(found) if found != kind.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({found}) does not match the expected kind ({})",
                kind.kind
            )));
        }
        _ => {}
    }
    object["apiVersion"] = Value::String(expected);
    object["kind"] = Value::String(kind.kind.clone());
    Ok(())
}

/// An apply body must name its `apiVersion` and `kind`.
fn check_apply_type(kind: &ResourceKind, applied: &Value) -> Result<(), ApiError> {
    let version = applied.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let found = applied.get("kind").and_then(Value::as_str).unwrap_or_default();
    if version.is_empty() || found.is_empty() {
        return Err(ApiError::bad_request("apiVersion and kind must be set in an apply patch"));
    }
    let mut copy = json!({"apiVersion": version, "kind": found});
    check_type(kind, &mut copy)
}

/// An object as served at one version: the stored object with that kind's `apiVersion`.
pub(crate) fn render(object: &Value, kind: &ResourceKind) -> Value {
    let mut rendered = object.clone();
    rendered["apiVersion"] = Value::String(kind.api_version());
    rendered
}
