//! Watches through a real `kube::Client`: raw `Api::watch` streams (order, resume, 410, bookmarks, timeout,
//! selector transitions) and kube-runtime's `watcher` (list-then-watch, streaming lists, recovery from 410).

mod common;

use std::time::Duration;

use common::configmap;
use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use thv_kube_fake::FakeApiServer;

const STEP: Duration = Duration::from_secs(5);

async fn next<S, T>(stream: &mut S) -> T
where
    S: Stream<Item = T> + Unpin,
{
    tokio::time::timeout(STEP, stream.next())
        .await
        .expect("the stream produced nothing within 5 s")
        .expect("the stream ended")
}

fn describe(event: &WatchEvent<ConfigMap>) -> String {
    match event {
        WatchEvent::Added(object) => format!("ADDED {}", object.name_any()),
        WatchEvent::Modified(object) => format!("MODIFIED {}", object.name_any()),
        WatchEvent::Deleted(object) => format!("DELETED {}", object.name_any()),
        WatchEvent::Bookmark(bookmark) => format!("BOOKMARK {}", bookmark.metadata.resource_version),
        WatchEvent::Error(status) => format!("ERROR {} {}", status.code, status.reason),
    }
}

fn describe_runtime(event: &Event<ConfigMap>) -> String {
    match event {
        Event::Init => "Init".to_string(),
        Event::InitApply(object) => format!("InitApply {}", object.name_any()),
        Event::InitDone => "InitDone".to_string(),
        Event::Apply(object) => format!("Apply {}", object.name_any()),
        Event::Delete(object) => format!("Delete {}", object.name_any()),
    }
}

#[tokio::test]
async fn a_watch_sends_added_modified_deleted_in_order_from_its_resource_version() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let from = fake.resource_version().to_string();
    let stream = api.watch(&WatchParams::default(), &from).await.unwrap();
    let mut stream = Box::pin(stream);
    api.create(&PostParams::default(), &configmap("a", &[])).await.unwrap();
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "v"}}))).await.unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next(&mut stream).await.unwrap()));
    }
    assert_eq!(seen, ["ADDED a", "MODIFIED a", "DELETED a"]);
}

#[tokio::test]
async fn a_watch_resumes_after_a_restart_from_a_resource_version() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let first = api.create(&PostParams::default(), &configmap("a", &[])).await.unwrap();
    let resume_from = first.resource_version().unwrap();
    // Changes made while nobody watched are replayed, only those after the resource version.
    api.create(&PostParams::default(), &configmap("b", &[])).await.unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let secrets: Api<Secret> = Api::default_namespaced(fake.client());
    secrets
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "s"}})).unwrap())
        .await
        .unwrap();
    let mut stream = Box::pin(api.watch(&WatchParams::default(), &resume_from).await.unwrap());
    let seen = [describe(&next(&mut stream).await.unwrap()), describe(&next(&mut stream).await.unwrap())];
    assert_eq!(seen, ["ADDED b", "DELETED a"]);
}

#[tokio::test]
async fn a_watch_from_a_compacted_resource_version_gets_410_expired() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let old = api.create(&PostParams::default(), &configmap("a", &[])).await.unwrap();
    api.create(&PostParams::default(), &configmap("b", &[])).await.unwrap();
    fake.compact();
    let mut stream = Box::pin(api.watch(&WatchParams::default(), &old.resource_version().unwrap()).await.unwrap());
    match next(&mut stream).await.unwrap() {
        WatchEvent::Error(status) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
            assert!(status.message.starts_with("too old resource version"), "{}", status.message);
        }
        other => panic!("expected a 410 error event, got {}", describe(&other)),
    }
    assert!(tokio::time::timeout(STEP, stream.next()).await.unwrap().is_none(), "the watch ends after the error");
}

#[tokio::test]
async fn bookmarks_carry_the_current_resource_version_when_asked_for() {
    let fake = FakeApiServer::builder().bookmark_interval(Duration::from_millis(100)).build();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let secrets: Api<Secret> = Api::default_namespaced(fake.client());
    let from = fake.resource_version().to_string();
    let mut stream = Box::pin(api.watch(&WatchParams::default(), &from).await.unwrap());
    secrets
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "s"}})).unwrap())
        .await
        .unwrap();
    let expected = fake.resource_version();
    // A bookmark may come before the Secret was written; bookmarks then move past other kinds' changes.
    loop {
        match next(&mut stream).await.unwrap() {
            WatchEvent::Bookmark(bookmark) => {
                let version: u64 = bookmark.metadata.resource_version.parse().unwrap();
                assert!(version <= expected, "{version} > {expected}");
                if version == expected {
                    break;
                }
            }
            other => panic!("only bookmarks expected, got {}", describe(&other)),
        }
    }

    let without = WatchParams { bookmarks: false, timeout: Some(1), ..WatchParams::default() };
    let quiet: Vec<_> = api.watch(&without, &from).await.unwrap().try_collect().await.unwrap();
    assert!(quiet.is_empty(), "no bookmarks unless asked for: {}", quiet.len());
}

