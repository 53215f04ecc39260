//! The top level (`ServerDetail`), with its repository, icons and `_meta`.

use serde_json::{Map, Value};

use super::{Ctx, package, transport};
use crate::validate::check::{self, What, array, length, member, object, one_of, required, string};
use crate::validate::loc::Loc;
use crate::validate::pattern;

/// The official registry's metadata key, part of the document until 2025-09-29.
const OFFICIAL: &str = "io.modelcontextprotocol.registry/official";
/// The publisher's metadata key.
const PUBLISHER: &str = "io.modelcontextprotocol.registry/publisher-provided";

/// Checks a whole document.
pub(super) fn check(cx: &mut Ctx, doc: &Value) {
    let root = Loc::Root;
    let Some(obj) = object(&mut cx.sink, &root, doc, What("", "a server.json document")) else {
        return;
    };
    required(&mut cx.sink, &root, obj, &["name", "description", "version"], "server");
    let keys = cx.rules.keys;
    for (key, value) in obj {
        let loc = root.key(key);
        let what = What("server", key);
        let sink = &mut cx.sink;
        match key.as_str() {
            "name" => {
                if let Some(s) = string(sink, &loc, value, what) {
                    name(cx, &loc, s);
                }
            }
            "description" => {
                if let Some(s) = string(sink, &loc, value, what) {
                    length(sink, &loc, s, 1, Some(100), what);
                }
            }
            "version" => {
                if let Some(s) = string(sink, &loc, value, what) {
                    length(sink, &loc, s, 0, Some(255), what);
                }
            }
            "title" if cx.rules.display => {
                if let Some(s) = string(sink, &loc, value, what) {
                    length(sink, &loc, s, 1, Some(100), what);
                }
            }
            "$schema" => {
                string(sink, &loc, value, what);
            }
            k if k == keys.website_url => {
                string(sink, &loc, value, what);
            }
            "status" if cx.rules.status => {
                one_of(sink, &loc, value, &["active", "deprecated", "deleted"], what);
            }
            "repository" => repository(cx, &loc, value),
            "icons" if cx.rules.display => icons(cx, &loc, value),
            "packages" => {
                if let Some(items) = array(sink, &loc, value, what) {
                    for (i, item) in items.iter().enumerate() {
                        package::check(cx, &loc.index(i), item);
                    }
                }
            }
            "remotes" => {
                if let Some(items) = array(sink, &loc, value, what) {
                    for (i, item) in items.iter().enumerate() {
                        transport::remote(cx, &loc.index(i), item);
                    }
                }
            }
            "_meta" => meta(cx, &loc, value),
            _ => {}
        }
    }
}

/// `name`: 3..200 characters matching `namespace/name`.
fn name(cx: &mut Ctx, loc: &Loc<'_>, s: &str) {
    let what = What("server", "name");
    length(&mut cx.sink, loc, s, 3, Some(200), what);
    if !pattern::is_server_name(s) {
        cx.sink.push(
            loc,
            format!(
                "{what} must look like \"namespace/name\" (pattern {}), found {}",
                pattern::SERVER_NAME,
                check::Quoted(s)
            ),
        );
    }
}

/// `repository`: an object with string `url` and `source` (both required), `id`, `subfolder`.
fn repository(cx: &mut Ctx, loc: &Loc<'_>, value: &Value) {
    let sink = &mut cx.sink;
    let Some(obj) = object(sink, loc, value, What("server", "repository")) else {
        return;
    };
    required(sink, loc, obj, &["url", "source"], "repository");
    strings(sink, loc, obj, &["url", "source", "id", "subfolder"], "repository");
}

/// `icons`: an array of `{src, mimeType?, sizes?, theme?}`.
fn icons(cx: &mut Ctx, loc: &Loc<'_>, value: &Value) {
    let sink = &mut cx.sink;
    let Some(items) = array(sink, loc, value, What("server", "icons")) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let loc = loc.index(i);
        let Some(obj) = object(sink, &loc, item, What("", "icon")) else {
            continue;
        };
        required(sink, &loc, obj, &["src"], "icon");
        for (key, value) in obj {
            let at = loc.key(key);
            let what = What("icon", key);
            match key.as_str() {
                "src" => {
                    if let Some(s) = string(sink, &at, value, what) {
                        length(sink, &at, s, 0, Some(255), what);
                    }
                }
                "mimeType" => one_of(
                    sink,
                    &at,
                    value,
                    &["image/png", "image/jpeg", "image/jpg", "image/svg+xml", "image/webp"],
                    what,
                ),
                "theme" => one_of(sink, &at, value, &["light", "dark"], what),
                "sizes" => {
                    let Some(sizes) = array(sink, &at, value, what) else {
                        continue;
                    };
                    for (j, size) in sizes.iter().enumerate() {
                        let at = at.index(j);
                        let what = What("icon", "size");
                        if let Some(s) = string(sink, &at, size, what)
                            && !pattern::is_icon_size(s)
                        {
                            sink.push(
                                &at,
                                format!(
                                    "{what} must be \"WIDTHxHEIGHT\" or \"any\" (pattern {}), found {}",
                                    pattern::ICON_SIZE,
                                    check::Quoted(s)
                                ),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// `_meta`: an object; the publisher's key (and, in early schemas, the registry's) must be objects.
fn meta(cx: &mut Ctx, loc: &Loc<'_>, value: &Value) {
    let sink = &mut cx.sink;
    let Some(obj) = object(sink, loc, value, What("server", "_meta")) else {
        return;
    };
    if let Some(v) = member(obj, PUBLISHER) {
        object(sink, &loc.key(PUBLISHER), v, What("_meta", PUBLISHER));
    }
    if cx.rules.official_meta
        && let Some(v) = member(obj, OFFICIAL)
    {
        object(sink, &loc.key(OFFICIAL), v, What("_meta", OFFICIAL));
    }
}

/// Type-checks the members of `obj` named in `keys` that are present: each must be a string.
pub(super) fn strings(sink: &mut check::Sink, loc: &Loc<'_>, obj: &Map<String, Value>, keys: &[&str], owner: &str) {
    for key in keys {
        if let Some(v) = member(obj, key) {
            string(sink, &loc.key(key), v, What(owner, key));
        }
    }
}
