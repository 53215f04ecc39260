//! Request ids: `x-request-id` taken from the request when it is a short token, otherwise generated
//! (128 random bits in hex); kept in the request (header and [`RequestId`] extension) and echoed on the
//! response.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};

/// The header carrying the id.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id accepted from a client.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of the request being served, as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Whether a client's id is kept: 1 to [`MAX_REQUEST_ID_LEN`] characters among letters, digits and
/// `-_.:+/=@`, so it is safe in logs and headers.
fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b"-_.:+/=@".contains(&b))
}

/// A fresh id: 32 hex digits.
fn generate() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let random = fastrand::u128(..);
    let mut text = [0u8; 32];
    for (i, slot) in text.iter_mut().enumerate() {
        *slot = HEX[((random >> (124 - 4 * i)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&text).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Gives the request its id (kept from the client or generated) as header and [`RequestId`] extension, and
/// returns it for the response.
pub fn assign(request: &mut Request) -> HeaderValue {
    let id = match request.headers().get(&X_REQUEST_ID) {
        Some(value) if acceptable(value) => value.clone(),
        _ => generate(),
    };
    request.headers_mut().insert(X_REQUEST_ID, id.clone());
    request.extensions_mut().insert(RequestId(id.clone()));
    id
}

#[cfg(test)]
mod tests {
    use super::{HeaderValue, acceptable, generate};

    #[test]
    fn client_ids_are_bounded_tokens() {
        assert!(acceptable(&HeaderValue::from_static("abc-123_x.y:z")));
        assert!(!acceptable(&HeaderValue::from_static("")));
        assert!(!acceptable(&HeaderValue::from_static("has space")));
        assert!(!acceptable(&HeaderValue::from_static("quote\"d")));
        let long = "a".repeat(129);
        assert!(!acceptable(&HeaderValue::from_str(&long).expect("header")));
        let generated = generate();
        assert_eq!(generated.len(), 32);
        assert!(acceptable(&generated));
        assert_ne!(generated, generate());
    }
}
