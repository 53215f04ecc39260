//! The one conversion between an MCPRegistry spec and a local registry: lossless both ways where the local side
//! can hold the spec, and a clear error naming the field where it cannot.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use thv_operator::McpRegistrySpec;
use thv_operator::convert::{ClusterSettings, ConversionError, from_local, to_local};
use thv_sources::{AuthSpec, GitRef, KubernetesSecretAuth, SecretRef, SourceSpec};
use thv_sync::RegistrySpec;

/// A spec as an API server stores it: every default written out.
fn spec(value: serde_json::Value) -> McpRegistrySpec {
    let object = json!({"apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistry",
        "metadata": {"name": "platform"}, "spec": value});
    let defaulted = kube::core::cel::apply_defaults(&thv_operator::reference::crd_schema(), &object);
    serde_json::from_value(defaulted["spec"].clone()).expect("spec")
}

fn local(yaml: &str) -> RegistrySpec {
    serde_saphyr::from_str(yaml).expect("local registry")
}

#[test]
fn every_source_type_survives_a_round_trip_through_the_local_spec() {
    let specs = [
        spec(json!({"displayName": "Platform", "description": "Hand-kept", "format": "toolhive",
            "source": {"type": "configmap", "configMap": {"name": "platform-catalog", "key": "catalog.json"}},
            "suspend": true, "api": {"enabled": false, "replicas": 0}})),
        spec(json!({"source": {"type": "url", "url": {"url": "https://example.com/r.json",
                "headers": [{"name": "Accept", "value": "application/json"}, {"name": "X-Team", "value": "a"}],
                "authSecret": {"name": "creds", "tokenKey": "token"}}},
            "syncPolicy": {"enabled": false, "interval": "6h", "onUpdate": "recreate",
                "retry": {"maxRetries": 7, "backoffInterval": "1m30s"}},
            "filter": {"include": {"tiers": ["Official"], "transports": ["streamable-http"]},
                "exclude": {"names": ["*-experimental"], "tags": ["deprecated"], "categories": ["test"]}},
            "validation": {"mode": "skip"}})),
        spec(json!({"format": "upstream", "source": {"type": "git", "git": {"repository": "https://example.com/r.git",
            "tag": "v1.2.0", "path": "catalogs/internal.json",
            "authSecret": {"name": "repo", "usernameKey": "user", "passwordKey": "password"}}}})),
        spec(
            json!({"source": {"type": "git", "git": {"repository": "https://example.com/r.git", "commit": "3f2c9a1"}}}),
        ),
        spec(
            json!({"source": {"type": "registry", "registry": {"url": "https://registry.example.com", "latestOnly": true,
            "authSecret": {"name": "api", "tokenKey": "token"}}},
            "api": {"replicas": 3, "resources": {"limits": {"memory": "256Mi"}}}}),
        ),
    ];
    for original in specs {
        let (registry, cluster) = to_local("platform", &original).expect("to local");
        assert_eq!(from_local(&registry, &cluster).expect("back"), original);
        // The local registry writes as registries.yaml and reads back the same.
        let yaml = serde_saphyr::to_string(&registry).expect("yaml");
        assert_eq!(local(&yaml), registry, "{yaml}");
    }
}

#[test]
fn the_local_side_holds_kubernetes_sources_as_data() {
    let original = spec(json!({"source": {"type": "url", "url": {"url": "https://example.com/r.json",
        "authSecret": {"name": "creds", "tokenKey": "token"}}}, "syncPolicy": {"interval": "90m"}}));
    let (registry, cluster) = to_local("platform", &original).expect("to local");
    let SourceSpec::Url(url) = &registry.source else { panic!("url source") };
    assert_eq!(
        url.auth,
        Some(AuthSpec::KubernetesSecret(KubernetesSecretAuth {
            name: "creds".into(),
            token_key: Some("token".into()),
            username_key: None,
            password_key: None,
        }))
    );
    assert_eq!(registry.sync_policy.interval, Duration::from_secs(5400));
    assert_eq!(registry.sync_policy.retry.max_retries, 3);
    assert_eq!(cluster, ClusterSettings::default(), "defaults throughout");
    // Durations are written back canonically: 90m is 1h30m.
    assert_eq!(from_local(&registry, &cluster).expect("back").sync_policy.interval, "1h30m");

    let configmap = spec(json!({"source": {"type": "configmap", "configMap": {"name": "c"}}}));
    let (registry, _) = to_local("platform", &configmap).expect("to local");
    assert_eq!(registry.source.kind(), "configMap");
}

