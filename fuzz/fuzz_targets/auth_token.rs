//! Bearer credentials: the token file (`TokenSet::parse`) and OIDC JWTs (`OidcVerifier::verify`, against a
//! provider on loopback whose keys are fetched once).
//!
//! The first byte picks the mode:
//! - `F` + token-file text: parsing never panics, and an error never quotes a `thv_…` token written in the
//!   offending line (the file holds hashes; a pasted token must not end up in logs);
//! - `J` + `HEADER\nCLAIMS\nREST`: a JWT made of the two JSON texts (`ISSUER` in CLAIMS stands for the
//!   provider's address, which changes with each run), signed by the provider's key when REST starts with `!`,
//!   else carrying REST as its signature. A token is accepted only when it is the provider's
//!   signature over it, of an issuer and audience the server trusts, not expired;
//! - anything else: the input itself is the token.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use libfuzzer_sys::fuzz_target;
use thv_api::auth::{OidcVerifier, TokenSet};
use thv_fuzz::provider::{AUDIENCE, Provider};

fn verifier() -> &'static OidcVerifier {
    static VERIFIER: std::sync::OnceLock<OidcVerifier> = std::sync::OnceLock::new();
    VERIFIER.get_or_init(|| OidcVerifier::new(Provider::get().config()).expect("an OIDC verifier"))
}

fn token_file(text: &str) {
    let Err((line, message)) = TokenSet::parse(text) else { return };
    let offending = text.lines().nth(line - 1).unwrap_or_else(|| panic!("line {line} of {text:?} does not exist"));
    for field in offending.split_whitespace().filter(|f| f.starts_with("thv_") && f.len() > 8) {
        assert!(!message.contains(field), "line {line}: the error {message:?} quotes the token {field:?}");
    }
}

fn jwt(input: &[u8]) -> String {
    let mut parts = input.splitn(3, |&b| b == b'\n');
    let (header, claims, rest) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next());
    let claims = match std::str::from_utf8(claims) {
        Ok(text) => text.replace("ISSUER", &Provider::get().issuer).into_bytes(),
        Err(_) => claims.to_vec(),
    };
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = match rest {
        Some([b'!', ..]) => {
            let key = Provider::get().encoding_key();
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::ES256).expect("signs")
        }
        Some(raw) => URL_SAFE_NO_PAD.encode(raw),
        None => String::new(),
    };
    format!("{signing_input}.{signature}")
}

/// Whether the provider signed `token` and it passes the checks a server must make, decided by
/// `jsonwebtoken` directly.
fn acceptable(token: &str) -> bool {
    let provider = Provider::get();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[provider.issuer.as_str()]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 60;
    jsonwebtoken::decode::<serde_json::Value>(token, &provider.decoding_key(), &validation).is_ok()
}

fuzz_target!(|data: &[u8]| {
    let token = match data {
        [b'F', text @ ..] => {
            if let Ok(text) = std::str::from_utf8(text) {
                token_file(text);
            }
            return;
        }
        [b'J', rest @ ..] => jwt(rest),
        raw => match std::str::from_utf8(raw) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
    };
    let verified = thv_fuzz::runtime().block_on(verifier().verify(&token));
    if let Ok(caller) = &verified {
        assert!(acceptable(&token), "{token:?} was accepted as {caller:?}");
        assert!(caller.subject.starts_with("oidc:"), "{caller:?}");
    }
});
