//! CORS, open as the official registry's (browser webviews such as VS Code's gallery read the API): every
//! answer allows any origin, and any `OPTIONS` request is a preflight answered at once with the allowed
//! methods, any request header and a one-day max age. The headers are fixed, so they are static values:
//! no allocation per request.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;

const ANY: HeaderValue = HeaderValue::from_static("*");
/// The request headers a preflight's answer depends on (as caches must be told).
const VARY: HeaderValue =
    HeaderValue::from_static("origin, access-control-request-method, access-control-request-headers");
const METHODS: HeaderValue = HeaderValue::from_static("GET,POST,PUT,PATCH");
const ONE_DAY: HeaderValue = HeaderValue::from_static("86400");

/// The answer to a preflight (`OPTIONS`) request, `None` for any other request.
pub fn preflight(request: &Request) -> Option<Response> {
    if request.method() != Method::OPTIONS {
        return None;
    }
    let mut response = Response::default();
    let headers = response.headers_mut();
    headers.insert(header::VARY, VARY);
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY);
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, METHODS);
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ANY);
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, ONE_DAY);
    Some(response)
}

/// Adds the CORS headers of an ordinary answer (`Vary` is appended to the response's own).
pub fn allow(headers: &mut HeaderMap) {
    headers.append(header::VARY, VARY);
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY);
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    #[test]
    fn only_options_is_a_preflight() {
        let get = Request::builder().uri("/v0.1/servers").body(Body::empty()).unwrap();
        assert!(preflight(&get).is_none());
        let options = Request::builder().method(Method::OPTIONS).uri("/x").body(Body::empty()).unwrap();
        let response = preflight(&options).unwrap();
        assert_eq!(response.status(), 200);
        for name in [
            header::VARY,
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::ACCESS_CONTROL_MAX_AGE,
        ] {
            assert!(response.headers().contains_key(&name), "{name}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        allow(&mut headers);
        assert_eq!(headers.get_all(header::VARY).iter().count(), 2, "appended, not replaced");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
}
