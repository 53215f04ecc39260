//! Authentication end to end: the hashed token file, OIDC JWTs checked against a real identity provider on
//! loopback (discovery + JWKS, key rotation), and manual syncs through a running scheduler.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use axum::routing::get as route_get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Reply, get, send};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use thv_api::AppState;
use thv_api::auth::{AuthConfig, OidcConfig, OidcVerifier, Scopes, TokenSet, TokenSource, generate_token};
use thv_store::{SqliteStore, Store};
use thv_sync::{RegistrySpec, Scheduler};

const AUDIENCE: &str = "thv-registry-test";

/// A catalog of `names`, one version each, in the registry-API record shape.
fn catalog(names: &[&str]) -> String {
    let records: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({"server": {
                "name": format!("io.example/{name}"),
                "description": format!("The {name} server"),
                "version": "1.0.0",
                "packages": [{"registryType": "npm", "identifier": format!("@example/{name}"), "version": "1.0.0",
                              "transport": {"type": "stdio"}}],
            }})
        })
        .collect();
    Value::Array(records).to_string()
}

/// A signing key and the JWK that publishes it.
struct SigningKey {
    kid: String,
    der: Vec<u8>,
    jwk: Value,
}

impl SigningKey {
    fn new(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate().expect("key");
        let raw = pair.public_key_raw();
        assert_eq!(raw.len(), 65, "an uncompressed P-256 point");
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&raw[1..33]), "y": URL_SAFE_NO_PAD.encode(&raw[33..]),
        });
        Self { kid: kid.to_owned(), der: pair.serialize_der(), jwk }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.der)).expect("sign")
    }
}

/// An identity provider on loopback: discovery document and a JWKS that tests can change.
struct Provider {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_fetches: Arc<AtomicUsize>,
}

impl Provider {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let issuer = format!("http://{addr}");
        let keys = Arc::new(Mutex::new(Vec::new()));
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")}).to_string();
        let (served_keys, fetches) = (Arc::clone(&keys), Arc::clone(&jwks_fetches));
        let app = Router::new()
            .route("/.well-known/openid-configuration", route_get(move || async move { discovery }))
            .route(
                "/keys",
                route_get(move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let keys = served_keys.lock().expect("keys").clone();
                    json!({ "keys": keys }).to_string()
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { issuer, keys, jwks_fetches }
    }

    fn publish(&self, key: &SigningKey) {
        self.keys.lock().expect("keys").push(key.jwk.clone());
    }

    fn claims(&self, extra: Value) -> Value {
        let now = jiff::Timestamp::now().as_second();
        let mut claims = json!({"iss": self.issuer, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300});
        for (k, v) in extra.as_object().expect("object") {
            claims[k] = v.clone();
        }
        claims
    }
}

/// A server syncing one file registry `local`, with a scheduler, the given auth, and the catalog file.
struct Server {
    app: Router,
    file: tempfile::NamedTempFile,
    _scheduler: Scheduler,
}

async fn server(auth: AuthConfig) -> Server {
    let file = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(file.path(), catalog(&["alpha"])).expect("write");
    let spec: RegistrySpec = serde_json::from_value(json!({
        "name": "local", "source": {"file": {"path": file.path()}}, "syncPolicy": {"enabled": false},
    }))
    .expect("spec");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let cache = tempfile::tempdir().expect("cache");
    let scheduler = Scheduler::start(vec![spec.clone()], Arc::clone(&store), cache.path().to_owned());
    let state = AppState::new(thv_api::Snapshot::default());
    state.set_store(store);
    state.set_registries(vec![spec]);
    state.set_scheduler(scheduler.handle());
    state.set_auth(auth);
    Server { app: thv_api::router(state), file, _scheduler: scheduler }
}

fn request(method: Method, uri: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::empty()).expect("request")
}

async fn sync(app: &Router, token: Option<&str>) -> Reply {
    send(app, request(Method::POST, "/api/v1/registries/local/sync", token)).await
}

fn tokens() -> (Arc<TokenSource>, String, String) {
    let (writer, write_line) = generate_token("ci", Scopes { read: true, write: true }).expect("token");
    let (reader, read_line) = generate_token("viewer", Scopes { read: true, write: false }).expect("token");
    let set = TokenSet::parse(&format!("{write_line}\n{read_line}\n")).expect("tokens");
    (Arc::new(TokenSource::fixed(set)), writer, reader)
}

