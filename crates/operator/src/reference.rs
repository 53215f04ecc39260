//! The reference part of `docs/operator.md`, rendered from the CRD schema (whose descriptions are the rustdoc of
//! the types) and from the condition enums, so the docs and the resource have one source.

use std::fmt::Write as _;

use serde_json::Value;

use crate::conditions::{ConditionType, Reason};

/// Paths whose schema is a standard Kubernetes type, listed but not expanded.
const STANDARD_TYPES: [(&str, &str); 3] = [
    (
        "spec.selector",
        "[LabelSelector](https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/label-selector/) (meta/v1)",
    ),
    (
        "spec.api.resources",
        "[ResourceRequirements](https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#resources) (core/v1)",
    ),
    (
        "status.conditions",
        "list of [Condition](https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/) (meta/v1), keyed by `type`",
    ),
];

/// The whole reference: fields of spec and status, CEL rules, conditions and reasons, as Markdown.
pub fn markdown() -> String {
    let schema = crd_schema();
    let mut out = String::new();
    out.push_str("### Spec fields\n\n");
    out.push_str(&fields_table(&schema["properties"]["spec"], "spec"));
    out.push_str("\n### Rules checked on admission (CEL)\n\n");
    out.push_str(&rules_table(&schema));
    out.push_str("\n### Status fields\n\n");
    out.push_str(&fields_table(&schema["properties"]["status"], "status"));
    out.push_str("\n### Condition types\n\n");
    out.push_str(&variants_table(&enum_docs::<ConditionType>(), "Type"));
    out.push_str("\n### Reasons\n\n");
    out.push_str(&variants_table(&enum_docs::<Reason>(), "Reason"));
    out
}

/// The reference of the job kinds: for each, its spec fields, CEL rules and status fields; then the phases and
/// the reasons all jobs share (the condition types are `Ready`, `Reconciling` and `Stalled` of the table above).
pub fn jobs_markdown() -> String {
    let mut out = String::new();
    for crd in crate::crds().into_iter().skip(1) {
        let kind = crd.spec.names.kind.clone();
        let schema = crd.spec.versions[0].schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref());
        let schema = serde_json::to_value(schema).unwrap_or_default();
        let _ = writeln!(out, "### `{kind}` spec fields\n");
        out.push_str(&fields_table(&schema["properties"]["spec"], "spec"));
        let rules = rules_table(&schema);
        if rules.lines().count() > 2 {
            let _ = writeln!(out, "\n### `{kind}` rules checked on admission (CEL)\n");
            out.push_str(&rules);
        }
        let _ = writeln!(out, "\n### `{kind}` status fields\n");
        out.push_str(&fields_table(&schema["properties"]["status"], "status"));
        out.push('\n');
    }
    out.push_str("### Job phases\n\n");
    out.push_str(&variants_table(&enum_docs::<crate::jobs::JobPhase>(), "Phase"));
    out.push_str("\n### Job reasons\n\n");
    out.push_str(&variants_table(&enum_docs::<crate::jobs::JobReason>(), "Reason"));
    out
}

/// The `openAPIV3Schema` of the MCPRegistry CRD, as JSON.
pub fn crd_schema() -> Value {
    let crd = crate::crds().remove(0);
    let schema = crd.spec.versions[0].schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref());
    serde_json::to_value(schema).unwrap_or_default()
}

