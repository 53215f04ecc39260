//! Remotes: an https URL that is not local, whose `{variables}` are keys of `variables`.

use serde_json::{Map, Value};

use super::url;
use crate::validate::check::{Quoted, Sink};
use crate::validate::loc::Loc;

/// Checks one remote object.
pub(super) fn check(sink: &mut Sink, loc: &Loc<'_>, remote: &Map<String, Value>) {
    let kind = remote.get("type").and_then(Value::as_str);
    if !matches!(kind, Some("streamable-http" | "sse")) {
        return;
    }
    let Some(u) = remote.get("url").and_then(Value::as_str) else {
        return;
    };
    let at = loc.key("url");
    if u.is_empty() {
        sink.push(&at, "remote url must not be empty".to_owned());
        return;
    }
    let filled = url::fill_template(u);
    match url::parse(&filled) {
        None => sink.push(&at, format!("remote url must be an absolute https URL with a host, found {}", Quoted(u))),
        Some(p) if !p.scheme.eq_ignore_ascii_case("https") => {
            sink.push(&at, format!("remote url must use https, found {}", Quoted(u)));
        }
        Some(p) if is_local(p.host) => {
            sink.push(&at, format!("remote url must not point at the local machine, found {}", Quoted(u)))
        }
        Some(_) => {}
    }
    let vars = remote.get("variables").and_then(Value::as_object);
    for var in url::variables(u) {
        if !vars.is_some_and(|v: &Map<String, Value>| v.contains_key(var)) {
            sink.push(&at, format!("remote url uses {{{var}}}, which is not a key of the remote's `variables`"));
        }
    }
}

/// `localhost`, `127.0.0.1` or a `*.localhost` name.
fn is_local(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost" || host == "127.0.0.1" || host.ends_with(".localhost")
}
