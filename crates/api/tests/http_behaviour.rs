//! Cross-cutting HTTP behaviour, per-registry routes and first-registry-wins aggregation, on small catalogs.

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::{OFFICIAL, assert_problem, get, send, state_of};
use serde_json::{Value, json};
use thv_api::{AppState, RegistrySnapshot, Snapshot, router};
use thv_store::{JsonText, ServerVersion};

fn version(name: &str, version: &str, published: &str, latest: bool) -> ServerVersion {
    ServerVersion {
        name: name.to_owned(),
        version: version.to_owned(),
        document: JsonText::from_value(&json!({"name": name, "version": version, "description": "test"})),
        extra_meta: Value::Null,
        digest: "sha256:test".to_owned(),
        status: "active".to_owned(),
        status_changed_at: None,
        status_message: None,
        published_at: published.to_owned(),
        updated_at: published.to_owned(),
        is_latest: latest,
    }
}

fn names_and_versions(body: &Value) -> Vec<(String, String)> {
    body["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| {
            let text = |f: &str| s["server"][f].as_str().unwrap_or_default().to_owned();
            (text("name"), text("version"))
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
}

/// Registry `first` has `io.example/one` and `io.example/shared` 1.0.0; `second` has `io.example/shared`
/// 2.0.0 and 3.0.0 and `io.example/two`.
async fn two_registries() -> AppState {
    state_of(vec![
        (
            "first",
            vec![
                version("io.example/one", "1.0.0", "2025-01-01T00:00:00Z", true),
                version("io.example/shared", "1.0.0", "2025-01-01T00:00:00Z", true),
            ],
        ),
        (
            "second",
            vec![
                version("io.example/shared", "2.0.0", "2025-02-01T00:00:00Z", false),
                version("io.example/shared", "3.0.0", "2025-03-01T00:00:00Z", true),
                version("io.example/two", "1.0.0", "2025-01-01T00:00:00Z", true),
            ],
        ),
    ])
    .await
}

#[tokio::test]
async fn the_first_registry_wins_every_version_of_a_name() {
    let app = router(two_registries().await);
    let aggregate = pairs(&[("io.example/one", "1.0.0"), ("io.example/shared", "1.0.0"), ("io.example/two", "1.0.0")]);
    for prefix in ["/v0.1", "/v0"] {
        let body = get(&app, &format!("{prefix}/servers")).await.json();
        assert_eq!(names_and_versions(&body), aggregate, "{prefix}");
    }
    let body = get(&app, "/v0.1/servers/io.example%2Fshared/versions").await.json();
    assert_eq!(names_and_versions(&body), pairs(&[("io.example/shared", "1.0.0")]));

    for prefix in ["/registry/second/v0.1", "/registry/second/v0"] {
        let body = get(&app, &format!("{prefix}/servers")).await.json();
        let expected =
            pairs(&[("io.example/shared", "2.0.0"), ("io.example/shared", "3.0.0"), ("io.example/two", "1.0.0")]);
        assert_eq!(names_and_versions(&body), expected, "{prefix}");
        let body = get(&app, &format!("{prefix}/servers/io.example%2Fshared/versions")).await.json();
        assert_eq!(names_and_versions(&body), pairs(&[("io.example/shared", "3.0.0"), ("io.example/shared", "2.0.0")]));
        let body = get(&app, &format!("{prefix}/servers/io.example%2Fshared/versions/latest")).await.json();
        assert_eq!(body["server"]["version"], "3.0.0");
    }
    let body = get(&app, "/registry/first/v0.1/servers?version=latest").await.json();
    assert_eq!(names_and_versions(&body), pairs(&[("io.example/one", "1.0.0"), ("io.example/shared", "1.0.0")]));
    assert_problem(&get(&app, "/registry/first/v0.1/servers/io.example%2Ftwo/versions").await, 404, "Server not found");
    let reply = get(&app, "/registry/third/v0.1/servers").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
}

#[tokio::test]
async fn replacing_the_snapshot_switches_what_is_served() {
    let state = two_registries().await;
    let app = router(state.clone());
    assert_eq!(get(&app, "/v0.1/servers").await.json()["metadata"]["count"], 3);
    let only = RegistrySnapshot::new(&[version("io.example/new", "0.1.0", "2025-05-01T00:00:00Z", true)]);
    state.replace(Snapshot::new(vec![("first".to_owned(), only)]));
    let body = get(&app, "/v0.1/servers").await.json();
    assert_eq!(names_and_versions(&body), pairs(&[("io.example/new", "0.1.0")]));
    assert_eq!(get(&app, "/registry/second/v0.1/servers").await.status, 404);
}

#[tokio::test]
async fn deleted_versions_are_hidden_unless_asked_for() {
    let mut gone = version("io.example/gone", "1.0.0", "2025-01-01T00:00:00Z", true);
    gone.status = "deleted".to_owned();
    gone.status_changed_at = Some("2025-06-01T00:00:00Z".to_owned());
    gone.status_message = Some("withdrawn".to_owned());
    gone.updated_at = "2025-06-01T00:00:00Z".to_owned();
    gone.extra_meta = json!({"com.example.subregistry/custom": {"tier": "Official"}});
    let mut old = version("io.example/kept", "1.0.0", "2025-01-01T00:00:00Z", false);
    old.status = "deleted".to_owned();
    let kept = version("io.example/kept", "2.0.0", "2025-02-01T00:00:00Z", true);
    let app = router(state_of(vec![("only", vec![gone, old, kept])]).await);

    let body = get(&app, "/v0.1/servers").await.json();
    assert_eq!(names_and_versions(&body), pairs(&[("io.example/kept", "2.0.0")]));
    let body = get(&app, "/v0.1/servers?include_deleted=true").await.json();
    assert_eq!(body["metadata"]["count"], 3);
    let body = get(&app, "/v0.1/servers?updated_since=2025-05-01T00:00:00.5Z").await.json();
    let item = &body["servers"][0];
    assert_eq!(names_and_versions(&body), pairs(&[("io.example/gone", "1.0.0")]));
    assert_eq!(
        item["_meta"],
        json!({
            OFFICIAL: {
                "status": "deleted", "statusChangedAt": "2025-06-01T00:00:00Z", "statusMessage": "withdrawn",
                "publishedAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-06-01T00:00:00Z", "isLatest": true
            },
            "com.example.subregistry/custom": {"tier": "Official"}
        })
    );
    assert_eq!(get(&app, "/v0.1/servers?include_deleted=yes").await.status, 422);

    assert_problem(&get(&app, "/v0.1/servers/io.example%2Fgone/versions").await, 404, "Server not found");
    assert_eq!(get(&app, "/v0.1/servers/io.example%2Fgone/versions?include_deleted=true").await.status, 200);
    assert_problem(&get(&app, "/v0.1/servers/io.example%2Fgone/versions/latest").await, 404, "Server not found");
    let reply = get(&app, "/v0.1/servers/io.example%2Fgone/versions/1.0.0?include_deleted=true").await;
    assert_eq!(reply.json()["server"]["name"], "io.example/gone");
    let body = get(&app, "/v0.1/servers/io.example%2Fkept/versions").await.json();
    assert_eq!(names_and_versions(&body), pairs(&[("io.example/kept", "2.0.0")]));
    assert_problem(&get(&app, "/v0.1/servers/io.example%2Fkept/versions/1.0.0").await, 404, "Server not found");
}

#[tokio::test]
async fn build_metadata_versions_are_encoded_segments() {
    let app = router(
        state_of(vec![("r", vec![version("io.example/b", "1.0.0+20130313", "2025-01-01T00:00:00Z", true)])]).await,
    );
    for segment in ["1.0.0%2B20130313", "1.0.0%252B20130313"] {
        let reply = get(&app, &format!("/v0.1/servers/io.example%2Fb/versions/{segment}")).await;
        assert_eq!(reply.json()["server"]["version"], "1.0.0+20130313", "{segment}");
    }
}

#[tokio::test]
async fn trailing_slashes_redirect_with_308() {
    let app = router(two_registries().await);
    for (path, location) in [
        ("/v0.1/servers/", "/v0.1/servers"),
        ("/v0.1/servers/?limit=1&cursor=a%3Ab", "/v0.1/servers?limit=1&cursor=a%3Ab"),
        ("/registry/first/v0/servers//", "/registry/first/v0/servers"),
        ("//evil.example/", "/evil.example"),
    ] {
        let reply = get(&app, path).await;
        assert_eq!(reply.status, 308, "{path}");
        assert_eq!(reply.header("location"), Some(location), "{path}");
    }
    assert_eq!(get(&app, "/").await.status, 404, "`/` itself is not redirected");
}

#[tokio::test]
async fn nul_bytes_are_rejected_with_400() {
    let app = router(two_registries().await);
    for uri in ["/v0.1/servers?search=a%00b", "/v0.1/servers/io.example%00/versions", "/v0.1/servers/?cursor=%00"] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, 400, "{uri}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.json()["status"], 400);
    }
}

