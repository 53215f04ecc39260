//! Server entries: container servers (`servers`) and remote servers (`remote_servers`), both closed
//! objects.

use serde_json::Value;

use super::{Strings, not_allowed, parts, permissions, text, uri};
use crate::validate::check::{Quoted, Sink, What, array, integer_in, length, object, one_of, required, string};
use crate::validate::loc::Loc;

/// Which kind of entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A container image run by ToolHive.
    Container,
    /// An MCP server reached over HTTP.
    Remote,
}

impl Kind {
    fn owner(self) -> &'static str {
        match self {
            Kind::Container => "server",
            Kind::Remote => "remote server",
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Container => &["description", "image", "status", "tier", "tools", "transport"],
            Kind::Remote => &["url", "description", "status", "tier", "tools", "transport"],
        }
    }

    fn transports(self) -> &'static [&'static str] {
        match self {
            Kind::Container => &["stdio", "sse", "streamable-http"],
            Kind::Remote => &["sse", "streamable-http"],
        }
    }
}

/// Checks one entry.
pub(super) fn check(sink: &mut Sink, loc: &Loc<'_>, value: &Value, kind: Kind) {
    let owner = kind.owner();
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    required(sink, loc, obj, kind.required(), owner);
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What(owner, key);
        match (key.as_str(), kind) {
            ("name" | "title" | "overview", _) => {
                string(sink, &at, value, what);
            }
            ("description", _) => {
                if let Some(s) = string(sink, &at, value, what) {
                    length(sink, &at, s, 10, Some(500), what);
                }
            }
            ("tier", _) => one_of(sink, &at, value, &["Official", "Community"], what),
            ("status", _) => one_of(sink, &at, value, &["Active", "Deprecated"], what),
            ("transport", _) => one_of(sink, &at, value, kind.transports(), what),
            ("tools", _) => Strings { valid: text::is_tool, rule: text::TOOL, non_empty: true, unique: true }
                .check(sink, &at, value, what, "tool"),
            ("tags", _) => Strings { valid: text::is_tag, rule: text::TAG, non_empty: true, unique: true }
                .check(sink, &at, value, what, "tag"),
            ("tool_definitions", _) => {
                if let Some(items) = array(sink, &at, value, what) {
                    for (i, item) in items.iter().enumerate() {
                        object(sink, &at.index(i), item, What(owner, "tool definition"));
                    }
                }
            }
            ("metadata", _) => parts::metadata(sink, &at, value),
            ("repository_url", _) => uri(sink, &at, value, what),
            ("custom_metadata", _) => {
                object(sink, &at, value, what);
            }
            ("env_vars", _) => {
                if let Some(items) = array(sink, &at, value, what) {
                    for (i, item) in items.iter().enumerate() {
                        parts::env_var(sink, &at.index(i), item);
                    }
                }
            }
            ("image", Kind::Container) => {
                if let Some(s) = string(sink, &at, value, what)
                    && !text::is_image(s)
                {
                    sink.push(
                        &at,
                        format!(
                            "{what} must be a lowercase image reference with an optional tag and no digest, e.g. \"ghcr.io/org/name:1.0\" (pattern {}), found {}",
                            text::IMAGE,
                            Quoted(s)
                        ),
                    );
                }
            }
            ("args", Kind::Container) => Strings::ANY.check(sink, &at, value, what, "arg"),
            ("docker_tags", Kind::Container) => {
                Strings { unique: true, ..Strings::ANY }.check(sink, &at, value, what, "docker tag")
            }
            ("target_port" | "proxy_port", Kind::Container) => {
                integer_in(sink, &at, value, 1, Some(65535), what);
            }
            ("permissions", Kind::Container) => permissions::check(sink, &at, value),
            ("provenance", Kind::Container) => parts::provenance(sink, &at, value),
            ("url", Kind::Remote) => uri(sink, &at, value, what),
            ("headers", Kind::Remote) => {
                if let Some(items) = array(sink, &at, value, what) {
                    for (i, item) in items.iter().enumerate() {
                        parts::header(sink, &at.index(i), item);
                    }
                }
            }
            ("oauth_config", Kind::Remote) => parts::oauth_config(sink, &at, value),
            _ => not_allowed(sink, &at, owner, key),
        }
    }
}
