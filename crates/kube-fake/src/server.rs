//! The fake API server: a tower `Service` that `kube::Client::new` accepts, plus the handle tests use to
//! seed and read objects, inspect the request log, inject faults and wait for conditions.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::kinds::ResourceKind;
use crate::log::{Fault, FaultEffect, RequestRecord};
use crate::patch::PatchType;
use crate::route::{self, Discovery, Route, Target, Verb};
use crate::selector::Selectors;
use crate::store::{Change, ChangeType, DeleteOptions, ListOptions, State, WriteOptions};
use crate::validate::MAX_REQUEST_BYTES;

/// The response body type of the fake's `Service`.
pub type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

/// Errors of the test-facing methods (seeding, reading, waiting).
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// The type's group/version/plural is not registered with the fake.
    #[error("{0} is not a kind this fake serves: register it first (FakeApiServer::register or register_crd)")]
    UnknownKind(String),
    /// The API server rule refused the object.
    #[error("the fake API server refused the object: {0}")]
    Api(#[from] ApiError),
    /// The stored object does not deserialize into the requested type.
    #[error("the stored object does not match the requested type: {0}")]
    Decode(#[from] serde_json::Error),
    /// [`FakeApiServer::wait_for`] ran out of time.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        timeout: Duration,
    },
}

/// Settings of a [`FakeApiServer`].
#[derive(Debug, Clone)]
pub struct Builder {
    history_limit: usize,
    bookmark_interval: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Self { history_limit: 1024, bookmark_interval: Duration::from_secs(30) }
    }
}

impl Builder {
    /// How many changes watches can resume from (older resource versions get 410 Expired); default 1024.
    pub fn history_limit(mut self, changes: usize) -> Self {
        self.history_limit = changes.max(1);
        self
    }

    /// How often a watch with `allowWatchBookmarks` gets a `BOOKMARK`; default 30 s.
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// The server.
    pub fn build(self) -> FakeApiServer {
        FakeApiServer {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new(self.history_limit)),
                log: Mutex::new(Vec::new()),
                faults: Mutex::new(Vec::new()),
                changed: Notify::new(),
                bookmark_interval: self.bookmark_interval,
            }),
            client: Arc::from("default"),
        }
    }
}

struct Shared {
    state: Mutex<State>,
    log: Mutex<Vec<RequestRecord>>,
    faults: Mutex<Vec<Fault>>,
    changed: Notify,
    bookmark_interval: Duration,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stateful in-memory Kubernetes API server. Cloning it gives another handle on the same server.
#[derive(Clone)]
pub struct FakeApiServer {
    shared: Arc<Shared>,
    client: Arc<str>,
}

impl std::fmt::Debug for FakeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApiServer").field("client", &self.client).finish_non_exhaustive()
    }
}

impl Default for FakeApiServer {
    fn default() -> Self {
        Self::new()
    }
}

fn kind_key<K: Resource<DynamicType = ()>>() -> (String, String, String) {
    (K::group(&()).into_owned(), K::version(&()).into_owned(), K::plural(&()).into_owned())
}

impl FakeApiServer {
    /// A server with the built-in kinds and the namespaces `default`, `kube-system`, `kube-public` and
    /// `kube-node-lease`.
    pub fn new() -> Self {
        Builder::default().build()
    }

    /// Settings for a server.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A `kube::Client` talking to this server, with default namespace `default`; its requests are logged
    /// as client `default`.
    pub fn client(&self) -> kube::Client {
        self.client_as("default")
    }

    /// A `kube::Client` whose requests are logged under `name`, so a test can tell the operator's requests
    /// from its own.
    pub fn client_as(&self, name: &str) -> kube::Client {
        kube::Client::new(self.as_client(name), "default")
    }

    /// Another handle on this server whose requests are logged under `name`.
    pub(crate) fn as_client(&self, name: &str) -> Self {
        Self { shared: Arc::clone(&self.shared), client: Arc::from(name) }
    }

