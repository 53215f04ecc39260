//! `permissions` of a container server: mounted paths, network access, privileged mode.

use serde_json::Value;

use super::{Strings, not_allowed, text};
use crate::validate::check::{Found, Sink, What, array, boolean, integer_in, object, string, unique};
use crate::validate::format;
use crate::validate::loc::Loc;

/// The `permissions` object.
pub(super) fn check(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "permissions";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What(owner, key);
        match key.as_str() {
            "read" | "write" => Strings { valid: text::is_path, rule: text::PATH, non_empty: false, unique: true }
                .check(sink, &at, value, what, "path"),
            "privileged" => boolean(sink, &at, value, what),
            "network" => network(sink, &at, value),
            _ => not_allowed(sink, &at, owner, key),
        }
    }
}

/// `permissions.network`: only `outbound`.
fn network(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "network permissions";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    for (key, value) in obj {
        let at = loc.key(key);
        if key == "outbound" {
            outbound(sink, &at, value);
        } else {
            not_allowed(sink, &at, owner, key);
        }
    }
}

/// `permissions.network.outbound`: allowed hosts and ports, or everything.
fn outbound(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "outbound permissions";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What(owner, key);
        match key.as_str() {
            "insecure_allow_all" => boolean(sink, &at, value, what),
            "allow_host" => {
                let Some(hosts) = array(sink, &at, value, what) else {
                    continue;
                };
                for (i, h) in hosts.iter().enumerate() {
                    let item = at.index(i);
                    if let Some(s) = string(sink, &item, h, What(owner, "host"))
                        && !format::is_hostname(s)
                        && !text::is_host_suffix(s)
                    {
                        sink.push(
                            &item,
                            format!(
                                "allowed host must be a host name or a \".domain\" suffix (pattern {}), found {}",
                                text::HOST_SUFFIX,
                                Found(h)
                            ),
                        );
                    }
                }
                unique(sink, &at, hosts, What(owner, "host"));
            }
            "allow_port" => {
                let Some(ports) = array(sink, &at, value, what) else {
                    continue;
                };
                for (i, p) in ports.iter().enumerate() {
                    integer_in(sink, &at.index(i), p, 1, Some(65535), What(owner, "port"));
                }
                unique(sink, &at, ports, What(owner, "port"));
            }
            _ => not_allowed(sink, &at, owner, key),
        }
    }
}