fn fields_table(node: &Value, root: &str) -> String {
    let mut rows = Vec::new();
    collect_fields(node, root, &mut rows);
    let mut out = String::from("| Field | Type | Default | Checks | Description |\n|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

fn collect_fields(node: &Value, path: &str, rows: &mut Vec<[String; 5]>) {
    let Some(properties) = node.get("properties").and_then(Value::as_object) else { return };
    let required: Vec<&str> =
        node.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    for (name, field) in properties {
        let field_path = format!("{path}.{name}");
        let standard = STANDARD_TYPES.iter().find(|(p, _)| *p == field_path).map(|(_, t)| *t);
        let mut checks = checks(field);
        if required.contains(&name.as_str()) {
            checks.insert(0, "required".to_owned());
        }
        let default = field.get("default").filter(|d| !d.is_object()).map(|d| code(&compact(d))).unwrap_or_default();
        rows.push([
            code(&field_path),
            standard.map(ToOwned::to_owned).unwrap_or_else(|| type_of(field)),
            default,
            checks.join("; "),
            cell(field.get("description").and_then(Value::as_str).unwrap_or_default()),
        ]);
        if standard.is_some() {
            continue;
        }
        let items = field.get("items").filter(|items| items.get("properties").is_some());
        match items {
            Some(items) => collect_fields(items, &format!("{field_path}[]"), rows),
            None => collect_fields(field, &field_path, rows),
        }
    }
}

fn type_of(field: &Value) -> String {
    let base = field.get("type").and_then(Value::as_str).unwrap_or("any");
    if let Some(values) = field.get("enum").and_then(Value::as_array) {
        return values.iter().filter_map(Value::as_str).map(code).collect::<Vec<_>>().join(" \\| ");
    }
    match (base, field.get("items").and_then(|i| i.get("type")).and_then(Value::as_str)) {
        ("array", Some(item)) => format!("list of {item}"),
        ("string", _) if field.get("format").and_then(Value::as_str) == Some("date-time") => "time (RFC 3339)".into(),
        _ => base.to_owned(),
    }
}

fn checks(field: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let number = |key: &str| field.get(key).and_then(Value::as_f64);
    match (number("minimum"), number("maximum")) {
        (Some(min), Some(max)) => out.push(format!("{min}–{max}")),
        (Some(min), None) if min > 0.0 => out.push(format!("≥ {min}")),
        _ => {}
    }
    let string_node = field.get("items").filter(|_| field["type"] == "array").unwrap_or(field);
    if let Some(max) = string_node.get("maxLength").and_then(Value::as_u64) {
        out.push(format!("at most {max} characters"));
    }
    if let Some(pattern) = string_node.get("pattern").and_then(Value::as_str) {
        out.push(format!("pattern {}", code(pattern)));
    }
    if let Some(max) = field.get("maxItems").and_then(Value::as_u64) {
        out.push(format!("at most {max} items"));
    }
    match field.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => out.push("no duplicates".into()),
        Some("map") => {
            let keys = field["x-kubernetes-list-map-keys"].as_array().into_iter().flatten().filter_map(Value::as_str);
            out.push(format!("unique {}", keys.map(code).collect::<Vec<_>>().join(", ")));
        }
        _ => {}
    }
    if field.get("x-kubernetes-validations").is_some() {
        out.push("CEL rule below".into());
    }
    out
}

fn rules_table(schema: &Value) -> String {
    let mut rows = Vec::new();
    collect_rules(schema, "", &mut rows);
    let mut out = String::from("| Where | Rule | Message |\n|---|---|---|\n");
    for (path, rule, message) in rows {
        let _ = writeln!(out, "| {} | {} | {} |", code(&path), code(&rule), cell(&message));
    }
    out
}

fn collect_rules(node: &Value, path: &str, rows: &mut Vec<(String, String, String)>) {
    for rule in node.get("x-kubernetes-validations").and_then(Value::as_array).into_iter().flatten() {
        let text = |key: &str| rule.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        rows.push((
            if path.is_empty() { "(the object)".to_owned() } else { path.to_owned() },
            text("rule"),
            text("message"),
        ));
    }
    if let Some(items) = node.get("items") {
        collect_rules(items, &format!("{path}[]"), rows);
    }
    for (name, field) in node.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        collect_rules(field, &child, rows);
    }
}

/// The variants of a documented enum with their rustdoc, from its JSON schema (`oneOf` of `const`s).
pub fn enum_docs<T: schemars::JsonSchema>() -> Vec<(String, String)> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|variant| {
            let name = variant.get("const").or_else(|| variant.get("enum").and_then(|e| e.get(0)))?.as_str()?;
            Some((name.to_owned(), variant.get("description").and_then(Value::as_str).unwrap_or_default().to_owned()))
        })
        .collect()
}

fn variants_table(variants: &[(String, String)], heading: &str) -> String {
    let mut out = format!("| {heading} | Meaning |\n|---|---|\n");
    for (name, doc) in variants {
        let _ = writeln!(out, "| {} | {} |", code(name), cell(doc));
    }
    out
}

/// JSON without spaces after separators, for short defaults.
fn compact(value: &Value) -> String {
    value.as_str().map(ToOwned::to_owned).unwrap_or_else(|| value.to_string())
}

/// A table cell of text: one line, pipes escaped, `<` and `>` outside code spans shown rather than read as HTML.
fn cell(text: &str) -> String {
    one_line(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 0 { part.replace('<', "&lt;").replace('>', "&gt;") } else { part.to_owned() })
        .collect::<Vec<_>>()
        .join("`")
}

/// Text on one line with table pipes escaped.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

/// Inline code in a table cell, with a fence longer than any backtick run inside.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || longest > 0 { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", one_line(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "`` x`y ``");
        assert_eq!(code("<name>-api"), "`<name>-api`");
        assert_eq!(cell("Service <name>-api, `<name>-api`"), "Service &lt;name&gt;-api, `<name>-api`");
    }

    #[test]
    fn every_variant_is_documented_and_listed() {
        let reasons = enum_docs::<Reason>();
        assert_eq!(reasons.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), Reason::ALL.map(Reason::as_str));
        let types = enum_docs::<ConditionType>();
        assert_eq!(
            types.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ConditionType::ALL.map(ConditionType::as_str)
        );
        for (name, doc) in reasons.iter().chain(&types) {
            assert!(!doc.is_empty(), "{name} has no rustdoc");
        }
    }
}