#[test]
fn local_registries_the_resource_can_hold_survive_a_round_trip() {
    let registries = [
        "name: platform\nsource:\n  configMap:\n    name: catalog\n",
        "name: mirror\nsource:\n  registryApi:\n    url: https://registry.example.com\n    latestOnly: true\nformat: upstream\n\
         syncPolicy:\n  interval: 10m\n  retry:\n    maxRetries: 0\n    backoffInterval: 5s\nfilter:\n  exclude:\n    names: ['*-dev']\n",
        "name: internal\nsource:\n  git:\n    repository: https://example.com/r.git\n    branch: main\n    path: c.json\n\
         \x20   auth:\n      kubernetesSecret:\n        name: repo\n        tokenKey: token\nvalidation:\n  mode: skip\n",
    ];
    for yaml in registries {
        let original = local(yaml);
        let spec = from_local(&original, &ClusterSettings::default()).expect(yaml);
        let (back, _) = to_local(&original.name, &spec).expect("to local");
        assert_eq!(back, original, "{yaml}");
    }
    // A Git source without a path reads back without one (registry.json is the default on both sides).
    let original = local("name: g\nsource:\n  git:\n    repository: https://example.com/r.git\n    commit: abc1234\n");
    let spec = from_local(&original, &ClusterSettings::default()).expect("git");
    assert_eq!(spec.source.git.as_ref().map(|g| g.path.as_str()), Some("registry.json"));
    let (back, _) = to_local("g", &spec).expect("back");
    let SourceSpec::Git(git) = back.source else { panic!("git") };
    assert_eq!((git.path, git.reference), (None, Some(GitRef::Commit("abc1234".into()))));
}

#[test]
fn what_the_resource_cannot_hold_is_refused_by_field() {
    let cases = [
        ("name: f\nsource:\n  file:\n    path: r.json\n", "source.file", "put the catalog in a ConfigMap"),
        (
            "name: u\nsource:\n  url:\n    url: https://x/r.json\n    auth:\n      bearer:\n        token:\n          env: TOKEN\n",
            "source.url.auth",
            "reads credentials from a Secret",
        ),
        ("name: u\nsource:\n  url:\n    url: https://x/r.json\n    timeout: 5s\n", "source.url.timeout", "not a field"),
        (
            "name: g\nsource:\n  git:\n    repository: https://x/r.git\n    maxBytes: 10\n",
            "source.git.maxBytes",
            "not a field",
        ),
        (
            "name: a\nsource:\n  registryApi:\n    url: https://x\n    headers:\n      X-A: b\n",
            "source.registryApi.headers",
            "not a field",
        ),
        (
            "name: i\nsource:\n  configMap:\n    name: c\nsyncPolicy:\n  interval: 10s\n",
            "syncPolicy.interval",
            "between 30s and 720h",
        ),
        (
            "name: b\nsource:\n  configMap:\n    name: c\nsyncPolicy:\n  retry:\n    backoffInterval: 2h\n",
            "syncPolicy.retry.backoffInterval",
            "between 1s and 1h",
        ),
        (
            "name: r\nsource:\n  configMap:\n    name: c\nsyncPolicy:\n  retry:\n    maxRetries: 1000\n",
            "syncPolicy.retry.maxRetries",
            "at most 100",
        ),
        (
            "name: s\nsource:\n  configMap:\n    name: c\nvalidation:\n  strict: true\n",
            "validation.strict",
            "no strict",
        ),
        (
            "name: v\nsource:\n  configMap:\n    name: c\nvalidation:\n  against: 2025-12-11\n",
            "validation.against",
            "declared",
        ),
    ];
    for (yaml, field, reason) in cases {
        let err = from_local(&local(yaml), &ClusterSettings::default()).expect_err(yaml);
        let ConversionError::Unrepresentable { field: found, reason: why, .. } = &err else { panic!("{err}") };
        assert_eq!(found, field, "{err}");
        assert!(why.contains(reason), "{err}");
        assert!(err.to_string().starts_with("registry "), "{err}");
    }
    // Local secrets in a file never reach an error message either way.
    let mut with_file = local("name: u\nsource:\n  url:\n    url: https://x/r.json\n");
    if let SourceSpec::Url(url) = &mut with_file.source {
        url.auth = Some(AuthSpec::Basic { username: "u".into(), password: SecretRef::File("/run/secret".into()) });
        url.headers = BTreeMap::new();
    }
    let err = from_local(&with_file, &ClusterSettings::default()).expect_err("file secret");
    assert!(!err.to_string().contains("/run/secret"), "{err}");
}

