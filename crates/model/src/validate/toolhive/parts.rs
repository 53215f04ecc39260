//! Closed objects inside entries: environment variables, headers, metadata, provenance, OAuth.

use serde_json::Value;

use super::{Strings, date_time, not_allowed, text, uri};
use crate::validate::check::{Quoted, Sink, What, boolean, integer_in, length, object, required, string};
use crate::validate::format;
use crate::validate::loc::Loc;

/// `name`, `description` (5..200) and `required` of an environment variable or header, plus the
/// shared optional `secret` and `default`. Returns `false` for a member it does not know.
fn variable_member(
    sink: &mut Sink,
    at: &Loc<'_>,
    key: &str,
    value: &Value,
    owner: &str,
    name_ok: fn(&str) -> bool,
    name_rule: &str,
) -> bool {
    let what = What(owner, key);
    match key {
        "name" => {
            if let Some(s) = string(sink, at, value, what)
                && !name_ok(s)
            {
                sink.push(at, format!("{what} must match {name_rule}, found {}", Quoted(s)));
            }
        }
        "description" => {
            if let Some(s) = string(sink, at, value, what) {
                length(sink, at, s, 5, Some(200), what);
            }
        }
        "required" | "secret" => boolean(sink, at, value, what),
        "default" => {
            string(sink, at, value, what);
        }
        _ => return false,
    }
    true
}

/// An environment variable.
pub(super) fn env_var(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "environment variable";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    required(sink, loc, obj, &["name", "description", "required"], owner);
    for (key, value) in obj {
        let at = loc.key(key);
        if !variable_member(sink, &at, key, value, owner, text::is_env_name, text::ENV_NAME) {
            not_allowed(sink, &at, owner, key);
        }
    }
}

/// An HTTP header of a remote server.
pub(super) fn header(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "header";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    required(sink, loc, obj, &["name", "description", "required"], owner);
    for (key, value) in obj {
        let at = loc.key(key);
        if variable_member(sink, &at, key, value, owner, text::is_header_name, text::HEADER_NAME) {
            continue;
        }
        if key == "choices" {
            Strings { unique: true, ..Strings::ANY }.check(sink, &at, value, What(owner, key), "choice");
        } else {
            not_allowed(sink, &at, owner, key);
        }
    }
}

/// `metadata`: `stars` and `pulls` (integers ≥ 0), `last_updated` (date-time).
pub(super) fn metadata(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "metadata";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What(owner, key);
        match key.as_str() {
            "stars" | "pulls" => integer_in(sink, &at, value, 0, None, what),
            "last_updated" => date_time(sink, &at, value, what),
            _ => not_allowed(sink, &at, owner, key),
        }
    }
}

/// `provenance`: signing and attestation information.
pub(super) fn provenance(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "provenance";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What(owner, key);
        match key.as_str() {
            "cert_issuer" | "repository_uri" => uri(sink, &at, value, what),
            "repository_ref" | "runner_environment" | "signer_identity" => {
                string(sink, &at, value, what);
            }
            "sigstore_url" => {
                if let Some(s) = string(sink, &at, value, what)
                    && !format::is_hostname(s)
                {
                    sink.push(&at, format!("{what} must be a host name, found {}", Quoted(s)));
                }
            }
            "attestation" => attestation(sink, &at, value),
            _ => not_allowed(sink, &at, owner, key),
        }
    }
}

/// `provenance.attestation`: `predicate_type` (URI) and any `predicate`.
fn attestation(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "attestation";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    for (key, value) in obj {
        let at = loc.key(key);
        match key.as_str() {
            "predicate_type" => uri(sink, &at, value, What(owner, key)),
            "predicate" => {}
            _ => not_allowed(sink, &at, owner, key),
        }
    }
}

/// `oauth_config` of a remote server.
pub(super) fn oauth_config(sink: &mut Sink, loc: &Loc<'_>, value: &Value) {
    let owner = "oauth_config";
    let Some(obj) = object(sink, loc, value, What("", owner)) else {
        return;
    };
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What(owner, key);
        match key.as_str() {
            "issuer" | "authorize_url" | "token_url" => uri(sink, &at, value, what),
            "client_id" | "resource" => {
                string(sink, &at, value, what);
            }
            "scopes" => Strings::ANY.check(sink, &at, value, what, "scope"),
            "use_pkce" => boolean(sink, &at, value, what),
            "callback_port" => integer_in(sink, &at, value, 1, Some(65535), what),
            "oauth_params" => {
                if let Some(params) = object(sink, &at, value, what) {
                    for (name, v) in params {
                        string(sink, &at.key(name), v, What(owner, "oauth parameter"));
                    }
                }
            }
            _ => not_allowed(sink, &at, owner, key),
        }
    }
}
