//! Validation of a whole ToolHive ("legacy") catalog file against ToolHive's JSON Schema
//! (`toolhive-legacy-registry.schema.json`, draft 7), natively.
//!
//! Unlike `server.json`, the ToolHive schema's `format`s are **asserted** here (`date-time` for
//! `last_updated`, `uri` for URLs, `hostname` for hosts), as a draft-7 validator does by default:
//! a catalog with `last_updated: "yesterday"` is rejected. See [`super::format`] for how closely
//! the checks follow the `jsonschema` crate.

use serde_json::{Map, Value};

use super::check::{Found, Quoted, Sink, What, array, length, object, required, string};
use super::loc::Loc;
use super::{Finding, Level, format};

mod entry;
mod parts;
mod permissions;
mod text;

/// Validates a whole ToolHive catalog file; pointers are relative to the file.
///
/// The list is empty exactly when the ToolHive schema accepts the file.
pub fn validate_toolhive_registry(doc: &Value) -> Vec<Finding> {
    let mut sink = Sink::new(Level::Schema);
    let root = Loc::Root;
    if let Some(obj) = object(&mut sink, &root, doc, What("", "a ToolHive catalog")) {
        top(&mut sink, &root, obj);
    }
    sink.into_findings()
}

/// The top level: `version`, `last_updated`, `servers`, `remote_servers`, `groups`.
fn top(sink: &mut Sink, root: &Loc<'_>, obj: &Map<String, Value>) {
    required(sink, root, obj, &["last_updated", "servers", "version"], "catalog");
    for (key, value) in obj {
        let at = root.key(key);
        let what = What("catalog", key);
        match key.as_str() {
            "version" => {
                if let Some(v) = string(sink, &at, value, what)
                    && !text::is_version(v)
                {
                    sink.push(
                        &at,
                        format!("{what} must be MAJOR.MINOR.PATCH (pattern {}), found {}", text::VERSION, Quoted(v)),
                    );
                }
            }
            "last_updated" => date_time(sink, &at, value, what),
            "servers" => servers(sink, &at, value, entry::Kind::Container, "servers"),
            "remote_servers" => servers(sink, &at, value, entry::Kind::Remote, "remote_servers"),
            "groups" => {
                if let Some(groups) = array(sink, &at, value, what) {
                    for (i, g) in groups.iter().enumerate() {
                        group(sink, &at.index(i), g);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A map of entries keyed by short names matching [`text::SERVER_KEY`].
fn servers(sink: &mut Sink, loc: &Loc<'_>, value: &Value, kind: entry::Kind, field: &str) {
    let Some(map) = object(sink, loc, value, What("", field)) else {
        return;
    };
    for (name, entry) in map {
        let at = loc.key(name);
        if !text::is_server_key(name) {
            sink.push(
                &at,
                format!(
                    "{field} key {} must be a short name of lowercase letters, digits and '-', at least 3 characters, starting and ending with a letter or digit (pattern {})",
                    Quoted(name),
                    text::SERVER_KEY
                ),
            );
        }
        entry::check(sink, &at, entry, kind);
    }
}

/// A group: `name`, `description`, and its own `servers` and `remote_servers`.
fn group(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let Some(obj) = object(sink, loc, value, What("", "group")) else {
        return;
    };
    required(sink, loc, obj, &["name", "description"], "group");
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What("group", key);
        match key.as_str() {
            "name" => {
                let Some(name) = string(sink, &at, value, what) else {
                    continue;
                };
                length(sink, &at, name, 1, Some(100), what);
                if !text::is_group_name(name) {
                    sink.push(
                        &at,
                        format!(
                            "{what} must be lowercase letters, digits and '-', starting and ending with a letter or digit (pattern {}), found {}",
                            text::GROUP_NAME,
                            Quoted(name)
                        ),
                    );
                }
            }
            "description" => {
                if let Some(s) = string(sink, &at, value, what) {
                    length(sink, &at, s, 10, Some(500), what);
                }
            }
            "servers" => servers(sink, &at, value, entry::Kind::Container, "group servers"),
            "remote_servers" => {
                servers(sink, &at, value, entry::Kind::Remote, "group remote_servers");
            }
            _ => not_allowed(sink, &at, "group", key),
        }
    }
}

/// A finding for a member that a closed object does not declare.
fn not_allowed(sink: &mut Sink, loc: &Loc<'_>, owner: &str, key: &str) {
    sink.push(loc, format!("{owner} field `{key}` is not allowed by the ToolHive schema"));
}

/// A string in RFC 3339 `date-time` format.
fn date_time(sink: &mut Sink, loc: &Loc<'_>, value: &Value, what: What<'_>) {
    if let Some(s) = string(sink, loc, value, what)
        && !format::is_date_time(s)
    {
        sink.push(
            loc,
            format!("{what} must be an RFC 3339 date-time such as \"2026-02-18T00:24:11Z\", found {}", Quoted(s)),
        );
    }
}

/// A string in RFC 3986 `uri` format (absolute).
fn uri(sink: &mut Sink, loc: &Loc<'_>, value: &Value, what: What<'_>) {
    if let Some(s) = string(sink, loc, value, what)
        && !format::is_uri(s)
    {
        sink.push(loc, format!("{what} must be an absolute URI, found {}", Quoted(s)));
    }
}

/// An array of strings, each accepted by `valid` (described by `rule`), optionally non-empty and
/// without duplicates.
struct Strings<'r> {
    valid: fn(&str) -> bool,
    rule: &'r str,
    non_empty: bool,
    unique: bool,
}

impl Strings<'_> {
    /// Any strings, duplicates allowed.
    const ANY: Strings<'static> = Strings { valid: |_| true, rule: "", non_empty: false, unique: false };

    fn check(&self, sink: &mut Sink, loc: &Loc<'_>, value: &Value, what: What<'_>, item: &str) {
        let Some(items) = array(sink, loc, value, what) else {
            return;
        };
        if self.non_empty && items.is_empty() {
            sink.push(loc, format!("{what} must not be empty"));
        }
        for (i, v) in items.iter().enumerate() {
            let at = loc.index(i);
            if let Some(s) = string(sink, &at, v, What(what.0, item))
                && !(self.valid)(s)
            {
                sink.push(&at, format!("{} {item} must match {}, found {}", what.0, self.rule, Found(v)));
            }
        }
        if self.unique {
            super::check::unique(sink, loc, items, What(what.0, item));
        }
    }
}