#[test]
fn what_the_schema_should_have_refused_is_an_error_naming_the_field() {
    let mut bad = spec(json!({"source": {"type": "git", "git": {"repository": "https://x/r.git"}}}));
    bad.source.git.as_mut().expect("git").branch = Some("main".into());
    bad.source.git.as_mut().expect("git").tag = Some("v1".into());
    assert_eq!(
        to_local("p", &bad).expect_err("two refs").to_string(),
        "spec.source.git: set at most one of branch, tag and commit"
    );

    let mut missing = spec(json!({"source": {"type": "configmap", "configMap": {"name": "c"}}}));
    missing.source.type_ = thv_operator::SourceType::Url;
    let err = to_local("p", &missing).expect_err("missing block");
    assert_eq!(err.to_string(), "spec.source: source.type is url but that block is missing");

    let mut interval = spec(json!({"source": {"type": "configmap", "configMap": {"name": "c"}}}));
    interval.sync_policy.interval = "10s".into();
    let err = to_local("p", &interval).expect_err("short interval");
    assert_eq!(err.to_string(), "spec.syncPolicy.interval: 10s is out of range: it must be between 30s and 720h");
    interval.sync_policy.interval = "99999999999999999999h".into();
    assert!(to_local("p", &interval).expect_err("huge").to_string().contains("is not a duration"));

    let mut filter = spec(json!({"source": {"type": "configmap", "configMap": {"name": "c"}}}));
    filter.filter.include.tags = vec![" web".into()];
    let err = to_local("p", &filter).expect_err("filter");
    assert!(err.to_string().starts_with("spec.filter.include.tags[0]"), "{err}");

    let mut headers = spec(json!({"source": {"type": "url", "url": {"url": "https://x/r.json",
        "headers": [{"name": "X-A", "value": "1"}]}}}));
    let url = headers.source.url.as_mut().expect("url");
    url.headers.push(thv_operator::HttpHeader { name: "x-a".into(), value: "2".into() });
    assert_eq!(
        to_local("p", &headers).expect_err("twice").to_string(),
        "spec.source.url.headers: header x-a is given twice"
    );

    let mut storage = spec(json!({"source": {"type": "configmap", "configMap": {"name": "c"}},
        "storage": {"type": "postgres", "postgres": {"secretRef": {"name": "registry-db"}}}}));
    assert_eq!(storage.storage.postgres.as_ref().expect("postgres").secret_ref.key, "url", "the default key");
    to_local("p", &storage).expect("a postgres storage with its Secret");
    storage.storage.postgres = None;
    assert_eq!(
        to_local("p", &storage).expect_err("no block").to_string(),
        "spec.storage.postgres: storage.type is postgres: set storage.postgres.secretRef"
    );
    storage.storage.type_ = thv_operator::StorageType::Configmap;
    storage.storage.postgres = Some(thv_operator::PostgresStorage {
        secret_ref: thv_operator::SecretKeyRef { name: "db".into(), key: "url".into() },
    });
    assert_eq!(
        to_local("p", &storage).expect_err("a stray block").to_string(),
        "spec.storage.postgres: only for storage.type postgres (storage.type is configmap)"
    );
}

#[test]
fn the_priority_is_a_cluster_setting_that_survives_a_round_trip() {
    let original = spec(json!({"source": {"type": "configmap", "configMap": {"name": "c"}}, "priority": -7}));
    let (registry, cluster) = to_local("platform", &original).expect("to local");
    assert_eq!(cluster.priority, -7);
    assert_eq!(from_local(&registry, &cluster).expect("back").priority, -7);
    // The default is left out of what is written (migrated manifests stay as they were).
    let default = spec(json!({"source": {"type": "configmap", "configMap": {"name": "c"}}}));
    assert_eq!(default.priority, 0);
    assert!(serde_json::to_value(&default).expect("json").get("priority").is_none());
}
