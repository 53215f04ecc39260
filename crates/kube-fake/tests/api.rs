//! CRUD, patches, server-side apply, status and generation rules, validation, deletion and garbage
//! collection, the request log and fault injection, all through a real `kube::Client` and `kube::Api`.

mod common;

use std::time::{Duration, Instant};

use common::{Widget, WidgetStatus, api_error, configmap, server, widget};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::{Resource, ResourceExt};
use serde_json::json;
use thv_kube_fake::{FakeApiServer, FakeError, Fault, RequestRecord, Verb};

#[tokio::test]
async fn configmap_create_get_list_replace_patch_delete() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let created = api.create(&PostParams::default(), &configmap("a", &[("k", "v1")])).await.unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(created.metadata.generation, None, "ConfigMaps have no generation on a real API server");
    let first_version = created.resource_version().unwrap();

    let fetched = api.get("a").await.unwrap();
    assert_eq!(fetched.data, created.data);
    assert_eq!(api.list(&ListParams::default()).await.unwrap().items.len(), 1);

    let mut edited = fetched.clone();
    edited.data = Some([("k".to_string(), "v2".to_string())].into());
    let replaced = api.replace("a", &PostParams::default(), &edited).await.unwrap();
    assert_ne!(replaced.resource_version().unwrap(), first_version);
    assert_eq!(replaced.metadata.uid, created.metadata.uid);

    let patched =
        api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"other": "x"}}))).await.unwrap();
    assert_eq!(patched.data.unwrap().len(), 2);

    let deleted = api.delete("a", &DeleteParams::default()).await.unwrap();
    assert!(deleted.is_right(), "a ConfigMap deleted at once answers a Success Status");
    let (code, reason, message) = api_error(api.get("a").await);
    assert_eq!((code, reason.as_str(), message.as_str()), (404, "NotFound", "configmaps \"a\" not found"));
}

#[tokio::test]
async fn create_refuses_duplicates_and_generates_names() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    api.create(&PostParams::default(), &configmap("a", &[])).await.unwrap();
    let (code, reason, message) = api_error(api.create(&PostParams::default(), &configmap("a", &[])).await);
    assert_eq!((code, reason.as_str(), message.as_str()), (409, "AlreadyExists", "configmaps \"a\" already exists"));

    let mut generated = configmap("", &[]);
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".to_string());
    let created = api.create(&PostParams::default(), &generated).await.unwrap();
    let name = created.name_any();
    assert!(name.starts_with("gen-") && name.len() == "gen-".len() + 5, "{name}");
}

#[tokio::test]
async fn replace_with_a_stale_resource_version_conflicts() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let created = api.create(&PostParams::default(), &configmap("a", &[("k", "1")])).await.unwrap();
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "2"}}))).await.unwrap();
    let (code, reason, message) = api_error(api.replace("a", &PostParams::default(), &created).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert!(message.contains("the object has been modified"), "{message}");
    assert_eq!(fake.get::<ConfigMap>("default", "a").unwrap().unwrap().data.unwrap()["k"], "2");
}

#[tokio::test]
async fn custom_resources_need_a_resource_version_to_be_replaced() {
    let fake = server();
    let api: Api<Widget> = Api::default_namespaced(fake.client());
    let mut created = api.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    created.metadata.resource_version = None;
    let (code, _, message) = api_error(api.replace("w", &PostParams::default(), &created).await);
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("metadata.resourceVersion"), "{message}");
}

#[tokio::test]
async fn status_subresource_and_generation_rules() {
    let fake = server();
    let api: Api<Widget> = Api::default_namespaced(fake.client());
    let mut new = widget("w", 1);
    new.status = Some(WidgetStatus { ready: true, observed_generation: Some(9) });
    let created = api.create(&PostParams::default(), &new).await.unwrap();
    assert_eq!(created.status, None, "status is dropped on create when it is a subresource");
    assert_eq!(created.metadata.generation, Some(1));

    let spec_changed = api
        .patch("w", &PatchParams::default(), &Patch::Merge(json!({"spec": {"size": 2}, "status": {"ready": true}})))
        .await
        .unwrap();
    assert_eq!(spec_changed.metadata.generation, Some(2));
    assert_eq!(spec_changed.status, None, "the main resource ignores .status");

    let labelled = api
        .patch("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})))
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(2), "metadata changes leave the generation");

    let status = api
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 5}, "status": {"ready": true, "observedGeneration": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(status.status, Some(WidgetStatus { ready: true, observed_generation: Some(2) }));
    assert_eq!(status.spec.size, 2, "the status subresource ignores .spec");
    assert_eq!(status.metadata.generation, Some(2));

    let mut replaced_main = status.clone();
    replaced_main.status = None;
    replaced_main.spec.size = 3;
    let replaced = api.replace("w", &PostParams::default(), &replaced_main).await.unwrap();
    assert_eq!(replaced.status, status.status, "replacing the main resource keeps .status");
    assert_eq!(replaced.metadata.generation, Some(3));

    let version = replaced.resource_version();
    let same = api
        .patch_status("w", &PatchParams::default(), &Patch::Merge(json!({"status": {"ready": true}})))
        .await
        .unwrap();
    assert_eq!(same.resource_version(), version, "a write that changes nothing keeps the resourceVersion");
}

