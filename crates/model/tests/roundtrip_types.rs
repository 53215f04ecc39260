//! Reading every real document into the typed model and writing it back gives the same JSON value.

use serde_json::Value;
use thv_model::detect::{detect_format, upstream_records};
use thv_model::toolhive::ToolHiveRegistry;
use thv_model::upstream::{ServerJson, ServerResponse, UpstreamFile};
use thv_testdata::{read_json, shared_file, shared_files};

fn assert_record_round_trips(label: &str, record: &Value, wrapped: bool) {
    let back = if wrapped {
        let typed: ServerResponse = serde_json::from_value(record.clone()).unwrap_or_else(|e| panic!("{label}: {e}"));
        serde_json::to_value(&typed).expect("serialise")
    } else {
        let typed: ServerJson = serde_json::from_value(record.clone()).unwrap_or_else(|e| panic!("{label}: {e}"));
        serde_json::to_value(&typed).expect("serialise")
    };
    assert_eq!(&back, record, "{label} changed on a read/write round trip");
}

#[test]
fn every_upstream_record_round_trips() {
    let mut files = shared_files("upstream/real", "json");
    files.extend(shared_files("upstream/seed", "json"));
    files.extend(shared_files("upstream/examples", "json"));
    let mut records = 0;
    for path in files {
        let doc = read_json(&path);
        let format = detect_format(&doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for r in upstream_records(&doc, format) {
            let label = format!("{}#{}", path.display(), r.pointer);
            if r.meta.is_some() || doc.pointer(&r.pointer).is_some_and(|v| v.get("server").is_some()) {
                let envelope = doc.pointer(&r.pointer).expect("record pointer resolves");
                assert_record_round_trips(&label, envelope, true);
            } else {
                assert_record_round_trips(&label, r.server, false);
            }
            records += 1;
        }
    }
    if shared_file(thv_testdata::REAL_DUMP).is_some() {
        assert!(records >= 2_794 + 358 + 17, "only {records} records seen");
    }
}

#[test]
fn toolhive_files_round_trip() {
    if let Some(path) = shared_file(thv_testdata::TOOLHIVE_REGISTRY) {
        let doc = read_json(&path);
        let typed: ToolHiveRegistry = serde_json::from_value(doc.clone()).expect("ToolHive file parses");
        assert_eq!(serde_json::to_value(&typed).expect("serialise"), doc);
    }
    if let Some(path) = shared_file(thv_testdata::TOOLHIVE_UPSTREAM_EXAMPLE) {
        let doc = read_json(&path);
        let typed: UpstreamFile = serde_json::from_value(doc.clone()).expect("wrapper file parses");
        assert_eq!(serde_json::to_value(&typed).expect("serialise"), doc);
    }
}
