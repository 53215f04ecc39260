//! Conversion both ways (`thv_model::convert`) and the catalog writers of `thv registry convert`
//! (`thv_model::write`).
//!
//! A conversion that says it is `lossless` promises that converting back gives the original exactly; the
//! target converts back and compares, for every record of an upstream document and every entry of a ToolHive
//! file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use thv_model::convert::{ToolHiveEntry, toolhive_to_upstream, upstream_to_toolhive};
use thv_model::detect::{DocumentFormat, FormatHint, parse_json};
use thv_model::load::load_owned;
use thv_model::toolhive::ServerEntry;
use thv_model::write::{ToolHiveWriteOptions, to_toolhive, to_upstream_file};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = parse_json(data) else { return };
    let Ok(loaded) = load_owned(doc.clone(), FormatHint::Auto) else { return };

    if loaded.format == DocumentFormat::ToolHive {
        for (map, image) in [("servers", true), ("remote_servers", false)] {
            let Some(entries) = doc.get(map).and_then(Value::as_object) else { continue };
            for (key, value) in entries {
                let Ok(entry) = serde_json::from_value::<ServerEntry>(value.clone()) else { continue };
                let entry = if image { ToolHiveEntry::Image(entry) } else { ToolHiveEntry::Remote(entry) };
                let upstream = toolhive_to_upstream(key, &entry);
                if !upstream.lossless {
                    continue;
                }
                let back = upstream_to_toolhive(&upstream.value)
                    .unwrap_or_else(|e| panic!("{map}/{key}: converted losslessly, but not back: {e}"));
                assert_eq!(back.value.to_value(), entry.to_value(), "{map}/{key} changed on a lossless round trip");
            }
        }
    }

    for record in &loaded.catalog.entries {
        let server = &record.server;
        let Ok(toolhive) = upstream_to_toolhive(server) else { continue };
        if !toolhive.lossless {
            continue;
        }
        let back = toolhive_to_upstream(server.name_str(), &toolhive.value);
        assert_eq!(
            serde_json::to_value(&back.value).expect("serialises"),
            serde_json::to_value(server).expect("serialises"),
            "{} {} changed on a lossless round trip",
            server.name_str(),
            server.version_str()
        );
    }

    let options = ToolHiveWriteOptions { now: Some("2025-12-18T00:00:00Z".to_owned()) };
    let (registry, _reports) = to_toolhive(&loaded.catalog, &options);
    let _ = serde_json::to_vec(&registry).expect("a ToolHive file serialises");
    let file = to_upstream_file(&loaded.catalog, &options);
    let _ = serde_json::to_vec(&file).expect("an upstream file serialises");
});
