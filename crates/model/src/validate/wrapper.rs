//! The file-level fields of ToolHive's upstream wrapper file (`upstream-registry.schema.json`): the
//! records inside are judged by [`validate_server`](super::validate_server).

use serde_json::Value;

use super::Finding;
use super::format::is_date_time;

/// Checks `version`, `meta.last_updated` and `data.servers` of a wrapper file.
pub fn validate_upstream_file(doc: &Value) -> Vec<Finding> {
    let mut findings = Vec::new();
    match doc.get("version") {
        None => findings.push(Finding::schema("/version", "the file is missing required field `version`")),
        Some(Value::String(v)) if is_three_part_version(v) => {}
        Some(v) => findings.push(Finding::schema("/version", format!("`version` must look like 1.0.0, found {v}"))),
    }
    match doc.pointer("/meta/last_updated") {
        None => findings
            .push(Finding::schema("/meta/last_updated", "the file is missing required field `meta.last_updated`")),
        Some(Value::String(t)) if is_date_time(t) => {}
        Some(t) => findings.push(Finding::schema(
            "/meta/last_updated",
            format!("`meta.last_updated` must be an RFC 3339 date-time, found {t}"),
        )),
    }
    if !doc.pointer("/data/servers").is_some_and(Value::is_array) {
        findings.push(Finding::schema("/data/servers", "`data.servers` must be an array of server.json documents"));
    }
    findings
}

fn is_three_part_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wrapper_fields_are_checked() {
        let good =
            json!({"version": "1.0.0", "meta": {"last_updated": "2026-02-18T00:24:11Z"}, "data": {"servers": []}});
        assert!(validate_upstream_file(&good).is_empty());
        let bad = json!({"version": "1.0", "meta": {"last_updated": "yesterday"}, "data": {}});
        let pointers: Vec<String> = validate_upstream_file(&bad).into_iter().map(|f| f.pointer).collect();
        assert_eq!(pointers, ["/version", "/meta/last_updated", "/data/servers"]);
    }
}