    /// Serves another kind (or replaces its definition).
    pub fn register(&self, kind: ResourceKind) {
        lock(&self.shared.state).kinds.register(kind);
    }

    /// Serves the kinds a CRD defines, as applying the CRD to a cluster does (the CRD object itself is not
    /// stored; create it through the API to have both).
    pub fn register_crd(
        &self,
        crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    ) {
        let mut state = lock(&self.shared.state);
        for kind in ResourceKind::from_crd(crd) {
            state.kinds.register(kind);
        }
    }

    fn kind_of<K: Resource<DynamicType = ()>>(&self) -> Result<ResourceKind, FakeError> {
        let (group, version, plural) = kind_key::<K>();
        lock(&self.shared.state)
            .kinds
            .by_path(&group, &version, &plural)
            .cloned()
            .ok_or_else(|| FakeError::UnknownKind(format!("{group}/{version}/{plural}")))
    }

    /// Creates an object as a client would (validation, uid, resourceVersion, watch event) but without a
    /// log entry, creating its namespace when missing. Returns the stored object.
    pub fn seed<K>(&self, object: &K) -> Result<K, FakeError>
    where
        K: Resource<DynamicType = ()> + Serialize + DeserializeOwned,
    {
        let kind = self.kind_of::<K>()?;
        let stored = self.seed_kind(&kind, serde_json::to_value(object)?)?;
        Ok(serde_json::from_value(stored)?)
    }

    /// [`Self::seed`] for an untyped object, found by its `apiVersion` and `kind`.
    pub fn seed_value(&self, object: Value) -> Result<Value, FakeError> {
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind_name = object.get("kind").and_then(Value::as_str).unwrap_or_default();
        let kind = lock(&self.shared.state)
            .kinds
            .by_api_version(api_version, kind_name)
            .cloned()
            .ok_or_else(|| FakeError::UnknownKind(format!("{api_version} {kind_name}")))?;
        self.seed_kind(&kind, object)
    }