#[tokio::test]
async fn server_side_apply_records_managers_detects_conflicts_and_removes_dropped_fields() {
    let fake = server();
    let api: Api<Widget> = Api::default_namespaced(fake.client());
    let applied = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "labels": {"team": "a"}},
        "spec": {"size": 1, "note": "hello"}
    });
    let created = api.patch("w", &PatchParams::apply("manager-a"), &Patch::Apply(&applied)).await.unwrap();
    assert_eq!(created.spec.note.as_deref(), Some("hello"), "apply creates a missing object");
    let managers: Vec<_> = created
        .managed_fields()
        .iter()
        .map(|entry| (entry.manager.clone().unwrap_or_default(), entry.operation.clone().unwrap_or_default()))
        .collect();
    assert_eq!(managers, vec![("manager-a".to_string(), "Apply".to_string())]);

    let other =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 7}});
    let (code, reason, message) =
        api_error(api.patch("w", &PatchParams::apply("manager-b"), &Patch::Apply(&other)).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(message, "Apply failed with 1 conflict: conflict with \"manager-a\": .spec.size");

    let forced = api.patch("w", &PatchParams::apply("manager-b").force(), &Patch::Apply(&other)).await.unwrap();
    assert_eq!(forced.spec.size, 7);

    // manager-a drops `note` and `size` (now owned by b) from its configuration: note goes, size stays.
    let reduced = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"team": "a"}}, "spec": {}});
    let after = api.patch("w", &PatchParams::apply("manager-a"), &Patch::Apply(&reduced)).await.unwrap();
    assert_eq!(after.spec.note, None);
    assert_eq!(after.spec.size, 7);
    assert_eq!(after.labels().get("team").map(String::as_str), Some("a"));

    let version = after.resource_version();
    let again = api.patch("w", &PatchParams::apply("manager-a"), &Patch::Apply(&reduced)).await.unwrap();
    assert_eq!(again.resource_version(), version, "re-applying the same configuration is a no-op");
}

#[tokio::test]
async fn server_side_apply_of_status_changes_only_status() {
    let fake = server();
    let api: Api<Widget> = Api::default_namespaced(fake.client());
    api.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let status = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": 100},
        "status": {"ready": true, "observedGeneration": 1}});
    let written =
        api.patch_status("w", &PatchParams::apply("controller").force(), &Patch::Apply(&status)).await.unwrap();
    assert_eq!(written.status.as_ref().map(|s| s.ready), Some(true));
    assert_eq!(written.spec.size, 1);
    let entry =
        written.managed_fields().iter().find(|entry| entry.manager.as_deref() == Some("controller")).cloned().unwrap();
    assert_eq!(entry.subresource.as_deref(), Some("status"));
}

#[tokio::test]
async fn apply_without_a_field_manager_is_refused_by_the_server() {
    let fake = FakeApiServer::new();
    let request = http::Request::patch("/api/v1/namespaces/default/configmaps/a")
        .header("content-type", "application/apply-patch+yaml")
        .body(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#.to_vec())
        .unwrap();
    let result = fake.client().request::<ConfigMap>(request).await;
    let (code, _, message) = api_error(result);
    assert_eq!(code, 400);
    assert!(message.contains("fieldManager: Required value"), "{message}");
}

#[tokio::test]
async fn json_patch_with_test_operations_as_kube_finalizers_send_them() {
    let fake = server();
    let api: Api<Widget> = Api::default_namespaced(fake.client());
    api.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let add_first: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/cleanup"]}
    ]))
    .unwrap();
    let patched = api.patch("w", &PatchParams::default(), &Patch::Json::<()>(add_first.clone())).await.unwrap();
    assert_eq!(patched.finalizers(), ["example.com/cleanup"]);
    let (code, _, message) = api_error(api.patch("w", &PatchParams::default(), &Patch::Json::<()>(add_first)).await);
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("test"), "{message}");
}

