//! Packages (`packages[]`).

use serde_json::Value;

use super::{Ctx, input, transport};
use crate::validate::check::{Quoted, What, array, length, object, required, string};
use crate::validate::loc::Loc;
use crate::validate::pattern;

/// Checks one package.
pub(super) fn check(cx: &mut Ctx, loc: &Loc<'_>, value: &Value) {
    let Some(obj) = object(&mut cx.sink, loc, value, What("", "package")) else {
        return;
    };
    let keys = cx.rules.keys;
    let needed = [keys.registry_type, "identifier", "transport", "version"];
    let count = if cx.rules.package_version_required { 4 } else { 3 };
    required(&mut cx.sink, loc, obj, &needed[..count], "package");
    let declared = keys.package_properties();
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What("package", key);
        let k = key.as_str();
        if k == "transport" {
            transport::local(cx, &at, value);
        } else if k == "version" {
            version(cx, &at, value);
        } else if k == keys.file_sha256 {
            if let Some(s) = string(&mut cx.sink, &at, value, what)
                && !pattern::is_sha256(s)
            {
                cx.sink.push(
                    &at,
                    format!(
                        "{what} must be 64 lowercase hex digits (pattern {}), found {}",
                        pattern::SHA256,
                        Quoted(s)
                    ),
                );
            }
        } else if k == keys.runtime_arguments || k == keys.package_arguments {
            if let Some(items) = array(&mut cx.sink, &at, value, what) {
                for (i, item) in items.iter().enumerate() {
                    input::argument(cx, &at.index(i), item);
                }
            }
        } else if k == keys.environment_variables {
            if let Some(items) = array(&mut cx.sink, &at, value, what) {
                for (i, item) in items.iter().enumerate() {
                    input::key_value(cx, &at.index(i), item, "environment variable");
                }
            }
        } else if declared.contains(&k) {
            // registryType, registryBaseUrl, identifier, runtimeHint: plain strings.
            string(&mut cx.sink, &at, value, what);
        } else if cx.rules.closed_package {
            cx.sink.push(
                &at,
                format!(
                    "package field `{key}` is not allowed by the {} schema, which allows only {}",
                    cx.rules.version,
                    declared.join(", ")
                ),
            );
        }
    }
}

/// Package `version`: a non-empty string other than `latest`.
fn version(cx: &mut Ctx, loc: &Loc<'_>, value: &Value) {
    let what = What("package", "version");
    let Some(s) = string(&mut cx.sink, loc, value, what) else {
        return;
    };
    length(&mut cx.sink, loc, s, 1, None, what);
    if s == "latest" {
        cx.sink.push(loc, format!("{what} must not be \"latest\"; give the exact version"));
    }
}