    fn seed_kind(&self, kind: &ResourceKind, object: Value) -> Result<Value, FakeError> {
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|_| kind.namespaced)
            .or_else(|| kind.namespaced.then(|| "default".to_string()));
        let stored = {
            let mut state = lock(&self.shared.state);
            if let Some(namespace) = &namespace {
                let namespaces = ResourceKind::cluster("", "v1", "Namespace", "namespaces").with_status();
                if state.get(&namespaces, None, namespace).is_err() {
                    state.create(
                        &namespaces,
                        None,
                        json!({"metadata": {"name": namespace}}),
                        &WriteOptions::default(),
                        false,
                    )?;
                }
            }
            let options = WriteOptions { field_manager: Some("seed".to_string()), ..WriteOptions::default() };
            state.create(kind, namespace.as_deref(), object, &options, true)?
        };
        self.shared.changed.notify_waiters();
        Ok(stored)
    }

    /// The stored object, or `None`; `namespace` is ignored for cluster-scoped kinds.
    pub fn get<K>(&self, namespace: &str, name: &str) -> Result<Option<K>, FakeError>
    where
        K: Resource<DynamicType = ()> + DeserializeOwned,
    {
        let kind = self.kind_of::<K>()?;
        let found = lock(&self.shared.state).get(&kind, Some(namespace), name).ok();
        Ok(found.map(serde_json::from_value).transpose()?)
    }

    /// Every stored object of a kind, in all namespaces, ordered by namespace and name.
    pub fn list<K>(&self) -> Result<Vec<K>, FakeError>
    where
        K: Resource<DynamicType = ()> + DeserializeOwned,
    {
        let kind = self.kind_of::<K>()?;
        let all = lock(&self.shared.state).all(&kind);
        Ok(all.into_iter().map(serde_json::from_value).collect::<Result<_, _>>()?)
    }

    /// Waits until `predicate` holds for the object (`None` while it does not exist), checking after
    /// every change; returns the object as it was when the predicate held.
    pub async fn wait_for<K>(
        &self,
        namespace: &str,
        name: &str,
        timeout: Duration,
        predicate: impl Fn(Option<&K>) -> bool,
    ) -> Result<Option<K>, FakeError>
    where
        K: Resource<DynamicType = ()> + DeserializeOwned,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let current = self.get::<K>(namespace, name)?;
            if predicate(current.as_ref()) {
                return Ok(current);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(FakeError::Timeout { what: format!("{} {namespace}/{name}", K::kind(&())), timeout });
            }
        }
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Adds a fault; faults are checked in the order added, the first match applies.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// The current global `resourceVersion`.
    pub fn resource_version(&self) -> u64 {
        lock(&self.shared.state).revision()
    }

    /// Forgets the watch history, as etcd compaction does: watches resuming from an earlier
    /// `resourceVersion` get `410 Expired`.
    pub fn compact(&self) {
        lock(&self.shared.state).compact();
    }

    pub(crate) async fn handle(self, request: Request<kube::client::Body>) -> Response<ResponseBody> {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => return error_response(&ApiError::bad_request(format!("reading the request body: {error}"))),
        };
        let query = route::parse_query(parts.uri.query());
        let routed = {
            let state = lock(&self.shared.state);
            route::route(&state.kinds, &parts.method, parts.uri.path(), &query)
        };
        let target = match routed {
            Ok(Route::Resource(target)) => target,
            Ok(Route::Discovery(discovery)) => return self.discovery(discovery),
            Err(error) => return error_response(&error),
        };
        let header = |name: header::HeaderName| {
            parts.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_string()
        };
        let content_type = header(header::CONTENT_TYPE);
        let metadata_only = header(header::ACCEPT).contains("as=PartialObjectMetadata");
        let user_agent = header(header::USER_AGENT);
        let patch_type = if target.verb == Verb::Patch {
            match PatchType::from_content_type(&content_type) {
                Ok(patch_type) => Some(patch_type),
                Err(error) => return self.finish(record(&self.client, &target, None), Err(error)),
            }
        } else {
            None
        };
        let mut entry = record(&self.client, &target, patch_type);
        for effect in self.faults_for(&entry) {
            let error = match effect {
                FaultEffect::Delay(delay) => {
                    tokio::time::sleep(delay).await;
                    continue;
                }
                FaultEffect::Fail(error) => error,
                FaultEffect::Forbidden => entry.forbidden(),
            };
            entry.code = error.code;
            lock(&self.shared.log).push(entry);
            return error_response(&error);
        }
        if body.len() > MAX_REQUEST_BYTES {
            let error = ApiError::too_large(format!("Request entity too large: limit is {MAX_REQUEST_BYTES}"));
            return self.finish(entry, Err(error));
        }
        let field_manager = query
            .get("fieldManager")
            .cloned()
            .or_else(|| user_agent.split('/').next().filter(|agent| !agent.is_empty()).map(str::to_string));
        let write = WriteOptions {
            dry_run: query.get("dryRun").is_some_and(|value| value == "All"),
            field_manager,
            force: query.get("force").is_some_and(|value| value == "true"),
        };
        if target.verb == Verb::Watch {
            return self.watch(entry, &target, &query, metadata_only);
        }
        let result = self.dispatch(&target, &query, &body, patch_type, &write, metadata_only);
        self.finish(entry, result)
    }

    /// Collects the effects of the faults matching a request, using up counted ones.
    fn faults_for(&self, entry: &RequestRecord) -> Vec<FaultEffect> {
        let mut faults = lock(&self.shared.faults);
        let mut effects = Vec::new();
        for fault in faults.iter_mut() {
            if !fault.matches(entry) || fault.remaining == Some(0) {
                continue;
            }
            if let Some(remaining) = &mut fault.remaining {
                *remaining -= 1;
            }
            let fails = matches!(fault.effect, FaultEffect::Fail(_) | FaultEffect::Forbidden);
            effects.push(fault.effect.clone());
            if fails {
                break;
            }
        }
        faults.retain(|fault| fault.remaining != Some(0));
        effects
    }

    fn finish(
        &self,
        mut entry: RequestRecord,
        result: Result<(StatusCode, Value), ApiError>,
    ) -> Response<ResponseBody> {
        let response = match &result {
            Ok((code, value)) => {
                entry.code = code.as_u16();
                json_response(*code, value)
            }
            Err(error) => {
                entry.code = error.code;
                error_response(error)
            }
        };
        lock(&self.shared.log).push(entry);
        if result.is_ok() {
            self.shared.changed.notify_waiters();
        }
        response
    }

    fn dispatch(
        &self,
        target: &Target,
        query: &HashMap<String, String>,
        body: &[u8],
        patch_type: Option<PatchType>,
        write: &WriteOptions,
        metadata_only: bool,
    ) -> Result<(StatusCode, Value), ApiError> {
        let kind = &target.kind;
        let namespace = target.namespace.as_deref();
        let name = target.name.as_deref().unwrap_or_default();
        let subresource = target.subresource.as_deref();
        let parse_body = || -> Result<Value, ApiError> {
            serde_json::from_slice(body)
                .map_err(|error| ApiError::bad_request(format!("error decoding the request body: {error}")))
        };
        let mut state = lock(&self.shared.state);
        match target.verb {
            Verb::Get => {
                let object = state.get(kind, namespace, name)?;
                Ok((StatusCode::OK, if metadata_only { partial_metadata(&object) } else { object }))
            }
            Verb::List => {
                let (options, revision) = list_options(target, query)?;
                let (items, next) = state.list(kind, &options);
                let revision = revision.unwrap_or_else(|| state.revision());
                Ok((StatusCode::OK, list_body(kind, items, revision, next, metadata_only)))
            }
            Verb::Create => {
                if subresource.is_some() {
                    return Err(ApiError::method_not_allowed("create on a subresource is not supported"));
                }
                let object = state.create(kind, namespace, parse_body()?, write, true)?;
                Ok((StatusCode::CREATED, object))
            }
            Verb::Update => {
                let object = state.update(kind, namespace, name, subresource, parse_body()?, write)?;
                Ok((StatusCode::OK, object))
            }
            Verb::Patch => {
                let patch_type = patch_type.unwrap_or(PatchType::Merge);
                let existed = state.get(kind, namespace, name).is_ok();
                let object = state.patch(kind, namespace, name, subresource, patch_type, body, write)?;
                let code = if existed { StatusCode::OK } else { StatusCode::CREATED };
                Ok((code, object))
            }
            Verb::Delete => {
                let options = delete_options(query, body)?;
                let (object, gone) = state.delete(kind, namespace, name, &options)?;
                if gone && kind.builtin {
                    Ok((StatusCode::OK, success_status(kind, &object)))
                } else {
                    Ok((StatusCode::OK, object))
                }
            }
            Verb::DeleteCollection => {
                let options = delete_options(query, body)?;
                let (list, _) = list_options(target, query)?;
                let deleted = state.delete_collection(kind, &list, &options)?;
                let revision = state.revision();
                Ok((StatusCode::OK, list_body(kind, deleted, revision, None, false)))
            }
            Verb::Watch => Err(ApiError::bad_request("watch is served as a stream")),
        }
    }

    fn watch(
        &self,
        mut entry: RequestRecord,
        target: &Target,
        query: &HashMap<String, String>,
        metadata_only: bool,
    ) -> Response<ResponseBody> {
        let selectors = match Selectors::from_query(query) {
            Ok(selectors) => selectors,
            Err(error) => return self.finish(entry, Err(error)),
        };
        let from = match query.get("resourceVersion").map(String::as_str) {
            None | Some("") | Some("0") => None,
            Some(version) => match version.parse::<u64>() {
                Ok(version) => Some(version),
                Err(_) => {
                    let error = ApiError::bad_request(format!("invalid resource version: {version:?}"));
                    return self.finish(entry, Err(error));
                }
            },
        };
        let options = ListOptions {
            namespace: target.namespace.clone(),
            selectors: selectors.clone(),
            limit: None,
            continue_after: None,
        };
        let bookmarks = query.get("allowWatchBookmarks").is_some_and(|value| value == "true");
        let initial_end =
            from.is_none() && bookmarks && query.get("sendInitialEvents").is_some_and(|value| value == "true");
        let timeout = query
            .get("timeoutSeconds")
            .and_then(|value| value.parse::<u64>().ok())
            .map_or(Duration::from_secs(1800), Duration::from_secs);
        let filter =
            WatchFilter { kind: target.kind.clone(), namespace: target.namespace.clone(), selectors, metadata_only };
        let started = lock(&self.shared.state).watch(&target.kind, &options, from);
        entry.code = 200;
        lock(&self.shared.log).push(entry);
        let mut feed = WatchFeed {
            pending: VecDeque::new(),
            receiver: None,
            filter,
            deadline: Instant::now() + timeout,
            bookmark_interval: bookmarks.then_some(self.shared.bookmark_interval),
            next_bookmark: Instant::now() + self.shared.bookmark_interval,
            revision: 0,
            shared: Arc::clone(&self.shared),
            finished: false,
        };
        match started {
            Err(error) => {
                // As a real API server does: the watch starts, then its first event is the 410 error.
                feed.pending.push_back(event_line("ERROR", &error.to_status()));
                feed.finished = true;
            }
            Ok(start) => {
                feed.revision = start.revision;
                for object in &start.synthetic {
                    let rendered = feed.filter.render(object);
                    feed.pending.push_back(event_line("ADDED", &rendered));
                }
                for change in &start.initial {
                    feed.push_change(change);
                }
                feed.revision = start.revision;
                if initial_end {
                    feed.push_bookmark(true);
                }
                feed.receiver = Some(start.receiver);
            }
        }
        let stream = futures::stream::unfold(feed, |mut feed| async move {
            let line = feed.next_line().await?;
            Some((Ok::<_, Infallible>(http_body::Frame::data(line)), feed))
        });
        let body = StreamBody::new(stream);
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(UnsyncBoxBody::new(body))
            .unwrap_or_else(|_| error_response(&ApiError::new(500, "building the watch response")))
    }

    fn discovery(&self, discovery: Discovery) -> Response<ResponseBody> {
        let state = lock(&self.shared.state);
        let body = match discovery {
            Discovery::Version => {
                json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-thv-kube-fake", "platform": "linux/amd64"})
            }
            Discovery::CoreVersions => {
                json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
            }
            Discovery::Groups => {
                let mut groups: HashMap<String, Vec<String>> = HashMap::new();
                for kind in state.kinds.all().filter(|kind| !kind.group.is_empty()) {
                    let versions = groups.entry(kind.group.clone()).or_default();
                    if !versions.contains(&kind.version) {
                        versions.push(kind.version.clone());
                    }
                }
                let mut names: Vec<_> = groups.keys().cloned().collect();
                names.sort();
                let groups: Vec<Value> = names
                    .iter()
                    .map(|name| {
                        let versions: Vec<Value> = groups[name]
                            .iter()
                            .map(|version| json!({"groupVersion": format!("{name}/{version}"), "version": version}))
                            .collect();
                        json!({"name": name, "versions": versions, "preferredVersion": versions[0]})
                    })
                    .collect();
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
            }
            Discovery::Resources { group, version } => {
                let mut resources: Vec<Value> = Vec::new();
                let mut kinds: Vec<&ResourceKind> =
                    state.kinds.all().filter(|kind| kind.group == group && kind.version == version).collect();
                if kinds.is_empty() {
                    return error_response(&ApiError::unknown_path(&format!("{group}/{version}")));
                }
                kinds.sort_by(|a, b| a.plural.cmp(&b.plural));
                for kind in kinds {
                    let verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
                    resources.push(json!({"name": kind.plural, "singularName": kind.kind.to_lowercase(),
                        "namespaced": kind.namespaced, "kind": kind.kind, "verbs": verbs}));
                    if kind.status_subresource {
                        resources.push(json!({"name": format!("{}/status", kind.plural), "singularName": "",
                            "namespaced": kind.namespaced, "kind": kind.kind, "verbs": ["get", "patch", "update"]}));
                    }
                }
                let group_version = if group.is_empty() { version } else { format!("{group}/{version}") };
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
            }
        };
        json_response(StatusCode::OK, &body)
    }
}