#[tokio::test]
async fn a_write_token_syncs_and_the_change_sets_follow() {
    let (tokens, writer, reader) = tokens();
    let server = server(AuthConfig { anonymous_reads: true, tokens: Some(tokens), oidc: None }).await;
    let app = &server.app;

    let missing = sync(app, None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer realm=\"thv-registry\""));
    let forbidden = sync(app, Some(&reader)).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text);
    assert!(forbidden.header("www-authenticate").unwrap().contains("insufficient_scope"));
    // A read that needs no token ignores one that is not ours (a client sending its own service's token).
    for uri in ["/v0.1/servers", "/api/v1/servers", "/api/v1/registries/local"] {
        let read = send(app, request(Method::GET, uri, Some("thv_not-a-real-token"))).await;
        assert_eq!(read.status, 200, "{uri}: {}", read.text);
    }
    let unknown = sync(app, Some("thv_not-a-real-token")).await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.header("www-authenticate").unwrap().contains("invalid_token"));
    assert!(!unknown.text.contains("thv_not-a-real-token"), "the token is never echoed");

    let first = sync(app, Some(&writer)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json()["requestedBy"], "token:ci");
    assert_eq!(first.json()["report"]["outcome"], "success");
    assert_eq!(first.json()["report"]["counts"]["added"], 1);
    assert_eq!(get(app, "/api/v1/servers").await.json()["count"], 1, "served as soon as the sync answers");

    std::fs::write(server.file.path(), catalog(&["alpha", "beta"])).expect("write");
    let second = sync(app, Some(&writer)).await;
    assert_eq!(
        second.json()["report"]["changes"],
        json!([{"kind": "added", "name": "io.example/beta", "version": "1.0.0"}])
    );
    assert_eq!(get(app, "/v0.1/servers").await.json()["metadata"]["count"], 2);
    let unchanged = sync(app, Some(&writer)).await;
    assert_eq!(unchanged.json()["report"]["outcome"], "unchanged");

    let changes = get(app, "/api/v1/registries/local/changes").await.json();
    let sets = changes["changeSets"].as_array().expect("sets");
    assert_eq!(sets.len(), 2, "unchanged syncs make no change set");
    assert_eq!(sets[0]["changes"][0]["name"], "io.example/beta", "newest first");
    let shown = get(app, "/api/v1/registries/local").await.json();
    assert_eq!(shown["status"], "ready");
    assert_eq!(shown["serverCount"], 2);

    // A broken source: 502, and the registry keeps its catalog.
    std::fs::write(server.file.path(), "{ not json").expect("write");
    let failed = sync(app, Some(&writer)).await;
    assert_eq!(failed.status, 502, "{}", failed.text);
    assert!(failed.json()["detail"].as_str().unwrap().contains("last good catalog is still served"));
    let shown = get(app, "/api/v1/registries/local").await.json();
    assert_eq!((shown["status"].as_str(), shown["serverCount"].as_u64()), (Some("stalled"), Some(2)));

    let accepted = send(app, request(Method::POST, "/api/v1/registries/local/sync?wait=0", Some(&writer))).await;
    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.header("location"), Some("/api/v1/registries/local"));
    assert_eq!(sync(app, Some(&writer)).await.status, 502);
    let missing_registry = send(app, request(Method::POST, "/api/v1/registries/nope/sync", Some(&writer))).await;
    assert_eq!(missing_registry.status, 404);
}

#[tokio::test]
async fn reads_can_require_a_token_but_probes_never_do() {
    let (tokens, _, reader) = tokens();
    let server = server(AuthConfig { anonymous_reads: false, tokens: Some(tokens), oidc: None }).await;
    let app = &server.app;
    for uri in ["/v0.1/servers", "/v0/servers", "/api/v1/servers", "/api/v1/registries", "/registry/local/v0.1/servers"]
    {
        assert_eq!(get(app, uri).await.status, 401, "{uri}");
        let unknown = send(app, request(Method::GET, uri, Some("thv_not-a-real-token"))).await;
        assert_eq!(unknown.status, 401, "{uri}: reads that need a token refuse one that is not ours");
        assert!(unknown.header("www-authenticate").unwrap().contains("invalid_token"), "{uri}");
        // The last one is a 404: the registry has not synced yet, but the token got the request that far.
        let expected = if uri.starts_with("/registry/") { 404 } else { 200 };
        assert_eq!(send(app, request(Method::GET, uri, Some(&reader))).await.status, expected, "{uri}");
    }
    for uri in ["/healthz", "/version", "/metrics"] {
        assert_eq!(get(app, uri).await.status, 200, "{uri}");
    }
    assert_eq!(get(app, "/no/such/route").await.status, 404, "unknown routes are 404 whatever the auth");
}

