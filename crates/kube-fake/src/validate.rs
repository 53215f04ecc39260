//! The validation a real API server applies that the operator depends on: object names, label keys and
//! values, annotation size, ConfigMap/Secret data size and keys, and the storage size limit.

use base64::Engine as _;
use serde_json::Value;

use crate::error::{ApiError, FieldCause};
use crate::kinds::ResourceKind;

/// ConfigMap and Secret data limit (`corev1.MaxSecretSize`).
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
/// etcd's default request limit: larger objects are refused by storage.
pub const MAX_OBJECT_BYTES: usize = 1024 * 1024 * 3 / 2;
/// The API server's limit on a write request body.
pub const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;
/// Total size of `metadata.annotations`.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

const SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_1123_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_1035_MESSAGE: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// RFC 1123 subdomain: dot-separated RFC 1123 labels, at most 253 characters.
pub fn is_dns_subdomain(value: &str) -> bool {
    value.len() <= 253 && value.split('.').all(is_dns_label)
}

fn is_dns_1035_label(value: &str) -> bool {
    is_dns_label(value) && value.starts_with(|c: char| c.is_ascii_lowercase())
}

/// A label value or the name part of a qualified name: `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_qualified_part(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => !prefix.is_empty() && is_dns_subdomain(prefix) && is_qualified_part(name),
        None => is_qualified_part(key),
    }
}

fn invalid(field: &str, value: &str, detail: &str) -> FieldCause {
    FieldCause {
        reason: "FieldValueInvalid",
        field: field.to_string(),
        message: format!("Invalid value: {value:?}: {detail}"),
    }
}

fn too_long(field: &str, limit: usize) -> FieldCause {
    FieldCause {
        reason: "FieldValueTooLong",
        field: field.to_string(),
        message: format!("Too long: must have at most {limit} bytes"),
    }
}

/// Validates an object about to be stored; the causes become one 422 `Invalid` answer.
pub(crate) fn validate_object(kind: &ResourceKind, object: &Value) -> Result<(), ApiError> {
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let mut causes = Vec::new();
    if name.is_empty() {
        causes.push(FieldCause {
            reason: "FieldValueRequired",
            field: "metadata.name".to_string(),
            message: "Required value: name or generateName is required".to_string(),
        });
    } else {
        let (valid, message) = match kind.kind.as_str() {
            "Namespace" if kind.group.is_empty() => (is_dns_label(name), LABEL_1123_MESSAGE),
            "Service" if kind.group.is_empty() => (is_dns_1035_label(name), LABEL_1035_MESSAGE),
            _ => (is_dns_subdomain(name), SUBDOMAIN_MESSAGE),
        };
        if !valid {
            causes.push(invalid("metadata.name", name, message));
        }
    }
    if let Some(labels) = object.pointer("/metadata/labels").and_then(Value::as_object) {
        for (key, value) in labels {
            if !is_qualified_name(key) {
                causes.push(invalid(
                    "metadata.labels",
                    key,
                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'",
                ));
            }
            let value = value.as_str().unwrap_or_default();
            if !value.is_empty() && !is_qualified_part(value) {
                causes.push(invalid(
                    "metadata.labels",
                    value,
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)",
                ));
            }
        }
    }
    if let Some(annotations) = object.pointer("/metadata/annotations").and_then(Value::as_object) {
        let total: usize = annotations.iter().map(|(key, value)| key.len() + value.as_str().map_or(0, str::len)).sum();
        if total > MAX_ANNOTATIONS_BYTES {
            causes.push(FieldCause {
                reason: "FieldValueTooLong",
                field: "metadata.annotations".to_string(),
                message: format!("Too long: must have at most {MAX_ANNOTATIONS_BYTES} bytes"),
            });
        }
    }
    if kind.group.is_empty() && matches!(kind.kind.as_str(), "ConfigMap" | "Secret") {
        validate_data(kind, object, &mut causes);
    }
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid(kind, name, causes)) }
}

