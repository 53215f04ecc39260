//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!`exists) and field selectors
//! (`metadata.name`, `metadata.namespace`), parsed and matched as the API server does.

use serde_json::Value;

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed `labelSelector`; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<Requirement>);

/// A parsed `fieldSelector`; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector(Vec<(FieldPath, bool, String)>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldPath {
    Name,
    Namespace,
}

/// Splits at commas outside parentheses.
fn split_requirements(selector: &str) -> Result<Vec<&str>, ApiError> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (index, character) in selector.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&selector[start..index]);
                start = index + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(ApiError::bad_request(format!(
                "unable to parse requirement: unbalanced parentheses in {selector:?}"
            )));
        }
    }
    if depth != 0 {
        return Err(ApiError::bad_request(format!(
            "unable to parse requirement: unbalanced parentheses in {selector:?}"
        )));
    }
    parts.push(&selector[start..]);
    Ok(parts.into_iter().map(str::trim).filter(|part| !part.is_empty()).collect())
}

fn label_key(key: &str, whole: &str) -> Result<String, ApiError> {
    let key = key.trim();
    let valid = !key.is_empty()
        && key.len() <= 317
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid {
        Ok(key.to_string())
    } else {
        Err(ApiError::bad_request(format!("unable to parse requirement: invalid label key {key:?} in {whole:?}")))
    }
}

fn value_set(values: &str, whole: &str) -> Result<Vec<String>, ApiError> {
    let inner = values.trim().strip_prefix('(').and_then(|rest| rest.strip_suffix(')')).ok_or_else(|| {
        ApiError::bad_request(format!("unable to parse requirement: found {values:?}, expected: '(' in {whole:?}"))
    })?;
    Ok(inner.split(',').map(|value| value.trim().to_string()).filter(|value| !value.is_empty()).collect())
}

impl LabelSelector {
    pub fn parse(selector: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for part in split_requirements(selector)? {
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(label_key(key, part)?)
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(label_key(key, part)?, value.trim().to_string())
            } else if let Some((key, value)) = part.split_once("==") {
                Requirement::Equals(label_key(key, part)?, value.trim().to_string())
            } else if let Some((key, value)) = part.split_once('=') {
                Requirement::Equals(label_key(key, part)?, value.trim().to_string())
            } else if let Some((key, values)) = part.split_once(" notin ") {
                Requirement::NotIn(label_key(key, part)?, value_set(values, part)?)
            } else if let Some((key, values)) = part.split_once(" in ") {
                Requirement::In(label_key(key, part)?, value_set(values, part)?)
            } else if part.contains(['<', '>', '(', ')', ' ']) {
                return Err(ApiError::bad_request(format!(
                    "unable to parse requirement: {part:?} is not supported by this fake (=, ==, !=, in, notin, exists, !exists are)"
                )));
            } else {
                Requirement::Exists(label_key(part, part)?)
            };
            requirements.push(requirement);
        }
        Ok(Self(requirements))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let label = |key: &str| labels.and_then(|labels| labels.get(key)).and_then(Value::as_str);
        self.0.iter().all(|requirement| match requirement {
            Requirement::Equals(key, value) => label(key) == Some(value.as_str()),
            Requirement::NotEquals(key, value) => label(key) != Some(value.as_str()),
            Requirement::In(key, values) => label(key).is_some_and(|v| values.iter().any(|x| x == v)),
            Requirement::NotIn(key, values) => !label(key).is_some_and(|v| values.iter().any(|x| x == v)),
            Requirement::Exists(key) => label(key).is_some(),
            Requirement::NotExists(key) => label(key).is_none(),
        })
    }
}

impl FieldSelector {
    pub fn parse(selector: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in split_requirements(selector)? {
            let (field, equal, value) = if let Some((field, value)) = part.split_once("!=") {
                (field, false, value)
            } else if let Some((field, value)) = part.split_once("==") {
                (field, true, value)
            } else if let Some((field, value)) = part.split_once('=') {
                (field, true, value)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: {selector:?}; can't understand {part:?}"
                )));
            };
            let path = match field.trim() {
                "metadata.name" => FieldPath::Name,
                "metadata.namespace" => FieldPath::Namespace,
                other => {
                    return Err(ApiError::bad_request(format!("field label not supported: {other}")));
                }
            };
            terms.push((path, equal, value.trim().to_string()));
        }
        Ok(Self(terms))
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(path, equal, value)| {
            let pointer = match path {
                FieldPath::Name => "/metadata/name",
                FieldPath::Namespace => "/metadata/namespace",
            };
            let actual = object.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
            (actual == value) == *equal
        })
    }
}

/// A label and a field selector together, as list, watch and deletecollection take them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn from_query(query: &std::collections::HashMap<String, String>) -> Result<Self, ApiError> {
        Ok(Self {
            labels: match query.get("labelSelector") {
                Some(selector) => LabelSelector::parse(selector)?,
                None => LabelSelector::default(),
            },
            fields: match query.get("fieldSelector") {
                Some(selector) => FieldSelector::parse(selector)?,
                None => FieldSelector::default(),
            },
        })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(labels: Value) -> Value {
        json!({ "metadata": { "name": "a", "namespace": "ns1", "labels": labels } })
    }

    fn matches(selector: &str, labels: Value) -> bool {
        let parsed = LabelSelector::parse(selector);
        assert!(parsed.is_ok(), "{selector}: {parsed:?}");
        parsed.is_ok_and(|selector| selector.matches(&object(labels)))
    }

    #[test]
    fn label_selector_operators() {
        let labels = json!({ "app": "web", "tier": "front" });
        assert!(matches("app=web", labels.clone()));
        assert!(matches("app==web,tier=front", labels.clone()));
        assert!(!matches("app=db", labels.clone()));
        assert!(matches("app!=db", labels.clone()));
        assert!(matches("missing!=x", labels.clone()));
        assert!(matches("tier in (front, back)", labels.clone()));
        assert!(!matches("tier in (back)", labels.clone()));
        assert!(matches("tier notin (back),app", labels.clone()));
        assert!(!matches("tier notin (front)", labels.clone()));
        assert!(matches("app", labels.clone()));
        assert!(!matches("!app", labels.clone()));
        assert!(matches("!other", labels.clone()));
        assert!(matches("", labels));
    }

    #[test]
    fn bad_label_selectors_are_400() {
        for selector in ["app in (a", "x > 3", "a b"] {
            let error = LabelSelector::parse(selector).err();
            assert_eq!(error.map(|e| e.code), Some(400), "{selector}");
        }
    }

    #[test]
    fn field_selectors_on_name_and_namespace_only() {
        let cm = object(json!({}));
        let parse = |s: &str| FieldSelector::parse(s);
        assert!(parse("metadata.name=a").is_ok_and(|s| s.matches(&cm)));
        assert!(parse("metadata.name!=a").is_ok_and(|s| !s.matches(&cm)));
        assert!(parse("metadata.namespace==ns1,metadata.name=a").is_ok_and(|s| s.matches(&cm)));
        assert!(parse("metadata.namespace=ns2").is_ok_and(|s| !s.matches(&cm)));
        let error = parse("spec.nodeName=x").err();
        assert_eq!(error.map(|e| e.message), Some("field label not supported: spec.nodeName".to_string()));
    }
}
