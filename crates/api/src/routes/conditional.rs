//! Entity tags and conditional GETs: a strong `ETag` on every successful `GET` (except `/metrics`), derived
//! from the identity body with XXH3-128, and `304 Not Modified` when `If-None-Match` matches it.
//!
//! Compression runs outside [`etag`], so the tag always describes the uncompressed body; [`weaken_encoded`]
//! (outside compression) then marks the tag of a compressed response weak (`W/"…"`), as a strong tag must
//! not be shared by two encodings. `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2), so either
//! form revalidates, and a 304 repeats the form the client sent.

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// Length of a strong tag: 32 hex digits in quotes.
const TAG_LEN: usize = 34;

/// The strong entity tag of `body`: `"<XXH3-128 in hex>"`.
pub fn tag_of(body: &[u8]) -> [u8; TAG_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = xxhash_rust::xxh3::xxh3_128(body);
    let mut tag = [b'"'; TAG_LEN];
    for (i, slot) in tag[1..TAG_LEN - 1].iter_mut().enumerate() {
        let nibble = (hash >> (124 - 4 * i)) & 0xf;
        *slot = HEX[nibble as usize];
    }
    tag
}

/// How `If-None-Match` matched a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// `*`, or the strong form `"…"`.
    Strong,
    /// The weak form `W/"…"`.
    Weak,
}

/// Whether the `If-None-Match` value lists `tag` (a quoted strong tag) under the weak comparison, or is `*`.
pub fn if_none_match(value: &[u8], tag: &[u8]) -> Option<Matched> {
    let opaque = tag.get(1..tag.len().saturating_sub(1)).unwrap_or_default();
    let mut rest = value;
    loop {
        rest = trim_start(rest, |b| b == b' ' || b == b'\t' || b == b',');
        if rest.is_empty() {
            return None;
        }
        if rest[0] == b'*' {
            return Some(Matched::Strong);
        }
        let (weak, quoted) = match rest.strip_prefix(b"W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let Some(inner) = quoted.strip_prefix(b"\"") else {
            // Not an entity tag: skip to the next list element.
            rest = rest.iter().position(|&b| b == b',').map_or(&[][..], |comma| &rest[comma..]);
            continue;
        };
        let end = inner.iter().position(|&b| b == b'"')?;
        if &inner[..end] == opaque {
            return Some(if weak { Matched::Weak } else { Matched::Strong });
        }
        rest = &inner[end + 1..];
    }
}

fn trim_start(bytes: &[u8], skip: impl Fn(u8) -> bool) -> &[u8] {
    let start = bytes.iter().position(|&b| !skip(b)).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Adds `Vary: Accept-Encoding` unless present, as the body may be compressed further out.
fn vary_on_encoding(headers: &mut HeaderMap) {
    let present = headers
        .get_all(header::VARY)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"accept-encoding") || v.as_bytes() == b"*");
    if !present {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// Tags a successful `GET` response whose body is complete in memory, and answers 304 when the request's
/// `If-None-Match` matches. A response that already carries a (strong) tag — a pre-rendered body, see
/// [`crate::rendered::Rendered`] — keeps it and is not hashed again. Other requests and responses (errors,
/// redirects, streams, `/metrics`) pass.
pub async fn etag(request: Request, next: Next) -> Response {
    if request.method() != Method::GET || request.uri().path() == "/metrics" {
        return next.run(request).await;
    }
    let condition = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let mut response = match response.headers().get(header::ETAG) {
        Some(_) => response,
        None => match tagged(response).await {
            Ok(response) => response,
            Err(response) => return response,
        },
    };
    let Some(tag) = response.headers().get(header::ETAG).cloned() else {
        return response;
    };
    vary_on_encoding(response.headers_mut());
    match condition.as_ref().and_then(|value| if_none_match(value.as_bytes(), tag.as_bytes())) {
        Some(matched) => not_modified(response.headers(), &tag, matched),
        None => response,
    }
}

/// `response` with the strong tag of its body, when the body is complete in memory; `Err` with the response
/// to send as it is otherwise.
async fn tagged(response: Response) -> Result<Response, Response> {
    if response.body().size_hint().exact().is_none() {
        return Err(response);
    }
    let (mut parts, body) = response.into_parts();
    // A body with an exact size is in memory: collecting it does not copy a single chunk.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Err(
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "The response body could not be read.").into_response()
        );
    };
    if let Ok(strong) = HeaderValue::from_bytes(&tag_of(&bytes)) {
        parts.headers.insert(header::ETAG, strong);
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// The 304 for a response with `headers` tagged `tag`: the tag in the form the client sent, `Vary` and
/// `Cache-Control`, no body.
fn not_modified(headers: &HeaderMap, tag: &HeaderValue, matched: Matched) -> Response {
    let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
    let out = not_modified.headers_mut();
    let echoed = match matched {
        Matched::Strong => Some(tag.clone()),
        Matched::Weak => weak(tag.as_bytes()),
    };
    if let Some(value) = echoed {
        out.insert(header::ETAG, value);
    }
    for name in [header::VARY, header::CACHE_CONTROL] {
        for value in headers.get_all(&name) {
            out.append(name.clone(), value.clone());
        }
    }
    not_modified
}

/// `W/` + `tag`.
fn weak(tag: &[u8]) -> Option<HeaderValue> {
    let mut bytes = [0u8; TAG_LEN + 2];
    let target = bytes.get_mut(2..2 + tag.len())?;
    target.copy_from_slice(tag);
    bytes[..2].copy_from_slice(b"W/");
    HeaderValue::from_bytes(&bytes[..2 + tag.len()]).ok()
}

/// Marks the `ETag` of a compressed response (one with `Content-Encoding`) weak.
pub async fn weaken_encoded(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.headers().contains_key(header::CONTENT_ENCODING)
        && let Some(tag) = response.headers().get(header::ETAG)
        && tag.as_bytes().first() == Some(&b'"')
        && let Some(value) = weak(tag.as_bytes())
    {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{Matched, if_none_match, tag_of};

    #[test]
    fn tags_are_quoted_hex_and_follow_the_body() {
        let tag = tag_of(b"{}");
        assert_eq!(tag[0], b'"');
        assert_eq!(tag[33], b'"');
        assert!(tag[1..33].iter().all(u8::is_ascii_hexdigit));
        assert_ne!(tag, tag_of(b"[]"));
        assert_eq!(tag, tag_of(b"{}"));
    }

    #[test]
    fn if_none_match_uses_the_weak_comparison() {
        let tag = br#""0123""#;
        assert_eq!(if_none_match(b"*", tag), Some(Matched::Strong));
        assert_eq!(if_none_match(br#""0123""#, tag), Some(Matched::Strong));
        assert_eq!(if_none_match(br#"W/"0123""#, tag), Some(Matched::Weak));
        assert_eq!(if_none_match(br#""aa", W/"bb" ,"0123""#, tag), Some(Matched::Strong));
        assert_eq!(if_none_match(br#""a,b", W/"0123""#, tag), Some(Matched::Weak));
        assert_eq!(if_none_match(br#"junk, "0123""#, tag), Some(Matched::Strong));
        assert_eq!(if_none_match(br#""01234""#, tag), None);
        assert_eq!(if_none_match(br#""0123"#, tag), None);
        assert_eq!(if_none_match(b"", tag), None);
        assert_eq!(if_none_match(b"0123", tag), None);
    }
}