#[tokio::test]
async fn strategic_merge_is_for_built_in_kinds_only() {
    let fake = server();
    let configmaps: Api<ConfigMap> = Api::default_namespaced(fake.client());
    configmaps.create(&PostParams::default(), &configmap("a", &[("x", "1")])).await.unwrap();
    let merged =
        configmaps.patch("a", &PatchParams::default(), &Patch::Strategic(json!({"data": {"y": "2"}}))).await.unwrap();
    assert_eq!(merged.data.unwrap().len(), 2);
    let widgets: Api<Widget> = Api::default_namespaced(fake.client());
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let (code, _, _) =
        api_error(widgets.patch("w", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"size": 2}}))).await);
    assert_eq!(code, 415);
}

#[tokio::test]
async fn a_configmap_over_one_mebibyte_is_refused_and_the_stored_one_kept() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let too_big = "x".repeat(1024 * 1024);
    let (code, reason, message) =
        api_error(api.create(&PostParams::default(), &configmap("big", &[("registry.json", &too_big)])).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert_eq!(message, "ConfigMap \"big\" is invalid: []: Too long: must have at most 1048576 bytes");

    let fits = "x".repeat(1024 * 1024 - 100);
    let stored = api.create(&PostParams::default(), &configmap("big", &[("registry.json", &fits)])).await.unwrap();
    let (code, _, _) = api_error(
        api.patch("big", &PatchParams::default(), &Patch::Merge(json!({"data": {"more": "y".repeat(200)}}))).await,
    );
    assert_eq!(code, 422);
    let kept = fake.get::<ConfigMap>("default", "big").unwrap().unwrap();
    assert_eq!(kept.resource_version(), stored.resource_version());
    assert_eq!(kept.data.unwrap().len(), 1);
}

#[tokio::test]
async fn objects_over_the_storage_limit_are_refused_like_etcd_does() {
    let fake = server();
    let api: Api<Widget> = Api::default_namespaced(fake.client());
    let mut huge = widget("w", 1);
    huge.spec.note = Some("n".repeat(1_600_000));
    let (code, reason, message) = api_error(api.create(&PostParams::default(), &huge).await);
    assert_eq!(
        (code, reason.as_str(), message.as_str()),
        (413, "RequestEntityTooLarge", "etcdserver: request is too large")
    );

    let secrets: Api<Secret> = Api::default_namespaced(fake.client());
    let body = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"a": "z".repeat(3 * 1024 * 1024 + 1)}});
    let (code, _, message) =
        api_error(secrets.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await);
    assert_eq!(code, 413);
    assert_eq!(message, "Request entity too large: limit is 3145728");
}