fn record(client: &str, target: &Target, patch: Option<PatchType>) -> RequestRecord {
    RequestRecord {
        client: client.to_string(),
        verb: target.verb,
        group: target.kind.group.clone(),
        version: target.kind.version.clone(),
        resource: target.kind.plural.clone(),
        subresource: target.subresource.clone(),
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        patch,
        code: 0,
    }
}

fn list_options(target: &Target, query: &HashMap<String, String>) -> Result<(ListOptions, Option<u64>), ApiError> {
    let limit = match query.get("limit") {
        Some(limit) => {
            Some(limit.parse::<usize>().map_err(|_| ApiError::bad_request(format!("invalid limit: {limit:?}")))?)
                .filter(|limit| *limit > 0)
        }
        None => None,
    };
    let (continue_after, list_revision) = match query.get("continue").filter(|token| !token.is_empty()) {
        Some(token) => {
            let (revision, namespace, name) =
                decode_continue(token).ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
            (Some((namespace, name)), Some(revision))
        }
        None => (None, None),
    };
    Ok((
        ListOptions {
            namespace: target.namespace.clone(),
            selectors: Selectors::from_query(query)?,
            limit,
            continue_after,
        },
        list_revision,
    ))
}

fn encode_continue(revision: u64, namespace: &str, name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([revision, namespace, name]).to_string())
}

