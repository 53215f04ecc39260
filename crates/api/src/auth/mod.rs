//! Who may call the API: anonymous reads by default (configurable), and bearer tokens for everything else
//! — tokens from a token file (stored hashed, see [`tokens`]) or OIDC JWTs (see [`oidc`]).
//!
//! A request without a usable token where one is needed gets 401 with `WWW-Authenticate: Bearer`; an
//! authenticated caller without the needed scope gets 403. Tokens are never logged nor echoed.

pub mod oidc;
pub mod token_source;
pub mod tokens;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;
use crate::state::AppState;

pub use oidc::{DEFAULT_REFRESH_GAP, OidcConfig, OidcError, OidcVerifier};
pub use token_source::TokenSource;
pub use tokens::{TokenFileError, TokenSet, generate_token, parse_scopes};

/// What a caller may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes {
    /// Read catalogs and registry status.
    pub read: bool,
    /// Trigger syncs and other changes.
    pub write: bool,
}

/// An authenticated caller; handlers find it in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `token:<name>` or `oidc:<sub>`.
    pub subject: String,
    /// What it may do.
    pub scopes: Scopes,
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read (GET, HEAD).
    Read,
    /// Anything else.
    Write,
}

impl Access {
    /// The access a request method needs.
    pub fn of(method: &Method) -> Self {
        if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
            Self::Read
        } else {
            Self::Write
        }
    }
}

/// The server's authentication settings. The default: anonymous reads, no way to write.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Whether reads need no token.
    pub anonymous_reads: bool,
    /// Tokens from a token file.
    pub tokens: Option<Arc<TokenSource>>,
    /// OIDC tokens.
    pub oidc: Option<Arc<OidcVerifier>>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { anonymous_reads: true, tokens: None, oidc: None }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// No token was sent.
    Missing,
    /// The token is not valid; the text says why without repeating it.
    Invalid(String),
    /// Valid, but without the needed scope.
    Forbidden(String),
    /// The token cannot be checked now (the identity provider's keys cannot be fetched).
    Unavailable(String),
}

impl AuthConfig {
    /// Decides on a request needing `access` that carries `authorization` (the header's value, if any).
    ///
    /// On a read that needs no token, credentials that are not ours (unknown, malformed, expired, or not
    /// checkable now) are ignored and the request is anonymous: clients often send their own service's
    /// token to every registry. Where a token is needed they are refused.
    async fn decide(&self, access: Access, authorization: Option<&HeaderValue>) -> Result<Option<Caller>, Refusal> {
        let anonymous = access == Access::Read && self.anonymous_reads;
        let Some(value) = authorization else {
            return if anonymous { Ok(None) } else { Err(Refusal::Missing) };
        };
        let authenticated = match bearer_token(value) {
            Some(token) => self.authenticate(token).await,
            None => Err(Refusal::Invalid("expected `Bearer <token>`".to_owned())),
        };
        let caller = match authenticated {
            Ok(caller) => caller,
            Err(refusal) if anonymous => {
                // The reason never holds the token.
                tracing::debug!(reason = ?refusal, "credentials that are not ours ignored on an anonymous read");
                return Ok(None);
            }
            Err(refusal) => return Err(refusal),
        };
        let allowed = match access {
            Access::Read => caller.scopes.read,
            Access::Write => caller.scopes.write,
        };
        if allowed {
            Ok(Some(caller))
        } else {
            Err(Refusal::Forbidden(format!("{} may not make changes: it lacks the write scope", caller.subject)))
        }
    }

