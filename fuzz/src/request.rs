//! A fuzz input read as an HTTP request, in the shape of HTTP/1.1 text so that seeds are readable:
//!
//! ```text
//! GET /v0.1/servers?limit=5&cursor=io.github.x/y:1.0.0
//! Authorization: Bearer thv_fuzz-reader
//!
//! optional body
//! ```
//!
//! The first line is the method and the request target; each following line up to an empty one is a header;
//! the rest is the body. Lines may end in `\r\n`. Input that no HTTP/1.1 parser would turn into a request (an
//! unknown method token, a target or header the `http` crate refuses) is not a request.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Uri};

/// The request `data` describes, or `None`.
pub fn parse(data: &[u8]) -> Option<Request<Body>> {
    let (head, body) = match find(data, b"\n\n").or_else(|| find(data, b"\r\n\r\n")) {
        Some(at) => {
            let gap = if data.get(at..at + 2) == Some(b"\n\n") { 2 } else { 4 };
            (&data[..at], &data[at + gap..])
        }
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let first = lines.next()?;
    let space = first.iter().position(|&b| b == b' ')?;
    let method = Method::from_bytes(&first[..space]).ok()?;
    let uri = Uri::try_from(&first[space + 1..]).ok()?;
    let mut request = Request::builder().method(method).uri(uri).body(Body::from(body.to_vec())).ok()?;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(value)) {
            request.headers_mut().append(name, value);
        }
    }
    Some(request)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