/// ConfigMap and Secret keys and the 1 MiB total, counted as the API server counts it (keys plus values;
/// `binaryData` and Secret `data` decoded from base64).
fn validate_data(kind: &ResourceKind, object: &Value, causes: &mut Vec<FieldCause>) {
    let is_secret = kind.kind == "Secret";
    let mut total = 0usize;
    let fields: &[&str] = if is_secret { &["data", "stringData"] } else { &["data", "binaryData"] };
    for field in fields {
        let Some(entries) = object.get(*field).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in entries {
            let key_ok = !key.is_empty()
                && key.len() <= 253
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !key_ok {
                causes.push(invalid(
                    &format!("{field}[{key}]"),
                    key,
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                ));
            }
            let text = value.as_str().unwrap_or_default();
            let encoded = *field == "binaryData" || (is_secret && *field == "data");
            let size = if encoded {
                match base64::engine::general_purpose::STANDARD.decode(text) {
                    Ok(bytes) => bytes.len(),
                    Err(_) => {
                        causes.push(invalid(&format!("{field}[{key}]"), "<bytes>", "illegal base64 data"));
                        text.len()
                    }
                }
            } else {
                text.len()
            };
            total += if is_secret { size } else { key.len() + size };
        }
    }
    if total > MAX_DATA_BYTES {
        causes.push(too_long(if is_secret { "data" } else { "[]" }, MAX_DATA_BYTES));
    }
}

/// The storage limit: an object whose JSON exceeds it is refused as etcd refuses it.
pub(crate) fn check_stored_size(bytes: usize) -> Result<(), ApiError> {
    if bytes > MAX_OBJECT_BYTES { Err(ApiError::too_large("etcdserver: request is too large")) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn configmap() -> ResourceKind {
        ResourceKind::namespaced("", "v1", "ConfigMap", "configmaps")
    }

    #[test]
    fn names_are_dns_subdomains() {
        for good in ["a", "my-registry", "a.b-c.d", "0abc"] {
            assert!(is_dns_subdomain(good), "{good}");
        }
        for bad in ["", "A", "a_b", "-a", "a-", "a..b", &"x".repeat(254)] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
        let error = validate_object(&configmap(), &json!({"metadata": {"name": "Bad_Name"}})).err();
        let message = error.map(|e| e.message).unwrap_or_default();
        assert!(
            message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
            "{message}"
        );
    }

    #[test]
    fn label_values_longer_than_63_are_invalid() {
        let object = json!({"metadata": {"name": "a", "labels": {"app": "x".repeat(64)}}});
        let error = validate_object(&configmap(), &object).err();
        assert_eq!(error.map(|e| e.code), Some(422));
        let fine = json!({"metadata": {"name": "a", "labels": {"example.com/app": "x".repeat(63), "empty": ""}}});
        assert!(validate_object(&configmap(), &fine).is_ok());
    }

    #[test]
    fn configmap_data_over_one_mebibyte_is_refused_with_the_api_server_message() {
        let just_fits = json!({"metadata": {"name": "a"}, "data": {"k": "x".repeat(MAX_DATA_BYTES - 1)}});
        assert!(validate_object(&configmap(), &just_fits).is_ok());
        let over = json!({"metadata": {"name": "a"}, "data": {"k": "x".repeat(MAX_DATA_BYTES)}});
        let error = validate_object(&configmap(), &over).err();
        assert_eq!(
            error.map(|e| (e.code, e.message)),
            Some((422, "ConfigMap \"a\" is invalid: []: Too long: must have at most 1048576 bytes".to_string()))
        );
    }

    #[test]
    fn binary_data_counts_decoded_bytes() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 800 * 1024]);
        let fits = json!({"metadata": {"name": "a"}, "binaryData": {"blob": encoded}});
        assert!(validate_object(&configmap(), &fits).is_ok());
        let over = json!({"metadata": {"name": "a"}, "binaryData": {"blob": encoded},
            "data": {"more": "x".repeat(300 * 1024)}});
        assert_eq!(validate_object(&configmap(), &over).err().map(|e| e.code), Some(422));
    }

    #[test]
    fn secret_data_limit_names_the_data_field() {
        let secret = ResourceKind::namespaced("", "v1", "Secret", "secrets");
        let encoded = base64::engine::general_purpose::STANDARD.encode(vec![1u8; MAX_DATA_BYTES + 1]);
        let over = json!({"metadata": {"name": "s"}, "data": {"blob": encoded}});
        let message = validate_object(&secret, &over).err().map(|e| e.message);
        assert_eq!(
            message,
            Some("Secret \"s\" is invalid: data: Too long: must have at most 1048576 bytes".to_string())
        );
    }
}