    async fn authenticate(&self, token: &str) -> Result<Caller, Refusal> {
        if let Some(caller) = self.tokens.as_ref().and_then(|tokens| tokens.check(token)) {
            return Ok(caller);
        }
        // Only JWT-shaped tokens go to the identity provider.
        if let Some(oidc) = self.oidc.as_ref().filter(|_| token.split('.').count() == 3) {
            return oidc.verify(token).await.map_err(|e| match e {
                OidcError::Keys(_) => Refusal::Unavailable(e.to_string()),
                OidcError::Invalid(_) => Refusal::Invalid(e.to_string()),
            });
        }
        Err(Refusal::Invalid("the token is not known".to_owned()))
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Middleware on the API routes: lets the request through with its [`Caller`] in the extensions, or
/// answers 401/403 problem+json.
pub async fn require(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let access = Access::of(request.method());
    let auth = state.auth();
    match auth.decide(access, request.headers().get(header::AUTHORIZATION)).await {
        Ok(caller) => {
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            next.run(request).await
        }
        Err(refusal) => refuse(refusal),
    }
}

fn refuse(refusal: Refusal) -> Response {
    let (status, detail, challenge) = match refusal {
        Refusal::Missing => (
            StatusCode::UNAUTHORIZED,
            "This request needs a bearer token (Authorization: Bearer <token>).".to_owned(),
            "Bearer realm=\"thv-registry\"".to_owned(),
        ),
        Refusal::Invalid(why) => (
            StatusCode::UNAUTHORIZED,
            format!("The bearer token was refused: {why}."),
            "Bearer realm=\"thv-registry\", error=\"invalid_token\"".to_owned(),
        ),
        Refusal::Unavailable(why) => {
            return Problem::new(StatusCode::SERVICE_UNAVAILABLE, format!("The token cannot be checked now: {why}."))
                .into_response();
        }
        Refusal::Forbidden(why) => (
            StatusCode::FORBIDDEN,
            format!("{why}."),
            "Bearer realm=\"thv-registry\", error=\"insufficient_scope\", scope=\"write\"".to_owned(),
        ),
    };
    let mut response = Problem::new(status, detail).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(anonymous_reads: bool) -> (AuthConfig, String, String) {
        let (writer, write_line) = generate_token("ci", Scopes { read: true, write: true }).unwrap();
        let (reader, read_line) = generate_token("viewer", Scopes { read: true, write: false }).unwrap();
        let tokens = Arc::new(TokenSource::fixed(TokenSet::parse(&format!("{write_line}\n{read_line}\n")).unwrap()));
        (AuthConfig { anonymous_reads, tokens: Some(tokens), oidc: None }, writer, reader)
    }

    fn bearer(token: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
    }

    #[tokio::test]
    async fn reads_are_anonymous_unless_configured() {
        let (open, _, _) = config(true);
        assert_eq!(open.decide(Access::Read, None).await, Ok(None));
        assert_eq!(open.decide(Access::Write, None).await, Err(Refusal::Missing));
        let (closed, _, reader) = config(false);
        assert_eq!(closed.decide(Access::Read, None).await, Err(Refusal::Missing));
        let caller = closed.decide(Access::Read, Some(&bearer(&reader))).await.unwrap().unwrap();
        assert_eq!(caller.subject, "token:viewer");
    }

    #[tokio::test]
    async fn writes_need_the_write_scope() {
        let (auth, writer, reader) = config(true);
        assert!(auth.decide(Access::Write, Some(&bearer(&writer))).await.unwrap().is_some());
        assert!(matches!(auth.decide(Access::Write, Some(&bearer(&reader))).await, Err(Refusal::Forbidden(_))));
        let refused = auth.decide(Access::Write, Some(&bearer("thv_guess"))).await;
        assert!(matches!(&refused, Err(Refusal::Invalid(why)) if !why.contains("thv_guess")));
        let basic = HeaderValue::from_static("Basic dXNlcjpwYXNz");
        assert!(matches!(auth.decide(Access::Write, Some(&basic)).await, Err(Refusal::Invalid(_))));
    }

    #[tokio::test]
    async fn anonymous_reads_ignore_credentials_that_are_not_ours() {
        let (open, _, reader) = config(true);
        let basic = HeaderValue::from_static("Basic dXNlcjpwYXNz");
        for foreign in [bearer("thv_guess"), bearer("eyJh.eyJz.c2ln"), basic.clone()] {
            assert_eq!(open.decide(Access::Read, Some(&foreign)).await, Ok(None), "{foreign:?}");
        }
        let caller = open.decide(Access::Read, Some(&bearer(&reader))).await.unwrap().unwrap();
        assert_eq!(caller.subject, "token:viewer", "our own tokens still identify the caller");
        let (closed, _, _) = config(false);
        for foreign in [bearer("thv_guess"), basic] {
            assert!(matches!(closed.decide(Access::Read, Some(&foreign)).await, Err(Refusal::Invalid(_))));
        }
    }

    #[test]
    fn methods_map_to_access() {
        assert_eq!(Access::of(&Method::GET), Access::Read);
        assert_eq!(Access::of(&Method::POST), Access::Write);
        assert_eq!(Access::of(&Method::DELETE), Access::Write);
    }
}