fn decode_continue(token: &str) -> Option<(u64, String, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn list_body(
    kind: &ResourceKind,
    items: Vec<Value>,
    revision: u64,
    next: Option<(String, String)>,
    metadata_only: bool,
) -> Value {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if let Some((namespace, name)) = next {
        metadata["continue"] = Value::String(encode_continue(revision, &namespace, &name));
    }
    if metadata_only {
        let items: Vec<Value> = items.iter().map(partial_metadata).collect();
        json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": metadata, "items": items})
    } else {
        json!({"apiVersion": kind.api_version(), "kind": format!("{}List", kind.kind), "metadata": metadata, "items": items})
    }
}

fn partial_metadata(object: &Value) -> Value {
    json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({}))})
}

fn success_status(kind: &ResourceKind, object: &Value) -> Value {
    let mut details = json!({
        "name": object.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
        "kind": kind.plural,
        "uid": object.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
    });
    if !kind.group.is_empty() {
        details["group"] = Value::String(kind.group.clone());
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

fn delete_options(query: &HashMap<String, String>, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let parsed: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|error| ApiError::bad_request(format!("error decoding DeleteOptions: {error}")))?
    };
    let policy = parsed
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| query.get("propagationPolicy").map(String::as_str));
    let orphan = policy == Some("Orphan") || parsed.get("orphanDependents") == Some(&Value::Bool(true));
    let dry_run =
        parsed.get("dryRun").and_then(Value::as_array).is_some_and(|values| values.iter().any(|value| value == "All"))
            || query.get("dryRun").is_some_and(|value| value == "All");
    let precondition =
        |field: &str| parsed.pointer(&format!("/preconditions/{field}")).and_then(Value::as_str).map(str::to_string);
    Ok(DeleteOptions {
        dry_run,
        orphan,
        precondition_uid: precondition("uid"),
        precondition_resource_version: precondition("resourceVersion"),
    })
}

