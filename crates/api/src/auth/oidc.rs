//! OIDC bearer tokens: JWTs signed by an identity provider, checked against its published keys (JWKS).
//!
//! The keys are found through the issuer's discovery document (`/.well-known/openid-configuration`) unless a
//! JWKS URL is given, fetched on first use, cached for [`KEY_TTL`], and fetched again early when a token
//! names a key id the cache does not know (at most once per [`OidcConfig::refresh_gap`], so random key ids
//! cannot make the server hammer the provider).

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use super::{Caller, Scopes};

/// How long fetched keys are trusted before they are fetched again.
pub const KEY_TTL: Duration = Duration::from_secs(3600);
/// The default shortest time between two fetches of the keys.
pub const DEFAULT_REFRESH_GAP: Duration = Duration::from_secs(30);
/// Largest discovery or JWKS document accepted.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Time allowed for one fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;

/// What the server accepts as an OIDC token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The `iss` a token must carry, e.g. `https://accounts.example.com`.
    pub issuer: String,
    /// The `aud` a token must carry.
    pub audience: String,
    /// Where the keys are; discovered from the issuer when `None`.
    pub jwks_url: Option<String>,
    /// The scope, role or group that allows writes (found in `scope`, `scp`, `roles`, `groups` or
    /// `permissions`).
    pub write_scope: String,
    /// The shortest time between two fetches of the keys ([`DEFAULT_REFRESH_GAP`]).
    pub refresh_gap: Duration,
}

/// Why a token was refused (the text is safe to send back: it never contains the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The token is malformed, expired, for another audience or issuer, or badly signed.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The provider's keys could not be fetched.
    #[error("the identity provider's keys cannot be fetched: {0}")]
    Keys(String),
}

#[derive(Debug)]
struct CachedKeys {
    set: JwkSet,
    fetched: Instant,
}

/// Checks OIDC tokens; share it in an `Arc`.
#[derive(Debug)]
pub struct OidcVerifier {
    config: OidcConfig,
    client: reqwest::Client,
    keys: RwLock<Option<CachedKeys>>,
    /// Serialises fetches; holds when the last one started.
    fetching: Mutex<Option<Instant>>,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    jwks_uri: String,
}

impl OidcVerifier {
    /// A verifier for `config`; nothing is fetched until the first token arrives.
    pub fn new(config: OidcConfig) -> Result<Self, OidcError> {
        thv_sources::ensure_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| OidcError::Keys(e.to_string()))?;
        Ok(Self { config, client, keys: RwLock::new(None), fetching: Mutex::new(None) })
    }

    /// The settings.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Checks `token` and returns who it identifies and what they may do.
    pub async fn verify(&self, token: &str) -> Result<Caller, OidcError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| OidcError::Invalid(e.to_string()))?;
        if !is_asymmetric(header.alg) {
            return Err(OidcError::Invalid(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let jwk = self.key_for(header.kid.as_deref()).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| OidcError::Invalid(format!("unusable key: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // jsonwebtoken checks `exp` but not `nbf` unless asked; both get the same leeway.
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &validation)
            .map_err(|e| OidcError::Invalid(e.to_string()))?;
        let claims = data.claims;
        let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default();
        let write = grants(&claims, &self.config.write_scope);
        Ok(Caller { subject: format!("oidc:{subject}"), scopes: Scopes { read: true, write } })
    }

    /// The key named `kid` (or the only key when the token names none), fetching the keys when needed.
    async fn key_for(&self, kid: Option<&str>) -> Result<Jwk, OidcError> {
        {
            let cached = self.keys.read().await;
            if let Some(keys) = cached.as_ref().filter(|k| k.fetched.elapsed() < KEY_TTL)
                && let Some(jwk) = pick(&keys.set, kid)
            {
                return Ok(jwk.clone());
            }
        }
        self.refresh().await?;
        let cached = self.keys.read().await;
        cached.as_ref().and_then(|keys| pick(&keys.set, kid)).cloned().ok_or_else(|| {
            OidcError::Invalid(format!("no key with id {:?} at the identity provider", kid.unwrap_or("")))
        })
    }

    /// Fetches the keys unless another fetch started less than `refresh_gap` ago.
    async fn refresh(&self) -> Result<(), OidcError> {
        let mut last = self.fetching.lock().await;
        let have_keys = self.keys.read().await.is_some();
        if have_keys && last.is_some_and(|at| at.elapsed() < self.config.refresh_gap) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let url = match &self.config.jwks_url {
            Some(url) => url.clone(),
            None => {
                let discovery =
                    format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
                self.fetch_json::<Discovery>(&discovery).await?.jwks_uri
            }
        };
        let set = self
            .fetch_json::<JwkSet>(&url)
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "OIDC keys not fetched"))?;
        tracing::info!(url = %url, keys = set.keys.len(), "OIDC keys fetched");
        *self.keys.write().await = Some(CachedKeys { set, fetched: Instant::now() });
        Ok(())
    }

    async fn fetch_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let fail = |e: &dyn std::fmt::Display| OidcError::Keys(format!("{url}: {e}"));
        let mut response = self.client.get(url).send().await.map_err(|e| fail(&e))?;
        if !response.status().is_success() {
            return Err(fail(&format!("HTTP {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fail(&e))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(fail(&format!("larger than {MAX_DOCUMENT_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| fail(&e))
    }
}

/// The key for `kid`; without a `kid`, the set's only key.
fn pick<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}

/// Whether `alg` is a public-key algorithm (shared-secret HMAC tokens are refused: the key is public).
fn is_asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Whether the claims grant `wanted`: as a word of `scope`, or an item of `scp`, `roles`, `groups` or
/// `permissions`.
fn grants(claims: &serde_json::Map<String, Value>, wanted: &str) -> bool {
    let in_scope = claims.get("scope").and_then(Value::as_str).is_some_and(|s| s.split(' ').any(|w| w == wanted));
    in_scope
        || ["scp", "roles", "groups", "permissions"].iter().any(|claim| match claims.get(*claim) {
            Some(Value::Array(items)) => items.iter().any(|item| item.as_str() == Some(wanted)),
            Some(Value::String(text)) => text.split(' ').any(|w| w == wanted),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn write_is_granted_by_any_usual_claim() {
        let claims = |v: Value| v.as_object().cloned().unwrap();
        assert!(grants(&claims(json!({"scope": "openid registry:write"})), "registry:write"));
        assert!(grants(&claims(json!({"scp": ["registry:write"]})), "registry:write"));
        assert!(grants(&claims(json!({"groups": ["a", "registry:write"]})), "registry:write"));
        assert!(grants(&claims(json!({"roles": "registry:write"})), "registry:write"));
        assert!(!grants(&claims(json!({"scope": "registry:writer"})), "registry:write"));
        assert!(!grants(&claims(json!({"groups": [1, true]})), "registry:write"));
    }

    #[test]
    fn shared_secret_algorithms_are_refused() {
        assert!(!is_asymmetric(Algorithm::HS256));
        assert!(is_asymmetric(Algorithm::RS256) && is_asymmetric(Algorithm::ES256));
    }
}