#[tokio::test]
async fn a_watch_ends_after_its_timeout() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let started = std::time::Instant::now();
    let stream = api.watch(&WatchParams::default().timeout(1), "0").await.unwrap();
    let events: Vec<_> = tokio::time::timeout(STEP, stream.try_collect::<Vec<_>>()).await.unwrap().unwrap();
    assert!(events.is_empty());
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn objects_entering_and_leaving_a_label_selector_are_added_and_deleted() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let params = WatchParams::default().labels("app=web");
    let from = fake.resource_version().to_string();
    let mut stream = Box::pin(api.watch(&params, &from).await.unwrap());
    api.create(&PostParams::default(), &configmap("a", &[])).await.unwrap();
    let label = |value: Option<&str>| Patch::Merge(json!({"metadata": {"labels": {"app": value}}}));
    api.patch("a", &PatchParams::default(), &label(Some("web"))).await.unwrap();
    api.patch("a", &PatchParams::default(), &label(Some("db"))).await.unwrap();
    api.patch("a", &PatchParams::default(), &label(Some("web"))).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next(&mut stream).await.unwrap()));
    }
    assert_eq!(seen, ["ADDED a", "DELETED a", "ADDED a"]);
}

#[tokio::test]
async fn kube_runtime_watcher_lists_then_watches_in_order() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    api.create(&PostParams::default(), &configmap("existing", &[])).await.unwrap();
    let mut events = Box::pin(watcher::watcher(api.clone(), watcher::Config::default()));
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe_runtime(&next(&mut events).await.unwrap()));
    }
    assert_eq!(seen, ["Init", "InitApply existing", "InitDone"]);
    api.create(&PostParams::default(), &configmap("new", &[])).await.unwrap();
    api.patch("new", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "v"}}))).await.unwrap();
    api.delete("existing", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe_runtime(&next(&mut events).await.unwrap()));
    }
    assert_eq!(seen, ["Apply new", "Apply new", "Delete existing"]);
}

#[tokio::test]
async fn kube_runtime_watcher_with_streaming_lists_gets_initial_events_then_changes() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    api.create(&PostParams::default(), &configmap("existing", &[])).await.unwrap();
    let mut events = Box::pin(watcher::watcher(api.clone(), watcher::Config::default().streaming_lists()));
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe_runtime(&next(&mut events).await.unwrap()));
    }
    assert_eq!(seen, ["Init", "InitApply existing", "InitDone"]);
    api.create(&PostParams::default(), &configmap("new", &[])).await.unwrap();
    assert_eq!(describe_runtime(&next(&mut events).await.unwrap()), "Apply new");
}

#[tokio::test]
async fn kube_runtime_watcher_relists_after_410() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let secrets: Api<Secret> = Api::default_namespaced(fake.client());
    // Watches of one second, so the watcher re-watches from its last resource version soon.
    let config = watcher::Config::default().timeout(1);
    let mut events = Box::pin(watcher::watcher(api.clone(), config));
    for expected in ["Init", "InitDone"] {
        assert_eq!(describe_runtime(&next(&mut events).await.unwrap()), expected);
    }
    api.create(&PostParams::default(), &configmap("a", &[])).await.unwrap();
    assert_eq!(describe_runtime(&next(&mut events).await.unwrap()), "Apply a");
    // Other kinds move the global resource version; compaction then makes the watcher's version too old.
    secrets
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "s"}})).unwrap())
        .await
        .unwrap();
    fake.compact();
    match tokio::time::timeout(STEP, events.next()).await.unwrap().unwrap() {
        Err(watcher::Error::WatchError(status)) => assert_eq!(status.code, 410),
        other => panic!("expected the 410 watch error, got {other:?}"),
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe_runtime(&next(&mut events).await.unwrap()));
    }
    assert_eq!(seen, ["Init", "InitApply a", "InitDone"], "the watcher lists again");
    let watches = fake.requests().iter().filter(|r| r.verb == thv_kube_fake::Verb::Watch).count();
    assert!(watches >= 2, "{watches}");
}

#[tokio::test]
async fn metadata_watcher_sees_partial_objects() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::default_namespaced(fake.client());
    let metadata: Api<PartialObjectMeta<ConfigMap>> = Api::default_namespaced(fake.client());
    let mut events = Box::pin(watcher::watcher(metadata, watcher::Config::default()));
    for expected in ["Init", "InitDone"] {
        let event = next(&mut events).await.unwrap();
        assert_eq!(format!("{event:?}").split('(').next().unwrap_or_default(), expected);
    }
    api.create(&PostParams::default(), &configmap("a", &[("k", "v")])).await.unwrap();
    match next(&mut events).await.unwrap() {
        Event::Apply(object) => {
            assert_eq!(object.metadata.name.as_deref(), Some("a"));
            assert_eq!(object.types.map(|t| t.kind), Some("PartialObjectMetadata".to_string()));
        }
        other => panic!("expected an Apply, got {other:?}"),
    }
}
