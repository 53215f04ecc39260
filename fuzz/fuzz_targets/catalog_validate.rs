//! Validation (`thv_model::validate`) of every record of a document against every released schema, the
//! registry's strict rules, and the file-level checks of ToolHive files and upstream wrapper files.
//!
//! The schema-level verdict is compared with the official JSON Schemas of `../shared/data/upstream/schemas`,
//! compiled with the `jsonschema` crate as `crates/model/tests/validate_schema_agreement.rs` does: the native
//! validator promises the official schema's verdict, so any disagreement is a finding.
#![no_main]

use std::sync::OnceLock;

use jsonschema::Validator;
use libfuzzer_sys::fuzz_target;
use thv_model::detect::{DocumentFormat, detect_format, parse_json, upstream_records};
use thv_model::upstream::SchemaVersion;
use thv_model::validate::{Against, ValidateOptions, validate_schema, validate_server, validate_strict};
use thv_model::validate::{validate_toolhive_registry, validate_upstream_file};
use thv_testdata::{read_json, shared_file};

fn official() -> &'static [(SchemaVersion, Validator)] {
    static VALIDATORS: OnceLock<Vec<(SchemaVersion, Validator)>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        SchemaVersion::ALL
            .into_iter()
            .map(|version| {
                let relative = format!("upstream/schemas/server.schema.{}.json", version.date());
                let path =
                    shared_file(&relative).unwrap_or_else(|| panic!("the fuzz target needs ../shared/data/{relative}"));
                let validator = jsonschema::draft7::options()
                    .should_validate_formats(false)
                    .build(&read_json(&path))
                    .unwrap_or_else(|e| panic!("compile {}: {e}", path.display()));
                (version, validator)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let validators = official();
    let Ok(doc) = parse_json(data) else { return };
    let Ok(format) = detect_format(&doc) else { return };
    let file_findings = match format {
        DocumentFormat::ToolHive => validate_toolhive_registry(&doc),
        DocumentFormat::UpstreamFile => validate_upstream_file(&doc),
        _ => Vec::new(),
    };
    let mut findings = file_findings;
    for record in upstream_records(&doc, format) {
        for (version, validator) in validators {
            let native = validate_schema(record.server, *version);
            assert_eq!(
                native.is_empty(),
                validator.is_valid(record.server),
                "native and official verdicts differ against {version} on {}: native {native:?}",
                record.server
            );
            findings.extend(native);
        }
        findings.extend(validate_strict(record.server));
        for against in [Against::Declared, Against::Schema(SchemaVersion::CURRENT)] {
            findings.extend(validate_server(record.server, &ValidateOptions { against, strict: true }));
        }
    }
    for finding in &findings {
        assert!(finding.pointer.is_empty() || finding.pointer.starts_with('/'), "not a JSON pointer: {finding:?}");
        assert!(!finding.message.is_empty(), "a finding without a message: {finding:?}");
    }
});
