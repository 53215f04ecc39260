//! `thv_operator::sources` against the fake API server: the ConfigMap source, credentials from Secrets at
//! each fetch (URL and registry-API sources on real loopback HTTP servers; the Git path is covered with a
//! stand-in resolver in `crates/sources/tests/git_source`), and a whole sync from a ConfigMap into the
//! storage ConfigMap.

mod support;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use support::{NAMESPACE, fake, owner, registry};
use thv_kube_fake::{FakeApiServer, Fault, Verb};
use thv_operator::ConfigMapStore;
use thv_operator::sources::build;
use thv_sources::{FetchOutcome, Payload, Source, SourceContext, SourceError, Validators, sha256_revision};
use thv_store::{ChangeKind, FailureKind, Store, SyncOutcome};
use thv_sync::{RegistrySpec, sync_registry};

fn spec(source: serde_json::Value) -> RegistrySpec {
    serde_json::from_value(json!({"name": "platform", "source": source})).expect("spec")
}

fn configmap_spec(name: &str, key: &str) -> RegistrySpec {
    spec(json!({"configMap": {"name": name, "key": key}}))
}

fn ctx() -> SourceContext {
    SourceContext::new(std::env::temp_dir().join("thv-operator-sources-test"), "platform")
}

fn source(fake: &FakeApiServer, spec: &RegistrySpec) -> Box<dyn Source> {
    build(spec, fake.client_as("operator"), NAMESPACE, &ctx()).expect("a source")
}

async fn put_config_map(fake: &FakeApiServer, name: &str, data: &[(&str, &str)], binary: &[(&str, &[u8])]) {
    let mut object = ConfigMap::default();
    object.metadata.name = Some(name.to_owned());
    object.data = Some(data.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
    object.binary_data = Some(binary.iter().map(|(k, v)| ((*k).to_owned(), ByteString(v.to_vec()))).collect());
    let api: Api<ConfigMap> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    api.patch(name, &PatchParams::apply("user").force(), &Patch::Apply(&object)).await.expect("apply the ConfigMap");
}

async fn put_secret(fake: &FakeApiServer, name: &str, data: &[(&str, &str)]) {
    let mut object = Secret::default();
    object.metadata.name = Some(name.to_owned());
    object.data = Some(data.iter().map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec()))).collect());
    let api: Api<Secret> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    api.patch(name, &PatchParams::apply("user").force(), &Patch::Apply(&object)).await.expect("apply the Secret");
}

fn fetched_bytes(outcome: &FetchOutcome) -> (&[u8], &str, &Validators) {
    match outcome {
        FetchOutcome::Fetched(f) => match &f.payload {
            Payload::Full(bytes) => (bytes, &f.revision, &f.validators),
            Payload::Delta(_) => panic!("a ConfigMap is read whole"),
        },
        FetchOutcome::NotModified { .. } => panic!("expected content, got {outcome:?}"),
    }
}

/// A catalog document of one server per name (upstream bare-array form).
fn catalog(names: &[&str]) -> String {
    let records: Vec<_> = names
        .iter()
        .map(|n| {
            json!({"server": {
                "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
                "name": format!("io.example/{n}"), "version": "1.0.0", "description": format!("The {n} server.")
            }})
        })
        .collect();
    serde_json::Value::Array(records).to_string()
}

#[tokio::test]
async fn the_config_map_source_reads_the_key_and_is_unchanged_on_the_same_bytes() {
    let fake = fake();
    put_config_map(&fake, "catalog", &[("registry.json", "[1]"), ("other", "x")], &[("bin.json", b"[2]")]).await;
    let source = source(&fake, &configmap_spec("catalog", "registry.json"));
    assert_eq!(source.describe(), "configmap default/catalog key registry.json");

    let first = source.fetch(None).await.expect("fetch");
    let (bytes, revision, validators) = fetched_bytes(&first);
    assert_eq!((bytes, revision), (b"[1]".as_slice(), sha256_revision(b"[1]").as_str()));
    let validators = validators.clone();
    let again = source.fetch(Some(&validators)).await.expect("fetch");
    assert_eq!(again, FetchOutcome::NotModified { revision: sha256_revision(b"[1]"), validators: validators.clone() });

    put_config_map(&fake, "catalog", &[("registry.json", "[1, 3]")], &[]).await;
    let edited = source.fetch(Some(&validators)).await.expect("fetch");
    assert_eq!(fetched_bytes(&edited).0, b"[1, 3]");

    let binary = self::source(&fake, &configmap_spec("catalog-bin", "bin.json"));
    put_config_map(&fake, "catalog-bin", &[], &[("bin.json", b"[2]")]).await;
    assert_eq!(fetched_bytes(&binary.fetch(None).await.expect("fetch")).0, b"[2]", "binaryData keys are read too");
}