#[tokio::test]
async fn names_and_namespaces_are_checked() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let (code, reason, message) = api_error(api.create(&PostParams::default(), &configmap("Bad_Name", &[])).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert!(message.contains("metadata.name: Invalid value: \"Bad_Name\""), "{message}");

    let elsewhere: Api<ConfigMap> = Api::namespaced(fake.client(), "nope");
    let (code, _, message) = api_error(elsewhere.create(&PostParams::default(), &configmap("a", &[])).await);
    assert_eq!((code, message.as_str()), (404, "namespaces \"nope\" not found"));

    let namespaces: Api<Namespace> = Api::all(fake.client());
    let created = namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "nope"}})).unwrap())
        .await
        .unwrap();
    assert_eq!(created.labels().get("kubernetes.io/metadata.name").map(String::as_str), Some("nope"));
    elsewhere.create(&PostParams::default(), &configmap("a", &[])).await.unwrap();
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let fake = server();
    let api: Api<Widget> = Api::default_namespaced(fake.client());
    let mut held = widget("w", 1);
    held.metadata.finalizers = Some(vec!["example.com/cleanup".to_string()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    let answer = api.delete("w", &DeleteParams::default()).await.unwrap();
    let marked = answer.left().unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert!(api.get("w").await.is_ok(), "the object stays while it has finalizers");

    let (code, _, message) = api_error(
        api.patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/cleanup", "new"]}})),
        )
        .await,
    );
    assert_eq!(code, 422);
    assert!(message.contains("no new finalizers can be added"), "{message}");

    api.patch("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await.unwrap();
    assert_eq!(api_error(api.get("w").await).0, 404);
}

fn owned_configmap(name: &str, owners: &[&Widget]) -> ConfigMap {
    let mut owned = configmap(name, &[]);
    owned.metadata.owner_references = Some(
        owners
            .iter()
            .map(|owner| owner.controller_owner_ref(&()).expect("a created widget has a name and uid"))
            .collect(),
    );
    owned
}

#[tokio::test]
async fn deleting_an_owner_garbage_collects_its_dependents() {
    let fake = server();
    let widgets: Api<Widget> = Api::default_namespaced(fake.client());
    let configmaps: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let first = widgets.create(&PostParams::default(), &widget("first", 1)).await.unwrap();
    let second = widgets.create(&PostParams::default(), &widget("second", 1)).await.unwrap();
    configmaps.create(&PostParams::default(), &owned_configmap("only-first", &[&first])).await.unwrap();
    configmaps.create(&PostParams::default(), &owned_configmap("both", &[&first, &second])).await.unwrap();

    widgets.delete("first", &DeleteParams::default()).await.unwrap();
    assert_eq!(api_error(configmaps.get("only-first").await).0, 404);
    let both = configmaps.get("both").await.unwrap();
    assert_eq!(both.owner_references().len(), 1, "the dangling owner reference is removed");
    assert_eq!(both.owner_references()[0].uid, second.uid().unwrap());

    let orphan = DeleteParams { propagation_policy: Some(PropagationPolicy::Orphan), ..DeleteParams::default() };
    widgets.delete("second", &orphan).await.unwrap();
    let kept = configmaps.get("both").await.unwrap();
    assert!(kept.owner_references().is_empty(), "orphaned dependents stay, without the owner reference");
}

#[tokio::test]
async fn owners_with_finalizers_collect_dependents_once_really_gone() {
    let fake = server();
    let widgets: Api<Widget> = Api::default_namespaced(fake.client());
    let configmaps: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let mut held = widget("w", 1);
    held.metadata.finalizers = Some(vec!["example.com/cleanup".to_string()]);
    let owner = widgets.create(&PostParams::default(), &held).await.unwrap();
    configmaps.create(&PostParams::default(), &owned_configmap("dependent", &[&owner])).await.unwrap();
    widgets.delete("w", &DeleteParams::default()).await.unwrap();
    assert!(configmaps.get("dependent").await.is_ok(), "dependents stay while the owner is terminating");
    widgets.patch("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": []}}))).await.unwrap();
    assert_eq!(api_error(configmaps.get("dependent").await).0, 404);
}

#[tokio::test]
async fn list_filters_by_labels_and_fields_and_pages() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    for (index, tier) in ["a", "b", "a", "c", "a"].iter().enumerate() {
        let mut object = configmap(&format!("cm-{index}"), &[]);
        object.metadata.labels = Some([("tier".to_string(), tier.to_string())].into());
        api.create(&PostParams::default(), &object).await.unwrap();
    }
    let names =
        |list: kube::api::ObjectList<ConfigMap>| list.items.iter().map(ResourceExt::name_any).collect::<Vec<_>>();
    assert_eq!(names(api.list(&ListParams::default().labels("tier=a")).await.unwrap()), ["cm-0", "cm-2", "cm-4"]);
    assert_eq!(names(api.list(&ListParams::default().labels("tier in (b,c)")).await.unwrap()), ["cm-1", "cm-3"]);
    assert_eq!(names(api.list(&ListParams::default().labels("tier!=a")).await.unwrap()), ["cm-1", "cm-3"]);
    assert_eq!(names(api.list(&ListParams::default().fields("metadata.name=cm-3")).await.unwrap()), ["cm-3"]);
    let (code, _, message) = api_error(api.list(&ListParams::default().fields("data.x=1")).await);
    assert_eq!((code, message.as_str()), (400, "field label not supported: data.x"));

    let mut pages = Vec::new();
    let mut params = ListParams::default().limit(2);
    loop {
        let page = api.list(&params).await.unwrap();
        let next = page.metadata.continue_.clone().filter(|token| !token.is_empty());
        pages.push(names(page));
        match next {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(pages, vec![vec!["cm-0", "cm-1"], vec!["cm-2", "cm-3"], vec!["cm-4"]]);
}

#[tokio::test]
async fn metadata_requests_answer_partial_object_metadata() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    api.create(&PostParams::default(), &configmap("a", &[("secret-ish", "value")])).await.unwrap();
    let metadata = api.get_metadata("a").await.unwrap();
    assert_eq!(metadata.metadata.name.as_deref(), Some("a"));
    assert_eq!(metadata.types.map(|t| t.kind), Some("PartialObjectMetadata".to_string()));
    assert_eq!(api.list_metadata(&ListParams::default()).await.unwrap().items.len(), 1);
}

