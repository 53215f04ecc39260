//! An OIDC identity provider on loopback: a discovery document and a JWKS with one ES256 key, served from a
//! thread of its own, and the private key to sign tokens with.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use thv_api::auth::OidcConfig;

/// The audience tokens must name.
pub const AUDIENCE: &str = "thv-fuzz";
/// The scope that allows writes.
pub const WRITE_SCOPE: &str = "registry:write";
/// The id of the provider's only key.
pub const KEY_ID: &str = "fuzz-key";

/// The running provider.
pub struct Provider {
    /// `http://127.0.0.1:PORT`: the issuer, and where discovery and keys are served.
    pub issuer: String,
    /// PKCS #8 DER of the signing key.
    der: Vec<u8>,
    /// The public key as the JWKS publishes it.
    pub jwk: serde_json::Value,
}

impl Provider {
    /// The provider of this process, started on first use.
    pub fn get() -> &'static Provider {
        static PROVIDER: OnceLock<Provider> = OnceLock::new();
        PROVIDER.get_or_init(Provider::start)
    }

    fn start() -> Self {
        let pair = rcgen::KeyPair::generate().expect("a P-256 key");
        let raw = pair.public_key_raw();
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": KEY_ID,
            "x": URL_SAFE_NO_PAD.encode(&raw[1..33]), "y": URL_SAFE_NO_PAD.encode(&raw[33..]),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the provider");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr: SocketAddr = listener.local_addr().expect("provider address");
        let issuer = format!("http://{addr}");
        let discovery = serde_json::json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")}).to_string();
        let keys = serde_json::json!({ "keys": [jwk.clone()] }).to_string();
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(move || async move { discovery }))
            .route("/keys", get(move || async move { keys }));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                axum::serve(listener, app).await.expect("the provider serves");
            });
        });
        Self { issuer, der: pair.serialize_der(), jwk }
    }

    /// What a server trusting this provider is configured with. Keys are fetched again at most once an hour,
    /// so random key ids cannot make the fuzz target wait on the network.
    pub fn config(&self) -> OidcConfig {
        OidcConfig {
            issuer: self.issuer.clone(),
            audience: AUDIENCE.to_owned(),
            jwks_url: None,
            write_scope: WRITE_SCOPE.to_owned(),
            refresh_gap: Duration::from_secs(3600),
        }
    }

    /// The key tokens are signed with.
    pub fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_ec_der(&self.der)
    }

    /// The public key, to tell whether a token's signature is the provider's.
    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_jwk(&serde_json::from_value(self.jwk.clone()).expect("a JWK")).expect("a usable JWK")
    }
}
