//! The fake over loopback HTTP, reached as a separate process would: a `kube::Client` built from the
//! kubeconfig the listener writes.

mod common;

use std::time::Duration;

use common::configmap;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use thv_kube_fake::{FakeApiServer, Fault, HttpListener, Verb};

async fn client(listener: &HttpListener, namespace: &str, token: &str) -> kube::Client {
    let kubeconfig = Kubeconfig::from_yaml(&listener.kubeconfig("fake", namespace, token)).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("config");
    assert_eq!(config.default_namespace, namespace);
    kube::Client::try_from(config).expect("client")
}

#[tokio::test]
async fn a_kubeconfig_client_reads_writes_and_watches_over_http() {
    let fake = FakeApiServer::new();
    let listener = fake.listen_http().await.expect("listen");
    assert!(listener.url().starts_with("http://127.0.0.1:"), "{}", listener.url());
    let client = client(&listener, "kube-system", "alice").await;
    let version = client.apiserver_version().await.expect("discovery over HTTP");
    assert!(!version.git_version.is_empty());

    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &configmap("a", &[("k", "v")])).await.expect("create over HTTP");
    let stored: Option<ConfigMap> = fake.get("kube-system", "a").expect("get");
    assert_eq!(stored.and_then(|cm| cm.data).and_then(|d| d.get("k").cloned()).as_deref(), Some("v"));
    let create = fake.requests().into_iter().find(|r| r.verb == Verb::Create).expect("logged");
    assert_eq!(create.client, "alice", "the bearer token is the client name");

    // A watch streams over the connection: the seeded object arrives, then a later one.
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(&"b".to_string()) {
        let event = tokio::time::timeout_at(deadline, events.next()).await.expect("events in time");
        match event.expect("stream open").expect("event") {
            watcher::Event::InitDone => {
                fake.seed(&{
                    let mut cm = configmap("b", &[]);
                    cm.metadata.namespace = Some("kube-system".into());
                    cm
                })
                .expect("seed");
            }
            watcher::Event::Apply(cm) | watcher::Event::InitApply(cm) => {
                seen.push(cm.metadata.name.unwrap_or_default())
            }
            _ => {}
        }
    }
    assert_eq!(seen, ["a", "b"]);
}

#[tokio::test]
async fn a_forbidden_fault_refuses_one_user_with_the_rbac_wording() {
    let fake = FakeApiServer::new();
    fake.inject(Fault::forbidden().from_client("bob").on(Verb::List, "configmaps"));
    let listener = fake.listen_http().await.expect("listen");

    let bob: Api<ConfigMap> = Api::default_namespaced(client(&listener, "team-a", "bob").await);
    match bob.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403);
            assert_eq!(status.reason, "Forbidden");
            assert_eq!(
                status.message,
                "configmaps is forbidden: User \"bob\" cannot list resource \"configmaps\" in API group \"\" in \
                 the namespace \"team-a\""
            );
        }
        other => panic!("expected 403, got {other:?}"),
    }
    let alice: Api<ConfigMap> = Api::default_namespaced(client(&listener, "team-a", "alice").await);
    alice.list(&ListParams::default()).await.expect("another user is allowed");
}

#[tokio::test]
async fn dropping_the_listener_stops_serving() {
    let fake = FakeApiServer::new();
    let listener = fake.listen_http().await.expect("listen");
    let address = listener.address();
    drop(listener);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(address).await.is_err(), "the port is closed");
}