fn summary(record: &RequestRecord) -> (Verb, String, String, Option<String>, Option<String>, u16) {
    (
        record.verb,
        record.group.clone(),
        record.rbac_resource(),
        record.namespace.clone(),
        record.name.clone(),
        record.code,
    )
}

#[tokio::test]
async fn the_request_log_names_verb_group_resource_subresource_and_namespace() {
    let fake = server();
    let widgets: Api<Widget> = Api::default_namespaced(fake.client_as("operator"));
    let configmaps: Api<ConfigMap> = Api::all(fake.client_as("operator"));
    let _ = widgets.get("w").await;
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    widgets
        .patch_status(
            "w",
            &PatchParams::apply("op").force(),
            &Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Widget", "status": {"ready": true}})),
        )
        .await
        .unwrap();
    configmaps.list(&ListParams::default()).await.unwrap();
    widgets.delete("w", &DeleteParams::default()).await.unwrap();
    let by_test: Api<ConfigMap> = Api::default_namespaced(fake.client());
    by_test.list(&ListParams::default()).await.unwrap();

    let operator: Vec<_> = fake.requests().iter().filter(|r| r.client == "operator").map(summary).collect();
    let ns = Some("default".to_string());
    let w = Some("w".to_string());
    let group = "example.com".to_string();
    assert_eq!(
        operator,
        vec![
            (Verb::Get, group.clone(), "widgets".to_string(), ns.clone(), w.clone(), 404),
            (Verb::Create, group.clone(), "widgets".to_string(), ns.clone(), None, 201),
            (Verb::Patch, group.clone(), "widgets/status".to_string(), ns.clone(), w.clone(), 200),
            (Verb::List, String::new(), "configmaps".to_string(), None, None, 200),
            (Verb::Delete, group, "widgets".to_string(), ns, w, 200),
        ]
    );
    let patch = fake.requests().into_iter().find(|r| r.verb == Verb::Patch).unwrap();
    assert_eq!(patch.patch, Some(thv_kube_fake::PatchType::Apply));
    assert_eq!(fake.requests().iter().filter(|r| r.client == "default").count(), 1);
}

#[tokio::test]
async fn injected_failures_hit_the_next_matching_requests_only() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    api.create(&PostParams::default(), &configmap("a", &[])).await.unwrap();
    fake.inject(Fault::fail(503).on(Verb::Patch, "configmaps").times(2));
    let patch = Patch::Merge(json!({"data": {"k": "v"}}));
    for _ in 0..2 {
        let (code, reason, _) = api_error(api.patch("a", &PatchParams::default(), &patch).await);
        assert_eq!((code, reason.as_str()), (503, "ServiceUnavailable"));
    }
    assert!(api.get("a").await.is_ok(), "other verbs are not affected");
    api.patch("a", &PatchParams::default(), &patch).await.unwrap();
    let codes: Vec<u16> = fake.requests().iter().filter(|r| r.verb == Verb::Patch).map(|r| r.code).collect();
    assert_eq!(codes, [503, 503, 200]);
}

#[tokio::test]
async fn injected_latency_delays_matching_requests() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    fake.inject(Fault::delay(Duration::from_millis(300)).on(Verb::List, "configmaps").times(1));
    let started = Instant::now();
    api.list(&ListParams::default()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    api.list(&ListParams::default()).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300), "the fault was used up");
}

#[tokio::test]
async fn wait_for_returns_once_the_predicate_holds_or_times_out() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        api.create(&PostParams::default(), &configmap("later", &[("k", "v")])).await.unwrap();
    });
    let found =
        fake.wait_for::<ConfigMap>("default", "later", Duration::from_secs(5), |cm| cm.is_some()).await.unwrap();
    assert_eq!(found.unwrap().data.unwrap()["k"], "v");
    writer.await.unwrap();
    let timed_out = fake.wait_for::<ConfigMap>("default", "never", Duration::from_millis(50), |cm| cm.is_some()).await;
    assert!(matches!(timed_out, Err(FakeError::Timeout { .. })), "{timed_out:?}");
}

