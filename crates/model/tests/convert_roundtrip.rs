//! Conversion round trips over real catalogs: ToolHive → server.json → ToolHive and
//! server.json → ToolHive → server.json give back the same JSON values.

use std::collections::BTreeMap;

use serde_json::Value;
use thv_model::convert::{ToolHiveEntry, toolhive_to_upstream, upstream_to_toolhive};
use thv_model::detect::{detect_format, upstream_records};
use thv_model::toolhive::ToolHiveRegistry;
use thv_model::upstream::ServerJson;
use thv_testdata::{read_json, shared_file, shared_files};

#[test]
fn toolhive_catalog_survives_a_round_trip_through_server_json() {
    let Some(path) = shared_file(thv_testdata::TOOLHIVE_REGISTRY) else {
        return;
    };
    let registry: ToolHiveRegistry = serde_json::from_value(read_json(&path)).expect("catalog parses");
    let entries =
        registry.servers.iter().flatten().map(|(k, e)| (k.clone(), ToolHiveEntry::Image(e.clone()))).chain(
            registry.remote_servers.iter().flatten().map(|(k, e)| (k.clone(), ToolHiveEntry::Remote(e.clone()))),
        );
    let mut count = 0;
    for (key, entry) in entries {
        let upstream = toolhive_to_upstream(&key, &entry);
        assert!(upstream.lossless, "{key}: {:?}", upstream.notes);
        assert_eq!(upstream.value.name.as_deref(), Some(format!("io.github.stacklok/{key}").as_str()));
        let back = upstream_to_toolhive(&upstream.value).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(back.value.to_value(), entry.to_value(), "{key} changed on the round trip");
        count += 1;
    }
    assert_eq!(count, 102);
}

/// Round-trips every record of an upstream document; returns the reasons for records ToolHive cannot hold.
fn round_trip_upstream_file(path: &std::path::Path) -> (usize, BTreeMap<String, usize>) {
    let doc = read_json(path);
    let format = detect_format(&doc).expect("known format");
    let mut lossless = 0;
    let mut unrepresentable = BTreeMap::new();
    for record in upstream_records(&doc, format) {
        let server: ServerJson = serde_json::from_value(record.server.clone()).expect("record parses");
        let label = format!("{}#{} ({})", path.display(), record.pointer, server.name_str());
        match upstream_to_toolhive(&server) {
            Err(reason) => *unrepresentable.entry(reason.to_string()).or_default() += 1,
            Ok(entry) => {
                assert!(entry.lossless, "{label}: {:?}", entry.notes);
                let back = toolhive_to_upstream(server.name_str(), &entry.value);
                assert_eq!(serde_json::to_value(&back.value).expect("json"), *record.server, "{label} changed");
                lossless += 1;
            }
        }
    }
    (lossless, unrepresentable)
}

#[test]
fn real_dump_survives_a_round_trip_through_toolhive() {
    let Some(path) = shared_file(thv_testdata::REAL_DUMP) else {
        return;
    };
    let (lossless, unrepresentable) = round_trip_upstream_file(&path);
    let skipped: usize = unrepresentable.values().sum();
    eprintln!("real dump: {lossless} lossless, {skipped} not representable: {unrepresentable:?}");
    assert_eq!(lossless + skipped, 2_794);
    assert!(skipped < 100, "too many records cannot be represented: {unrepresentable:?}");
}

#[test]
fn examples_seeds_and_wrapper_files_survive_a_round_trip() {
    let mut files = shared_files("upstream/examples", "json");
    files.extend(shared_files("upstream/seed", "json"));
    files.extend(shared_file(thv_testdata::SUBSET_DIVERSE));
    files.extend(shared_file(thv_testdata::TOOLHIVE_UPSTREAM_EXAMPLE));
    for path in files {
        let (_, unrepresentable) = round_trip_upstream_file(&path);
        for reason in unrepresentable.keys() {
            assert!(
                reason.contains("neither packages nor remotes") || reason.contains("snake_case"),
                "{}: unexpected reason {reason}",
                path.display()
            );
        }
    }
}

#[test]
fn converted_toolhive_entries_keep_toolhive_data_in_the_extension() {
    let Some(path) = shared_file(thv_testdata::TOOLHIVE_REGISTRY) else {
        return;
    };
    let registry: ToolHiveRegistry = serde_json::from_value(read_json(&path)).expect("catalog parses");
    let (key, entry) = registry.servers.as_ref().and_then(|s| s.first()).expect("a container server");
    let server = toolhive_to_upstream(key, &ToolHiveEntry::Image(entry.clone())).value;
    let image = entry.image.as_deref().expect("image");
    let ext: &Value = server
        .meta
        .as_ref()
        .and_then(|m| m.get("io.modelcontextprotocol.registry/publisher-provided"))
        .and_then(|p| p.get("io.github.stacklok"))
        .and_then(|s| s.get(image))
        .expect("extension keyed by the image");
    assert_eq!(ext.get("tier").and_then(Value::as_str), entry.tier.as_deref());
    assert_eq!(ext.get("tools"), serde_json::to_value(&entry.tools).ok().as_ref());
    assert_eq!(server.packages()[0].identifier.as_deref(), Some(image));
}