#[tokio::test]
async fn a_missing_config_map_or_key_is_stalled_and_named() {
    let fake = fake();
    let source = source(&fake, &configmap_spec("catalog", "servers.json"));
    let err = source.fetch(None).await.expect_err("missing ConfigMap");
    assert!(matches!(err, SourceError::NotFound { .. }) && !err.is_retryable(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "ConfigMap default/catalog: not found; create it with the catalog under key servers.json"
    );

    put_config_map(&fake, "catalog", &[("registry.json", "[]")], &[]).await;
    let err = source.fetch(None).await.expect_err("missing key");
    assert!(matches!(err, SourceError::NotFound { .. }) && !err.is_retryable(), "{err:?}");
    assert_eq!(err.to_string(), "ConfigMap default/catalog: no key servers.json (it has registry.json)");
}

#[tokio::test]
async fn api_trouble_is_retryable_and_a_refusal_is_stalled() {
    let fake = fake();
    put_config_map(&fake, "catalog", &[("registry.json", "[]")], &[]).await;
    let source = source(&fake, &configmap_spec("catalog", "registry.json"));
    for code in [500, 503, 429] {
        fake.inject(Fault::fail(code).on(Verb::Get, "configmaps").times(1));
        let err = source.fetch(None).await.expect_err("failing API");
        assert!(err.is_retryable(), "{code}: {err}");
        assert!(err.to_string().contains("Kubernetes API server (reading ConfigMap default/catalog)"), "{err}");
    }
    fake.inject(Fault::fail(403).on(Verb::Get, "configmaps").times(1));
    let err = source.fetch(None).await.expect_err("forbidden");
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("grant its ServiceAccount get on configmaps in namespace default"), "{err}");
    assert!(source.fetch(None).await.is_ok(), "passes once the API answers");
}

