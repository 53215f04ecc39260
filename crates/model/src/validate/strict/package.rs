//! Packages: per-`registryType` rules, identifier, arguments and transport URL.

use serde_json::{Map, Value};

use super::{url, version};
use crate::validate::check::{Found, Quoted, Sink};
use crate::validate::loc::Loc;
use crate::validate::schema::Keys;

/// Registry types the official registry accepts.
const KNOWN_TYPES: [&str; 6] = ["npm", "pypi", "oci", "nuget", "mcpb", "cargo"];
/// Registry types whose packages need a `version`.
const VERSIONED: [&str; 4] = ["npm", "pypi", "nuget", "cargo"];

/// Checks one package object.
pub(super) fn check(sink: &mut Sink, loc: &Loc<'_>, pkg: &Map<String, Value>, keys: &Keys) {
    if let Some(kind) = pkg.get(keys.registry_type).and_then(Value::as_str) {
        registry_type(sink, loc, pkg, keys, kind);
    }
    if let Some(v) = pkg.get("version").and_then(Value::as_str) {
        version::check_package(sink, &loc.key("version"), v);
    }
    if let Some(id) = pkg.get("identifier").and_then(Value::as_str)
        && id.contains(' ')
    {
        sink.push(&loc.key("identifier"), format!("package identifier must not contain spaces, found {}", Quoted(id)));
    }
    for list in [keys.runtime_arguments, keys.package_arguments] {
        if let Some(args) = pkg.get(list).and_then(Value::as_array) {
            let at = loc.key(list);
            for (i, arg) in args.iter().enumerate() {
                if let Some(arg) = arg.as_object() {
                    named_argument(sink, &at.index(i), arg);
                }
            }
        }
    }
    if let Some(transport) = pkg.get("transport").and_then(Value::as_object) {
        self::transport(sink, &loc.key("transport"), transport, pkg, keys);
    }
}

/// The rules that depend on `registryType`.
fn registry_type(sink: &mut Sink, loc: &Loc<'_>, pkg: &Map<String, Value>, keys: &Keys, kind: &str) {
    if !KNOWN_TYPES.contains(&kind) {
        sink.push(
            &loc.key(keys.registry_type),
            format!(
                "package {} {} is not accepted by the official registry (known: {})",
                keys.registry_type,
                Quoted(kind),
                KNOWN_TYPES.join(", ")
            ),
        );
        return;
    }
    let version = pkg.get("version");
    if VERSIONED.contains(&kind) && version.is_none_or(|v| v.as_str() == Some("")) {
        sink.push(loc, format!("{kind} package needs a `version`"));
    }
    if kind == "oci" && version.is_some() {
        sink.push(
            &loc.key("version"),
            "oci package must not have a `version`; the image tag belongs in `identifier`".to_owned(),
        );
    }
    if matches!(kind, "oci" | "mcpb") && pkg.contains_key(keys.registry_base_url) {
        sink.push(
            &loc.key(keys.registry_base_url),
            format!("{kind} package must not have `{}`", keys.registry_base_url),
        );
    }
    match (kind, pkg.contains_key(keys.file_sha256)) {
        ("mcpb", false) => sink.push(loc, format!("mcpb package needs `{}` (the bundle's SHA-256)", keys.file_sha256)),
        (other, true) if other != "mcpb" => sink.push(
            &loc.key(keys.file_sha256),
            format!("only mcpb packages may have `{}`, found it on a {other} package", keys.file_sha256),
        ),
        _ => {}
    }
}

/// A named argument's `name` (non-empty, none of `< > space $`) and that `value`/`default` do not
/// repeat it.
fn named_argument(sink: &mut Sink, loc: &Loc<'_>, arg: &Map<String, Value>) {
    if arg.get("type").and_then(Value::as_str) != Some("named") {
        return;
    }
    let Some(name) = arg.get("name").and_then(Value::as_str) else {
        return;
    };
    if name.is_empty() {
        sink.push(&loc.key("name"), "named argument name must not be empty".to_owned());
        return;
    }
    if name.contains(['<', '>', ' ', '$']) {
        sink.push(
            &loc.key("name"),
            format!("named argument name must be the bare flag (no '<', '>', spaces or '$'), found {}", Quoted(name)),
        );
    }
    for key in ["value", "default"] {
        if let Some(v) = arg.get(key).and_then(Value::as_str)
            && !v.is_empty()
            && v.starts_with(name)
        {
            sink.push(
                &loc.key(key),
                format!("named argument {key} must not repeat the flag {}, found {}", Quoted(name), Quoted(v)),
            );
        }
    }
}

/// stdio without `url`; streamable-http and sse with an http(s) `url` whose `{variables}` name the
/// package's environment variables, argument names or value hints.
fn transport(sink: &mut Sink, loc: &Loc<'_>, transport: &Map<String, Value>, pkg: &Map<String, Value>, keys: &Keys) {
    let kind = transport.get("type").and_then(Value::as_str);
    let url_value = transport.get("url");
    let url_text = url_value.and_then(Value::as_str);
    let at = loc.key("url");
    match kind {
        Some("stdio") => {
            if let Some(v) = url_value.filter(|v| v.as_str() != Some("")) {
                sink.push(&at, format!("stdio transport must not have a url, found {}", Found(v)));
            }
        }
        Some(kind @ ("streamable-http" | "sse")) => match url_text {
            Some("") => sink.push(&at, format!("{kind} transport needs a url")),
            Some(u) => {
                let filled = url::fill_template(u);
                let http = url::parse(&filled)
                    .is_some_and(|p| p.scheme.eq_ignore_ascii_case("http") || p.scheme.eq_ignore_ascii_case("https"));
                if !http {
                    sink.push(
                        &at,
                        format!("{kind} transport url must be an http(s) URL with a host, found {}", Quoted(u)),
                    );
                }
                let known = available_variables(pkg, keys);
                for var in url::variables(u) {
                    if !known.contains(&var) {
                        sink.push(
                            &at,
                            format!(
                                "transport url uses {{{var}}}, which names no environment variable, argument name or value hint of this package"
                            ),
                        );
                    }
                }
            }
            None => {}
        },
        _ => {}
    }
}

/// Names a package transport URL may use: environment variable names, argument names and value
/// hints.
fn available_variables<'v>(pkg: &'v Map<String, Value>, keys: &Keys) -> Vec<&'v str> {
    let mut out = Vec::new();
    let items = |key: &str| pkg.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for env in items(keys.environment_variables) {
        out.extend(env.get("name").and_then(Value::as_str));
    }
    for list in [keys.runtime_arguments, keys.package_arguments] {
        for arg in items(list) {
            out.extend(arg.get("name").and_then(Value::as_str).filter(|s| !s.is_empty()));
            out.extend(arg.get(keys.value_hint).and_then(Value::as_str).filter(|s| !s.is_empty()));
        }
    }
    out
}
