//! The API router as `thv registry serve` builds it, over a snapshot, with bearer tokens from a token file and
//! OIDC tokens from the loopback [`Provider`](crate::provider::Provider); and a request sent to it in process.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use http_body_util::BodyExt;
use thv_api::auth::{AuthConfig, OidcVerifier, TokenSet, TokenSource, tokens::hash_token};
use thv_api::{AppState, Snapshot};
use thv_sources::{FileSpec, SourceSpec};
use thv_sync::RegistrySpec;
use tower::ServiceExt;

use crate::provider::Provider;

/// A token of the fixture's token file with the read scope.
pub const READ_TOKEN: &str = "thv_fuzz-reader";
/// A token of the fixture's token file with the write scope.
pub const WRITE_TOKEN: &str = "thv_fuzz-writer";

fn token_line(name: &str, token: &str, scope: &str) -> String {
    let hash: String = hash_token(token).iter().map(|b| format!("{b:02x}")).collect();
    format!("{name} sha256:{hash} {scope}\n")
}

/// Anonymous reads, the two tokens above, and OIDC tokens of the loopback provider.
pub fn auth() -> AuthConfig {
    let file = token_line("reader", READ_TOKEN, "read") + &token_line("writer", WRITE_TOKEN, "write");
    let tokens = TokenSet::parse(&file).expect("the fixture's token file parses");
    let oidc = OidcVerifier::new(Provider::get().config()).expect("an OIDC verifier");
    AuthConfig { anonymous_reads: true, tokens: Some(Arc::new(TokenSource::fixed(tokens))), oidc: Some(Arc::new(oidc)) }
}

/// The router over `snapshot`, ready, describing the given registries (each a file source of that name).
pub fn router(snapshot: Snapshot, registries: &[&str], auth: Option<AuthConfig>) -> Router {
    let state = AppState::new(snapshot);
    state.set_ready(true);
    let specs = registries.iter().map(|name| RegistrySpec {
        name: (*name).to_owned(),
        source: SourceSpec::File(FileSpec { path: PathBuf::from(format!("/srv/{name}.json")) }),
        format: Default::default(),
        sync_policy: Default::default(),
        filter: Default::default(),
        validation: Default::default(),
    });
    state.set_registries(specs.collect());
    if let Some(auth) = auth {
        state.set_auth(auth);
    }
    thv_api::router(state)
}

/// Sends `request` and collects the whole response.
pub fn send(app: &Router, request: Request<Body>) -> (Response<()>, Vec<u8>) {
    crate::runtime().block_on(async {
        let response = app.clone().oneshot(request).await.expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
        (Response::from_parts(parts, ()), bytes)
    })
}
