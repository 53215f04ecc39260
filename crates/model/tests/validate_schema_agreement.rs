//! The native schema-level validator gives the same verdict as the official JSON Schemas, compiled
//! with the `jsonschema` crate (draft 7, `format` as an annotation), for every record of every file
//! under `../shared/data/upstream`, judged by its declared schema and by every released date.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jsonschema::Validator;
use serde_json::Value;
use thv_model::detect::{detect_format, upstream_records};
use thv_model::upstream::SchemaVersion;
use thv_model::validate::{Against, effective_schema, validate_schema};
use thv_testdata::{REAL_DUMP, read_json, shared_dir, shared_file, shared_files};

/// The official schema of `version`, compiled the way that reproduces the reference figures.
fn official(version: SchemaVersion) -> Option<Validator> {
    let path = shared_file(&format!("upstream/schemas/server.schema.{}.json", version.date()))?;
    let schema = read_json(&path);
    let validator = jsonschema::draft7::options()
        .should_validate_formats(false)
        .build(&schema)
        .unwrap_or_else(|e| panic!("compile {}: {e}", path.display()));
    Some(validator)
}

fn validators() -> Option<Vec<(SchemaVersion, Validator)>> {
    SchemaVersion::ALL.into_iter().map(|v| official(v).map(|val| (v, val))).collect()
}

fn data_files() -> Vec<PathBuf> {
    let mut files = shared_files("upstream/real", "json");
    files.extend(shared_files("upstream/seed", "json"));
    files.extend(shared_files("upstream/examples", "json"));
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(shared_dir()).unwrap_or(path).display().to_string()
}

/// Native and official verdicts for one record against one schema; a report line on disagreement.
fn compare(label: &str, server: &Value, version: SchemaVersion, validator: &Validator) -> Option<String> {
    let native = validate_schema(server, version);
    let official_valid = validator.is_valid(server);
    if native.is_empty() == official_valid {
        return None;
    }
    let mut line = format!(
        "{label} name={} version={} against {version}: native {} / jsonschema {}",
        server.get("name").unwrap_or(&Value::Null),
        server.get("version").unwrap_or(&Value::Null),
        if native.is_empty() { "valid" } else { "INVALID" },
        if official_valid { "valid" } else { "INVALID" },
    );
    for f in &native {
        let _ = write!(line, "\n    native: {} {}", f.pointer, f.message);
    }
    for e in validator.iter_errors(server).take(5) {
        let _ = write!(line, "\n    jsonschema: {} {e}", e.instance_path());
    }
    Some(line)
}

#[test]
fn native_verdicts_match_the_official_schemas_on_every_record() {
    let Some(validators) = validators() else {
        return;
    };
    let mut disagreements = Vec::new();
    let mut records = 0;
    for path in data_files() {
        let doc = read_json(&path);
        let format = detect_format(&doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (index, record) in upstream_records(&doc, format).iter().enumerate() {
            records += 1;
            let label = format!("{} record #{index}", relative(&path));
            let declared = effective_schema(record.server, Against::Declared);
            for (version, validator) in &validators {
                if let Some(d) = compare(&label, record.server, *version, validator) {
                    disagreements.push(d);
                }
            }
            // The declared date is one of the six above; say so explicitly in the report.
            if let Some((_, validator)) = validators.iter().find(|(v, _)| *v == declared)
                && let Some(d) = compare(&label, record.server, declared, validator)
            {
                disagreements.push(format!("(declared schema) {d}"));
            }
        }
    }
    if records == 0 {
        return;
    }
    assert!(records > 3_000, "expected every shared record, saw {records}");
    assert!(
        disagreements.is_empty(),
        "{} disagreements between the native validator and jsonschema:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn real_dump_invalid_counts_match_the_reference() {
    let Some(path) = shared_file(REAL_DUMP) else {
        return;
    };
    let doc = read_json(&path);
    let format = detect_format(&doc).expect("dump format");
    let records = upstream_records(&doc, format);
    assert_eq!(records.len(), 2_794);
    let by_declared = records
        .iter()
        .filter(|r| {
            let v = effective_schema(r.server, Against::Declared);
            !validate_schema(r.server, v).is_empty()
        })
        .count();
    let by_current = records.iter().filter(|r| !validate_schema(r.server, SchemaVersion::CURRENT).is_empty()).count();
    assert_eq!(by_declared, 395, "invalid by their declared schema");
    assert_eq!(by_current, 280, "invalid by 2025-12-11");
}