#[tokio::test]
async fn oidc_tokens_are_checked_against_the_providers_keys() {
    let provider = Provider::start().await;
    let first = SigningKey::new("k1");
    provider.publish(&first);
    let verifier = OidcVerifier::new(OidcConfig {
        issuer: provider.issuer.clone(),
        audience: AUDIENCE.to_owned(),
        jwks_url: None,
        write_scope: "registry:write".to_owned(),
        refresh_gap: Duration::from_secs(2),
    })
    .expect("verifier");
    let server = server(AuthConfig { anonymous_reads: true, tokens: None, oidc: Some(Arc::new(verifier)) }).await;
    let app = &server.app;

    let writer = first.sign(&provider.claims(json!({"scope": "openid registry:write"})));
    let reply = sync(app, Some(&writer)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["requestedBy"], "oidc:alice");
    assert_eq!(sync(app, Some(&first.sign(&provider.claims(json!({"groups": ["registry:write"]}))))).await.status, 200);

    // `nbf` gets the same clock-skew leeway as `exp`.
    let now = jiff::Timestamp::now().as_second();
    let skewed = first.sign(&provider.claims(json!({"scope": "registry:write", "nbf": now + 30, "exp": now - 30})));
    assert_eq!(sync(app, Some(&skewed)).await.status, 200, "within the 60 s leeway");

    let reader = first.sign(&provider.claims(json!({"scope": "openid"})));
    assert_eq!(sync(app, Some(&reader)).await.status, 403);

    let refused = [
        ("expired", first.sign(&provider.claims(json!({"scope": "registry:write", "exp": now - 3600})))),
        ("not yet valid", first.sign(&provider.claims(json!({"scope": "registry:write", "nbf": now + 3600})))),
        ("other audience", first.sign(&provider.claims(json!({"scope": "registry:write", "aud": "someone-else"})))),
        (
            "other issuer",
            first.sign(&provider.claims(json!({"scope": "registry:write", "iss": "https://evil.example"}))),
        ),
        ("unpublished key", SigningKey::new("k1").sign(&provider.claims(json!({"scope": "registry:write"})))),
        (
            "shared secret",
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &provider.claims(json!({"scope": "registry:write"})),
                &EncodingKey::from_secret(b"guess"),
            )
            .expect("sign"),
        ),
    ];
    for (why, token) in refused {
        let reply = sync(app, Some(&token)).await;
        assert_eq!(reply.status, 401, "{why}: {}", reply.text);
        assert!(reply.header("www-authenticate").unwrap().contains("invalid_token"), "{why}");
        let read = send(app, request(Method::GET, "/v0.1/servers", Some(&token))).await;
        assert_eq!(read.status, 200, "{why}: an anonymous read ignores it");
    }
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 1, "keys are cached");

    // The provider rotates to a new key: the unknown key id makes the server fetch the keys again (once the
    // refresh gap has passed).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let second = SigningKey::new("k2");
    provider.publish(&second);
    let rotated = second.sign(&provider.claims(json!({"scope": "registry:write"})));
    assert_eq!(sync(app, Some(&rotated)).await.status, 200);
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 2);
    // Unknown key ids do not make it fetch again right away.
    let stranger = SigningKey::new("k3").sign(&provider.claims(json!({"scope": "registry:write"})));
    assert_eq!(sync(app, Some(&stranger)).await.status, 401);
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_identity_provider_is_503_not_a_bad_token() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let issuer = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let verifier = OidcVerifier::new(OidcConfig {
        issuer: issuer.clone(),
        audience: AUDIENCE.to_owned(),
        jwks_url: None,
        write_scope: "registry:write".to_owned(),
        refresh_gap: Duration::from_secs(30),
    })
    .expect("verifier");
    let server = server(AuthConfig { anonymous_reads: true, tokens: None, oidc: Some(Arc::new(verifier)) }).await;
    let key = SigningKey::new("k1");
    let now = jiff::Timestamp::now().as_second();
    let token =
        key.sign(&json!({"iss": issuer, "aud": AUDIENCE, "sub": "bob", "exp": now + 300, "scope": "registry:write"}));
    let reply = sync(&server.app, Some(&token)).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert!(reply.json()["detail"].as_str().unwrap().contains("cannot be checked now"), "{}", reply.text);
    assert!(!reply.text.contains(&token));
}
