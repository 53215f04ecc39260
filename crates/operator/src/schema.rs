//! Patterns, bounds and schema fragments shared by the resource's fields, so each rule has one home.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A Kubernetes object name that is a DNS subdomain (ConfigMaps, Secrets): lowercase letters, digits, `-`
/// and `.`, starting and ending with a letter or digit.
pub(crate) const DNS_SUBDOMAIN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// Longest DNS subdomain.
pub(crate) const DNS_SUBDOMAIN_MAX: u32 = 253;

/// A ConfigMap or Secret data key.
pub(crate) const DATA_KEY: &str = r"^[-._a-zA-Z0-9]+$";
/// Longest data key.
pub(crate) const DATA_KEY_MAX: u32 = 253;

/// A duration in Go syntax with whole numbers (`30s`, `5m`, `1h30m`, `500ms`); see [`crate::duration`].
pub(crate) const GO_DURATION: &str = r"^([0-9]+(ms|s|m|h))+$";
/// Longest duration text.
pub(crate) const GO_DURATION_MAX: u32 = 32;

/// Longest URL (source and repository URLs).
pub(crate) const URL_MAX: u32 = 2048;

/// An HTTP header name (an RFC 9110 token).
pub(crate) const HEADER_NAME: &str = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/// Longest header name.
pub(crate) const HEADER_NAME_MAX: u32 = 256;
/// An HTTP header value: printable, no line breaks.
pub(crate) const HEADER_VALUE: &str = r"^[^\r\n\x00]*$";
/// Longest header value.
pub(crate) const HEADER_VALUE_MAX: u32 = 4096;
/// Most extra headers per source.
pub(crate) const HEADERS_MAX: u32 = 32;

/// A filter value: no surrounding whitespace, not empty.
pub(crate) const FILTER_VALUE: &str = r"^\S(.*\S)?$";
/// Longest filter value.
pub(crate) const FILTER_VALUE_MAX: u32 = 256;
/// Most values per filter list.
pub(crate) const FILTER_VALUES_MAX: u32 = 256;

/// Longest free text (display name, description).
pub(crate) const TEXT_MAX: u32 = 1024;

/// A Git branch or tag name: no whitespace or characters Git forbids in ref names.
pub(crate) const GIT_REF_NAME: &str = r"^[^\s~^:?*\[\\]+$";
/// Longest Git branch or tag name.
pub(crate) const GIT_REF_NAME_MAX: u32 = 255;
/// A Git commit id, full or abbreviated (SHA-1 or SHA-256).
pub(crate) const GIT_COMMIT: &str = r"^[0-9a-fA-F]{4,64}$";
/// Longest path of a catalog file inside a repository.
pub(crate) const GIT_PATH_MAX: u32 = 1024;

/// The rule every URL field carries: an absolute `http://` or `https://` URL without credentials in it.
/// CEL's `isURL` and the Kubernetes string library; bounded by [`URL_MAX`].
pub(crate) const URL_RULE: &str = "isURL(self) && (self.startsWith('https://') || self.startsWith('http://')) \
                                   && !self.substring(self.indexOf('//') + 2).split('/')[0].contains('@')";
/// The message of [`URL_RULE`].
pub(crate) const URL_RULE_MESSAGE: &str =
    "must be an absolute http:// or https:// URL without user name or password (put credentials in authSecret)";

/// `status.conditions`: the standard `metav1.Condition` list as a list-type map keyed by `type`, so that
/// server-side apply merges conditions one by one.
pub(crate) fn conditions(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.subschema_for::<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert("x-kubernetes-list-map-keys".into(), serde_json::json!(["type"]));
    schema
}

/// `headers`: a list-type map keyed by `name`, so names are unique.
pub(crate) fn headers(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.subschema_for::<Vec<crate::HttpHeader>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert("x-kubernetes-list-map-keys".into(), serde_json::json!(["name"]));
    schema.insert("maxItems".into(), HEADERS_MAX.into());
    schema
}

/// A list of filter values: bounded strings without surrounding whitespace, each at most once.
pub(crate) fn filter_values(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "maxItems": FILTER_VALUES_MAX,
        "x-kubernetes-list-type": "set",
        "items": {"type": "string", "minLength": 1, "maxLength": FILTER_VALUE_MAX, "pattern": FILTER_VALUE},
    })
}
