//! Strict level: the official registry's publish rules (registry v1.8.0, `internal/validators`),
//! checked on top of the schema.
//!
//! The rules assume the schema's shape: a value of the wrong type is skipped here, since the schema
//! level reports it. Keys are read in the spelling of the document's declared schema (snake_case for
//! 2025-07-09), so an old document gets the same rules under its own key names.

use serde_json::{Map, Value};

use super::check::{Quoted, Sink};
use super::loc::Loc;
use super::schema::Keys;
use super::{Against, Finding, Level, effective_schema};

mod meta;
mod name;
mod package;
mod remote;
mod repository;
mod url;
mod version;

/// Applies the registry's publish rules to `doc` (a bare `server.json` document).
///
/// Rules from the registry: `$schema` present and naming a released date; publisher-provided
/// `_meta` at most 4096 bytes of JSON; name parts; versions that are neither `latest` nor ranges;
/// title not blank; `websiteUrl` and icon `src` absolute https; repository source and URL; clean
/// subfolder; per-`registryType` package rules; transport URLs and their `{variables}`; remotes
/// https and not local; named argument names. One rule is ours: a blank (white-space only)
/// description is rejected like a blank title.
pub fn validate_strict(doc: &Value) -> Vec<Finding> {
    let mut sink = Sink::new(Level::Strict);
    let root = Loc::Root;
    let Some(obj) = doc.as_object() else {
        sink.push(&root, "a server.json document must be an object".to_owned());
        return sink.into_findings();
    };
    let keys = Keys::of(effective_schema(doc, Against::Declared));
    meta::schema_url(&mut sink, obj);
    meta::publisher_size(&mut sink, obj);
    if let Some(name) = text(obj, "name") {
        name::check(&mut sink, &root.key("name"), name);
    }
    if let Some(v) = text(obj, "version") {
        version::check(&mut sink, &root.key("version"), v, "server version");
    }
    for key in ["title", "description"] {
        if let Some(s) = text(obj, key)
            && !s.is_empty()
            && s.trim().is_empty()
        {
            sink.push(&root.key(key), format!("server {key} must not be only white space, found {}", Quoted(s)));
        }
    }
    if let Some(u) = text(obj, keys.website_url).filter(|u| !u.is_empty()) {
        url::absolute_https(&mut sink, &root.key(keys.website_url), u, "server website URL");
    }
    if let Some(repo) = obj.get("repository").and_then(Value::as_object) {
        repository::check(&mut sink, &root.key("repository"), repo);
    }
    if let Some(icons) = obj.get("icons").and_then(Value::as_array) {
        let at = root.key("icons");
        for (i, icon) in icons.iter().enumerate() {
            if let Some(src) = icon.get("src").and_then(Value::as_str) {
                let icon = at.index(i);
                url::absolute_https(&mut sink, &icon.key("src"), src, "icon src");
            }
        }
    }
    if let Some(packages) = obj.get("packages").and_then(Value::as_array) {
        let at = root.key("packages");
        for (i, pkg) in packages.iter().enumerate() {
            if let Some(pkg) = pkg.as_object() {
                package::check(&mut sink, &at.index(i), pkg, keys);
            }
        }
    }
    if let Some(remotes) = obj.get("remotes").and_then(Value::as_array) {
        let at = root.key("remotes");
        for (i, r) in remotes.iter().enumerate() {
            if let Some(r) = r.as_object() {
                remote::check(&mut sink, &at.index(i), r);
            }
        }
    }
    sink.into_findings()
}

/// The member `key` of `obj` when it is a string.
fn text<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    obj.get(key).and_then(Value::as_str)
}