#[tokio::test]
async fn url_credentials_come_from_the_secret_at_each_fetch_and_never_show() {
    let fake = fake();
    let server = thv_testdata::servers::TestDocumentServer::start(catalog(&["a"]).into_bytes()).await;
    server.require_authorization(Some("Bearer first-token-4711"));
    let spec = spec(json!({"url": {"url": server.url(),
        "auth": {"kubernetesSecret": {"name": "registry-creds", "tokenKey": "token"}}}}));
    let source = source(&fake, &spec);

    let err = source.fetch(None).await.expect_err("no Secret yet");
    assert!(matches!(err, SourceError::CredentialsNotFound { .. }) && !err.is_retryable(), "{err:?}");
    assert_eq!(err.to_string(), "Secret default/registry-creds: not found; create it in the registry's namespace");
    put_secret(&fake, "registry-creds", &[("other", "x")]).await;
    let err = source.fetch(None).await.expect_err("no key");
    assert_eq!(err.to_string(), "Secret default/registry-creds: no key token");

    put_secret(&fake, "registry-creds", &[("token", "first-token-4711\n")]).await;
    assert!(matches!(source.fetch(None).await.expect("fetch"), FetchOutcome::Fetched(_)));

    // Rotated: the server wants the new token, the Secret has it, the same source uses it next time.
    server.require_authorization(Some("Bearer second-token-0815"));
    let err = source.fetch(None).await.expect_err("old token refused");
    assert!(matches!(err, SourceError::Unauthorized { status: 401, .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("first-token"), "{err:?}");
    put_secret(&fake, "registry-creds", &[("token", "second-token-0815")]).await;
    assert!(matches!(source.fetch(None).await.expect("fetch"), FetchOutcome::Fetched(_)));
    assert_eq!(server.counts().0, 3, "each fetch with a Secret reached the server");
}

#[tokio::test]
async fn registry_api_credentials_come_from_the_secret() {
    let fake = fake();
    let record = json!({"server": {"name": "io.example/a", "version": "1.0.0", "description": "A."},
        "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active", "isLatest": true,
            "publishedAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z"}}});
    let options = thv_testdata::servers::ApiOptions { require_token: Some("api-token".into()), ..Default::default() };
    let server = thv_testdata::servers::TestRegistryApi::start(vec![record], options).await;
    put_secret(&fake, "api-creds", &[("token", "api-token")]).await;
    let spec = spec(json!({"registryApi": {"url": server.url(),
        "auth": {"kubernetesSecret": {"name": "api-creds", "tokenKey": "token"}}}}));
    let outcome = source(&fake, &spec).fetch(None).await.expect("fetch with the Secret's token");
    assert!(matches!(outcome, FetchOutcome::Fetched(_)), "{outcome:?}");

    // Without the operator's resolver, the same spec is refused.
    let err = thv_sources::build(&spec.source, &ctx()).expect("build").fetch(None).await.expect_err("refused");
    assert!(err.to_string().contains("only be read by the operator"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_map_syncs_into_the_storage_config_map() {
    let fake = fake();
    let registry = registry(&fake, "platform").await;
    let store = ConfigMapStore::new(fake.client_as("operator"), NAMESPACE, "platform", owner(&registry));
    let spec = configmap_spec("catalog", "registry.json");
    let source = source(&fake, &spec);

    let missing = sync_registry(&spec, source.as_ref(), &store).await;
    assert_eq!((missing.outcome, missing.failure), (SyncOutcome::Failed, Some(FailureKind::Stalled)));
    assert!(missing.error.as_deref().unwrap_or_default().contains("ConfigMap default/catalog: not found"));

    put_config_map(&fake, "catalog", &[("registry.json", &catalog(&["a", "b"]))], &[]).await;
    let first = sync_registry(&spec, source.as_ref(), &store).await;
    assert_eq!(first.outcome, SyncOutcome::Success, "{:?}", first.error);
    assert_eq!(first.counts.added, 2);
    let unchanged = sync_registry(&spec, source.as_ref(), &store).await;
    assert_eq!(unchanged.outcome, SyncOutcome::Unchanged);

    put_config_map(&fake, "catalog", &[("registry.json", &catalog(&["a", "c"]))], &[]).await;
    let edited = sync_registry(&spec, source.as_ref(), &store).await;
    assert_eq!(edited.outcome, SyncOutcome::Success, "{:?}", edited.error);
    let kinds: BTreeMap<String, ChangeKind> = edited.changes.iter().map(|c| (c.name.clone(), c.kind)).collect();
    assert_eq!(kinds.get("io.example/c"), Some(&ChangeKind::Added));
    assert_eq!(kinds.get("io.example/b"), Some(&ChangeKind::Removed));
    let state = store.registry_state("platform").await.expect("state").expect("state");
    assert_eq!(state.revision, Some(sha256_revision(catalog(&["a", "c"]).as_bytes())));

    // The source ConfigMap is deleted: a stalled failure, and the last catalog stays.
    let api: Api<ConfigMap> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    api.delete("catalog", &DeleteParams::default()).await.expect("delete");
    let gone = sync_registry(&spec, source.as_ref(), &store).await;
    assert_eq!((gone.outcome, gone.failure), (SyncOutcome::Failed, Some(FailureKind::Stalled)));
    let names: Vec<String> = store.catalog("platform").await.expect("catalog").into_iter().map(|v| v.name).collect();
    assert_eq!(names, vec!["io.example/a", "io.example/c"]);
}

/// The ConfigMap `thv registry migrate` writes reads back, through the ConfigMap source, as the catalog of the
/// migrated file: ToolHive's catalog as text, the production dump (over the object limit as text)
/// gzip-compressed in `binaryData`.
#[tokio::test]
async fn a_migrated_config_map_reads_back_as_the_same_catalog() {
    use thv_model::detect::FormatHint;
    use thv_model::load::load_bytes;
    use thv_operator::migrate::{Encoding, Target, migrate};
    let fake = fake();
    for (relative, encoding) in
        [(thv_testdata::TOOLHIVE_REGISTRY, Encoding::Text), (thv_testdata::REAL_DUMP, Encoding::Gzip)]
    {
        let Some(path) = thv_testdata::shared_file(relative) else { return };
        let bytes = std::fs::read(&path).expect("read the data");
        let local = spec(json!({"file": {"path": path}}));
        let target = Target { name: "platform".into(), namespace: Some(NAMESPACE.into()), key: "catalog.json".into() };
        let migration = migrate(&local, Some(&bytes), &target).expect("migrated");
        assert_eq!(migration.encoding, Some(encoding), "{relative}");
        let object = migration.config_map.clone().expect("a ConfigMap");
        let api: Api<ConfigMap> = Api::namespaced(fake.client_as("user"), NAMESPACE);
        let name = object.metadata.name.clone().expect("named");
        api.patch(&name, &PatchParams::apply("user").force(), &Patch::Apply(&object)).await.expect("apply");
        let (local_back, _) = thv_operator::convert::to_local("platform", &migration.registry.spec).expect("local");
        let outcome = source(&fake, &local_back).fetch(None).await.expect("fetched");
        let (read, _, _) = fetched_bytes(&outcome);
        let original = load_bytes(&bytes, FormatHint::Auto).expect("original");
        let migrated = load_bytes(read, FormatHint::Auto).expect("migrated");
        assert_eq!(migrated.catalog, original.catalog, "{relative}");
        assert!(!original.catalog.entries.is_empty());
    }
}
