//! Transports: a package's `transport` (stdio, streamable-http or sse) and `remotes[]` items
//! (streamable-http or sse, with `variables` from 2025-12-11).

use serde_json::{Map, Value};

use super::{Ctx, input};
use crate::validate::check::{Choices, Found, Quoted, What, array, member, object, required, string};
use crate::validate::loc::Loc;
use crate::validate::pattern;

/// Transport types a package may use.
const LOCAL_TYPES: [&str; 3] = ["stdio", "streamable-http", "sse"];
/// Transport types a remote may use.
const REMOTE_TYPES: [&str; 2] = ["streamable-http", "sse"];

/// A package's `transport`: any of stdio, streamable-http, sse.
pub(super) fn local(cx: &mut Ctx, loc: &Loc<'_>, value: &Value) {
    let Some(obj) = object(&mut cx.sink, loc, value, What("package", "transport")) else {
        return;
    };
    if matches!(kind(cx, loc, obj, &LOCAL_TYPES, "transport"), Some("streamable-http" | "sse")) {
        http(cx, loc, obj, "transport");
    }
}

/// One `remotes[]` item: streamable-http or sse, plus `variables` from 2025-12-11.
pub(super) fn remote(cx: &mut Ctx, loc: &Loc<'_>, value: &Value) {
    let Some(obj) = object(&mut cx.sink, loc, value, What("", "remote")) else {
        return;
    };
    if kind(cx, loc, obj, &REMOTE_TYPES, "remote").is_some() {
        http(cx, loc, obj, "remote");
    }
    if cx.rules.remote_variables
        && let Some(vars) = member(obj, "variables")
    {
        input::variables(cx, &loc.key("variables"), vars, "remote");
    }
}

/// The transport `type` when it is one of `allowed`; a finding otherwise.
fn kind<'v>(
    cx: &mut Ctx,
    loc: &Loc<'_>,
    obj: &'v Map<String, Value>,
    allowed: &[&str],
    owner: &str,
) -> Option<&'v str> {
    let Some(value) = member(obj, "type") else {
        cx.sink.push(loc, format!("{owner} is missing required field `type` ({})", Choices(allowed)));
        return None;
    };
    match value.as_str() {
        Some(t) if allowed.contains(&t) => Some(t),
        _ => {
            cx.sink
                .push(&loc.key("type"), format!("{owner} type must be {}, found {}", Choices(allowed), Found(value)));
            None
        }
    }
}

/// The streamable-http / sse shape: required string `url` (matching `^https?://[^\s]+$` from
/// 2025-12-11) and optional `headers[]`.
fn http(cx: &mut Ctx, loc: &Loc<'_>, obj: &Map<String, Value>, owner: &str) {
    required(&mut cx.sink, loc, obj, &["url"], owner);
    if let Some(value) = member(obj, "url") {
        let at = loc.key("url");
        let what = What(owner, "url");
        if let Some(url) = string(&mut cx.sink, &at, value, what)
            && cx.rules.url_pattern
            && !pattern::is_http_url(url)
        {
            cx.sink.push(
                &at,
                format!(
                    "{what} must start with http:// or https:// and contain no white space (pattern {}), found {}",
                    pattern::HTTP_URL,
                    Quoted(url)
                ),
            );
        }
    }
    if let Some(value) = member(obj, "headers") {
        let at = loc.key("headers");
        if let Some(items) = array(&mut cx.sink, &at, value, What(owner, "headers")) {
            for (i, item) in items.iter().enumerate() {
                input::key_value(cx, &at.index(i), item, "header");
            }
        }
    }
}