#[tokio::test]
async fn seeded_objects_are_stored_without_a_log_entry() {
    let fake = server();
    let mut seeded = widget("seeded", 4);
    seeded.metadata.namespace = Some("team-a".to_string());
    let stored = fake.seed(&seeded).unwrap();
    assert_eq!(stored.metadata.generation, Some(1));
    assert!(fake.requests().is_empty());
    let api: Api<Widget> = Api::namespaced(fake.client(), "team-a");
    assert_eq!(api.get("seeded").await.unwrap().spec.size, 4);
    assert!(fake.get::<Namespace>("", "team-a").unwrap().is_some(), "seeding creates the namespace");
    assert!(matches!(fake.get::<k8s_openapi::api::apps::v1::StatefulSet>("x", "y"), Err(FakeError::UnknownKind(_))));
}

#[tokio::test]
async fn creating_a_crd_through_the_api_serves_its_kind() {
    use kube::CustomResourceExt;
    let fake = FakeApiServer::new();
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(fake.client());
    let widgets: Api<Widget> = Api::default_namespaced(fake.client());
    assert_eq!(api_error(widgets.list(&ListParams::default()).await).0, 404);
    crds.create(&PostParams::default(), &Widget::crd()).await.unwrap();
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    assert_eq!(widgets.list(&ListParams::default()).await.unwrap().items.len(), 1);
    assert_eq!(Widget::crd().meta().name.as_deref(), Some("widgets.example.com"));
}

#[tokio::test]
async fn the_event_recorder_creates_then_patches_a_series() {
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    let fake = server();
    let widgets: Api<Widget> = Api::default_namespaced(fake.client());
    let created = widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let reporter = Reporter { controller: "widget-controller".to_string(), instance: None };
    let recorder = Recorder::new(fake.client_as("controller"), reporter);
    let event = Event {
        type_: EventType::Warning,
        reason: "SourceNotFound".to_string(),
        note: Some("ConfigMap default/missing not found".to_string()),
        action: "Sync".to_string(),
        secondary: None,
    };
    let reference = created.object_ref(&());
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let stored = fake.list::<k8s_openapi::api::events::v1::Event>().unwrap();
    assert_eq!(stored.len(), 1, "a repeat is a series on the same Event");
    assert_eq!(stored[0].reason.as_deref(), Some("SourceNotFound"));
    assert_eq!(stored[0].series.as_ref().map(|series| series.count), Some(2));
    let verbs: Vec<Verb> = fake
        .requests()
        .iter()
        .filter(|r| r.client == "controller")
        .map(|r| {
            assert_eq!((r.group.as_str(), r.resource.as_str()), ("events.k8s.io", "events"));
            r.verb
        })
        .collect();
    assert_eq!(verbs, [Verb::Create, Verb::Patch]);
}

#[tokio::test]
async fn kube_runtime_finalizer_adds_runs_cleanup_and_removes_its_finalizer() {
    use kube::runtime::controller::Action;
    use kube::runtime::finalizer::{Event as Finalizer, finalizer};
    use std::sync::Arc;
    let fake = server();
    let api: Api<Widget> = Api::default_namespaced(fake.client());
    api.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let step = |object: Widget| {
        let api = api.clone();
        async move {
            finalizer(&api, "example.com/cleanup", Arc::new(object), |event| async move {
                Ok::<_, std::convert::Infallible>(match event {
                    Finalizer::Apply(_) => Action::requeue(Duration::from_secs(1)),
                    Finalizer::Cleanup(_) => Action::await_change(),
                })
            })
            .await
        }
    };
    step(api.get("w").await.unwrap()).await.unwrap();
    assert_eq!(api.get("w").await.unwrap().finalizers(), ["example.com/cleanup"]);
    step(api.get("w").await.unwrap()).await.unwrap();
    api.delete("w", &DeleteParams::default()).await.unwrap();
    let terminating = api.get("w").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    step(terminating).await.unwrap();
    assert_eq!(api_error(api.get("w").await).0, 404, "cleanup removed the finalizer and the object went");
}