fn json_response(code: StatusCode, value: &Value) -> Response<ResponseBody> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(UnsyncBoxBody::new(Full::new(Bytes::from(bytes))))
        .unwrap_or_else(|_| Response::new(UnsyncBoxBody::new(Full::new(Bytes::new()))))
}

fn error_response(error: &ApiError) -> Response<ResponseBody> {
    let code = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &error.to_status())
}

fn event_line(event_type: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Which changes one watch sends, and how it renders them.
struct WatchFilter {
    kind: ResourceKind,
    namespace: Option<String>,
    selectors: Selectors,
    metadata_only: bool,
}

impl WatchFilter {
    fn render(&self, object: &Value) -> Value {
        let rendered = crate::store::render(object, &self.kind);
        if self.metadata_only { partial_metadata(&rendered) } else { rendered }
    }

    /// The event a change makes on this watch: objects entering or leaving the selector are `ADDED` or
    /// `DELETED`, as the API server's watch cache sends them.
    fn event(&self, change: &Change) -> Option<&'static str> {
        if change.storage != self.kind.storage() {
            return None;
        }
        if let Some(namespace) = &self.namespace
            && self.kind.namespaced
            && *namespace != change.namespace
        {
            return None;
        }
        let now = self.selectors.matches(&change.object);
        match change.change {
            ChangeType::Added => now.then_some("ADDED"),
            ChangeType::Deleted => now.then_some("DELETED"),
            ChangeType::Modified => {
                let before = change.previous.as_ref().is_some_and(|previous| self.selectors.matches(previous));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }
    }
}

/// The state of one watch stream.
struct WatchFeed {
    pending: VecDeque<Bytes>,
    receiver: Option<broadcast::Receiver<Arc<Change>>>,
    filter: WatchFilter,
    deadline: Instant,
    bookmark_interval: Option<Duration>,
    next_bookmark: Instant,
    revision: u64,
    shared: Arc<Shared>,
    finished: bool,
}

impl WatchFeed {
    fn push_change(&mut self, change: &Change) {
        if change.revision <= self.revision && self.receiver.is_some() {
            return;
        }
        self.revision = self.revision.max(change.revision);
        if let Some(event) = self.filter.event(change) {
            let rendered = self.filter.render(&change.object);
            self.pending.push_back(event_line(event, &rendered));
        }
    }

    fn push_bookmark(&mut self, initial_events_end: bool) {
        let mut metadata = json!({"resourceVersion": self.revision.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object =
            json!({"kind": self.filter.kind.kind, "apiVersion": self.filter.kind.api_version(), "metadata": metadata});
        self.pending.push_back(event_line("BOOKMARK", &object));
    }

    /// Sends what happened up to now, then a bookmark at the current revision.
    fn bookmark(&mut self) {
        let revision = lock(&self.shared.state).revision();
        let mut lagged = false;
        if let Some(receiver) = self.receiver.as_mut() {
            let mut drained = Vec::new();
            loop {
                match receiver.try_recv() {
                    Ok(change) => drained.push(change),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => {
                        lagged = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            for change in drained {
                self.push_change(&change);
            }
        }
        if lagged {
            self.expire();
            return;
        }
        self.revision = self.revision.max(revision);
        self.push_bookmark(false);
    }

    fn expire(&mut self) {
        let error = ApiError::expired(self.revision, self.revision + 1);
        self.pending.push_back(event_line("ERROR", &error.to_status()));
        self.finished = true;
    }

    async fn next_line(&mut self) -> Option<Bytes> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Some(line);
            }
            if self.finished {
                return None;
            }
            let receiver = self.receiver.as_mut()?;
            let bookmarks = self.bookmark_interval.is_some();
            tokio::select! {
                received = receiver.recv() => match received {
                    Ok(change) => self.push_change(&change),
                    Err(broadcast::error::RecvError::Lagged(_)) => self.expire(),
                    Err(broadcast::error::RecvError::Closed) => self.finished = true,
                },
                () = tokio::time::sleep_until(self.deadline) => self.finished = true,
                () = tokio::time::sleep_until(self.next_bookmark), if bookmarks => {
                    self.next_bookmark = Instant::now() + self.bookmark_interval.unwrap_or_default();
                    self.bookmark();
                }
            }
        }
    }
}

impl tower::Service<Request<kube::client::Body>> for FakeApiServer {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let server = self.clone();
        Box::pin(async move { Ok(server.handle(request).await) })
    }
}