#[tokio::test]
async fn cors_is_open() {
    let app = router(two_registries().await);
    let request = Request::builder()
        .uri("/v0.1/servers")
        .header("origin", "https://vscode.dev")
        .body(Body::empty())
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));

    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v0.1/servers")
        .header("origin", "https://vscode.dev")
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "authorization, x-custom")
        .body(Body::empty())
        .expect("request");
    let reply = send(&app, preflight).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("access-control-max-age"), Some("86400"));
    let methods = reply.header("access-control-allow-methods").unwrap_or_default().replace(' ', "");
    assert_eq!(methods, "GET,POST,PUT,PATCH");
    assert_eq!(reply.header("access-control-allow-headers"), Some("*"));
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_are_endpoint_not_found() {
    let app = router(two_registries().await);
    let request = Request::builder().method(Method::DELETE).uri("/v0.1/servers").body(Body::empty()).expect("request");
    assert_problem(&send(&app, request).await, 404, thv_api::ENDPOINT_NOT_FOUND);
    assert_problem(&get(&app, "/v0.1/nothing").await, 404, thv_api::ENDPOINT_NOT_FOUND);
}

/// The 404 text points at `/docs`: it exists, and leads to the OpenAPI document and every documented route.
#[tokio::test]
async fn the_docs_page_the_404_points_at_exists() {
    let app = router(two_registries().await);
    let pointer = thv_api::ENDPOINT_NOT_FOUND.split_whitespace().find(|w| w.starts_with('/')).expect("a path");
    let reply = get(&app, pointer).await;
    assert_eq!(reply.status, 200, "{pointer}: {}", reply.text);
    assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(reply.text.starts_with("<!doctype html>"), "{}", reply.text);
    for link in ["href=\"/openapi.yaml\"", "href=\"/openapi.json\""] {
        assert!(reply.text.contains(link), "{link}");
    }
    let document = thv_api::openapi_document();
    for path in document.paths.paths.keys() {
        let shown = path.replace('{', "&#123;").replace('}', "&#125;");
        assert!(reply.text.contains(&format!("<code>{shown}</code>")), "{path} is not listed");
    }
    assert!(!reply.text.contains("<script"), "a static page");
}

#[tokio::test]
async fn undecodable_segments_are_client_errors() {
    let app = router(two_registries().await);
    for uri in
        ["/v0.1/servers/%FF%FE/versions", "/v0.1/servers/io.example%2Fone/versions/%C3", "/registry/%FF/v0/servers"]
    {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, 400, "{uri}: {}", reply.text);
        assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    }
}
