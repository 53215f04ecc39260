//! A real kube-runtime `Controller` over the test `Widget` kind, owning one ConfigMap per widget, runs
//! against the fake: it reconciles new objects, re-reconciles when an owned ConfigMap is edited or the spec
//! changes, retries a failed write, and the owned ConfigMap is garbage-collected with its widget.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Widget, configmap, server, widget};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use thv_kube_fake::{FakeApiServer, Fault, Verb};
use tokio::task::JoinHandle;

const MANAGER: &str = "widget-controller";
const WAIT: Duration = Duration::from_secs(10);

struct Context {
    client: Client,
    reconciles: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("widget without namespace or uid")]
    Incomplete,
}

async fn reconcile(widget: Arc<Widget>, context: Arc<Context>) -> Result<Action, Error> {
    context.reconciles.fetch_add(1, Ordering::SeqCst);
    let namespace = widget.namespace().ok_or(Error::Incomplete)?;
    let name = widget.name_any();
    let mut owned = configmap(&format!("{name}-data"), &[("size", &widget.spec.size.to_string())]);
    owned.metadata.owner_references = Some(vec![widget.controller_owner_ref(&()).ok_or(Error::Incomplete)?]);
    let configmaps: Api<ConfigMap> = Api::namespaced(context.client.clone(), &namespace);
    configmaps.patch(&owned.name_any(), &PatchParams::apply(MANAGER).force(), &Patch::Apply(&owned)).await?;
    let status = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "status": {"ready": true, "observedGeneration": widget.metadata.generation}
    });
    let widgets: Api<Widget> = Api::namespaced(context.client.clone(), &namespace);
    widgets.patch_status(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&status)).await?;
    Ok(Action::await_change())
}

fn error_policy(_: Arc<Widget>, _: &Error, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_millis(50))
}

fn start(fake: &FakeApiServer) -> (Arc<Context>, JoinHandle<()>) {
    let client = fake.client_as("controller");
    let context = Arc::new(Context { client: client.clone(), reconciles: AtomicUsize::new(0) });
    let controller = Controller::new(Api::<Widget>::all(client.clone()), watcher::Config::default())
        .owns(Api::<ConfigMap>::all(client), watcher::Config::default())
        .run(reconcile, error_policy, Arc::clone(&context))
        .for_each(|_| async {});
    (context, tokio::spawn(controller))
}

fn size_of(configmap: Option<&ConfigMap>) -> Option<String> {
    configmap?.data.as_ref()?.get("size").cloned()
}

#[tokio::test]
async fn controller_reconciles_re_reconciles_on_owned_edits_and_dependents_are_collected() {
    let fake = server();
    let (context, controller) = start(&fake);
    let widgets: Api<Widget> = Api::default_namespaced(fake.client_as("user"));
    let configmaps: Api<ConfigMap> = Api::default_namespaced(fake.client_as("user"));

    let created = widgets.create(&PostParams::default(), &widget("w", 3)).await.unwrap();
    let owned = fake
        .wait_for::<ConfigMap>("default", "w-data", WAIT, |cm| size_of(cm).as_deref() == Some("3"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owned.owner_references()[0].uid, created.uid().unwrap());
    let ready = fake
        .wait_for::<Widget>("default", "w", WAIT, |w| {
            w.and_then(|w| w.status.as_ref()).is_some_and(|s| s.ready && s.observed_generation == Some(1))
        })
        .await
        .unwrap();
    assert!(ready.is_some());

    // Someone edits the owned ConfigMap: the controller is triggered through its owner and puts it back.
    let before = context.reconciles.load(Ordering::SeqCst);
    configmaps
        .patch("w-data", &PatchParams::default(), &Patch::Merge(json!({"data": {"size": "tampered"}})))
        .await
        .unwrap();
    fake.wait_for::<ConfigMap>("default", "w-data", WAIT, |cm| size_of(cm).as_deref() == Some("3")).await.unwrap();
    assert!(context.reconciles.load(Ordering::SeqCst) > before);

    // A spec change is a new generation, reconciled into the ConfigMap and observedGeneration.
    widgets.patch("w", &PatchParams::default(), &Patch::Merge(json!({"spec": {"size": 5}}))).await.unwrap();
    fake.wait_for::<ConfigMap>("default", "w-data", WAIT, |cm| size_of(cm).as_deref() == Some("5")).await.unwrap();
    fake.wait_for::<Widget>("default", "w", WAIT, |w| {
        w.and_then(|w| w.status.as_ref()).is_some_and(|s| s.observed_generation == Some(2))
    })
    .await
    .unwrap();

    widgets.delete("w", &DeleteParams::default()).await.unwrap();
    fake.wait_for::<ConfigMap>("default", "w-data", WAIT, |cm| cm.is_none()).await.unwrap();

    // What the controller asked for: the rules its RBAC needs, and nothing else.
    let asked: BTreeSet<(Verb, String, String)> = fake
        .requests()
        .iter()
        .filter(|request| request.client == "controller")
        .map(|request| (request.verb, request.group.clone(), request.rbac_resource()))
        .collect();
    let expected: BTreeSet<(Verb, String, String)> = [
        (Verb::List, "example.com", "widgets"),
        (Verb::Watch, "example.com", "widgets"),
        (Verb::Patch, "example.com", "widgets/status"),
        (Verb::List, "", "configmaps"),
        (Verb::Watch, "", "configmaps"),
        (Verb::Patch, "", "configmaps"),
    ]
    .into_iter()
    .map(|(verb, group, resource)| (verb, group.to_string(), resource.to_string()))
    .collect();
    assert_eq!(asked, expected);
    controller.abort();
}

#[tokio::test]
async fn a_failed_write_is_retried_by_the_controller() {
    let fake = server();
    fake.inject(Fault::fail(500).on(Verb::Patch, "widgets/status").times(1));
    let (_context, controller) = start(&fake);
    let widgets: Api<Widget> = Api::default_namespaced(fake.client_as("user"));
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    fake.wait_for::<Widget>("default", "w", WAIT, |w| w.and_then(|w| w.status.as_ref()).is_some_and(|s| s.ready))
        .await
        .unwrap();
    let codes: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|request| request.rbac_resource() == "widgets/status")
        .map(|request| request.code)
        .collect();
    assert_eq!(codes, [500, 200]);
    controller.abort();
}

#[tokio::test]
async fn many_widgets_are_reconciled() {
    let fake = server();
    let (_context, controller) = start(&fake);
    let widgets: Api<Widget> = Api::default_namespaced(fake.client_as("user"));
    for index in 0..50 {
        widgets.create(&PostParams::default(), &widget(&format!("w{index}"), index)).await.unwrap();
    }
    for index in 0..50 {
        let expected = index.to_string();
        fake.wait_for::<ConfigMap>("default", &format!("w{index}-data"), WAIT, |cm| {
            size_of(cm).as_deref() == Some(expected.as_str())
        })
        .await
        .unwrap();
    }
    assert_eq!(fake.list::<ConfigMap>().unwrap().len(), 50);
    controller.abort();
}
