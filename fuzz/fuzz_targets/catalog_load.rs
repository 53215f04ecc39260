//! Document detection and lenient loading (`thv_model::load`), as a sync reads a source's bytes.
//!
//! Checks, besides "never panics":
//! - the streaming path of `load_bytes` (a top-level array read record by record) gives exactly what parsing
//!   the whole document and loading it gives;
//! - nothing is lost silently: every record of the document is either loaded or skipped with a reason;
//! - a loaded record written out and read back writes out the same JSON (so the stored form is stable);
//! - skipped records point into the document with a JSON pointer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use thv_model::detect::{DocumentFormat, FormatHint, parse_json, upstream_records};
use thv_model::load::{load_bytes, load_owned};
use thv_model::upstream::ServerResponse;

fuzz_target!(|data: &[u8]| {
    // The hint comes from the length, so that seeds stay plain catalog documents.
    let hint = [FormatHint::Auto, FormatHint::Upstream, FormatHint::ToolHive][data.len() % 3];
    let streamed = load_bytes(data, hint);
    let parsed = parse_json(data);
    let whole = parsed.clone().and_then(|doc| load_owned(doc, hint));
    match (&streamed, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "load_bytes and load_owned disagree"),
        (Err(_), Err(_)) => {}
        _ => panic!("load_bytes gave {streamed:?} but load_owned gave {whole:?}"),
    }
    let (Ok(loaded), Ok(doc)) = (streamed, parsed) else { return };

    let records = match loaded.format {
        DocumentFormat::ToolHive => ["servers", "remote_servers"]
            .iter()
            .map(|key| doc.get(key).and_then(Value::as_object).map_or(0, |m| m.len()))
            .sum(),
        format => upstream_records(&doc, format).len(),
    };
    assert_eq!(
        loaded.catalog.entries.len() + loaded.skipped.len(),
        records,
        "records were lost: {} loaded, {} skipped",
        loaded.catalog.entries.len(),
        loaded.skipped.len()
    );
    for issue in &loaded.skipped {
        assert!(issue.pointer.is_empty() || issue.pointer.starts_with('/'), "not a JSON pointer: {issue:?}");
        assert!(!issue.message.is_empty(), "a skipped record without a reason: {issue:?}");
    }
    for entry in &loaded.catalog.entries {
        let written = serde_json::to_value(entry).expect("a loaded record serialises");
        let read: ServerResponse = serde_json::from_value(written.clone()).expect("a written record reads back");
        let rewritten = serde_json::to_value(&read).expect("serialises again");
        assert_eq!(written, rewritten, "a record changed on a write/read/write");
    }
    let _ = thv_model::digest::catalog_digest(&loaded.catalog.entries);
});
