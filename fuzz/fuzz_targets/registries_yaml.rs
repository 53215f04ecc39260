//! The YAML configuration: `registries.yaml` read the way `thv` reads it (serde-saphyr into
//! `thv_sync::RegistrySpec` lists, then `RegistrySpec::check`), and one MCPRegistry `spec` in YAML.
//!
//! The CLI's `Config` type lives in the binary crate (`crates/cli/src/config.rs`); [`ConfigFile`] mirrors it
//! (one `registries` list, unknown fields refused), so every library type it parses into is fuzzed. Checks:
//! - a source URL, as `thv` shows, logs or stores it (`redact_url`), holds no password and no query value
//!   for the URL parser every fetch uses (the `url` crate, as reqwest does);
//! - `thv registry migrate` is lossless: a checked registry that becomes an MCPRegistry converts back to a
//!   local registry that gives the same MCPRegistry, and an MCPRegistry spec that converts to a local registry
//!   and back is stable from then on (the first trip writes durations canonically).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use thv_operator::McpRegistrySpec;
use thv_operator::convert::{ClusterSettings, from_local, to_local};
use thv_sources::{SourceSpec, redact_url};
use thv_sync::RegistrySpec;

/// The shape of `registries.yaml` (the CLI's `Config`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    registries: Vec<RegistrySpec>,
}

/// The URLs a source fetches from.
fn source_urls(source: &SourceSpec) -> Vec<&str> {
    match source {
        SourceSpec::Url(s) => vec![s.url.as_str()],
        SourceSpec::Git(s) => vec![s.repository.as_str()],
        SourceSpec::RegistryApi(s) => vec![s.url.as_str()],
        SourceSpec::File(_) | SourceSpec::ConfigMap(_) => Vec::new(),
    }
}

/// What a URL parser finds in a location `thv` shows: no password, no query value but `***` or nothing.
fn assert_nothing_secret(original: &str, shown: &str) {
    let Ok(parsed) = url::Url::parse(shown) else { return };
    assert!(parsed.password().is_none(), "{original:?} is shown as {shown:?}, which still holds a password");
    for (key, value) in parsed.query_pairs() {
        assert!(value.is_empty() || value == "***", "{original:?} is shown as {shown:?}, with {key}={value}");
    }
}

fn check_registry(spec: &RegistrySpec) {
    for url in source_urls(&spec.source) {
        assert_nothing_secret(url, &redact_url(url));
    }
    let redacted = spec.redacted();
    for url in source_urls(&redacted.source) {
        assert_nothing_secret(url, url);
    }
    let _ = spec.source.location();
    let _ = spec.build_digest();
    if spec.check().is_err() {
        return;
    }
    let Ok(resource) = from_local(spec, &ClusterSettings::default()) else { return };
    let (local, cluster) = to_local(&spec.name, &resource)
        .unwrap_or_else(|e| panic!("registry {}: made into an MCPRegistry, but not back: {e}", spec.name));
    assert_eq!(from_local(&local, &cluster), Ok(resource), "registry {}: migrate is not lossless", spec.name);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return;
    }
    if let Ok(config) = serde_saphyr::from_str::<ConfigFile>(text) {
        for spec in &config.registries {
            check_registry(spec);
        }
    }
    // Durations are written back canonically (`90m` as `1h30m`), so the spec that comes back is compared with
    // the one that comes back from it.
    if let Ok(resource) = serde_saphyr::from_str::<McpRegistrySpec>(text)
        && let Ok((local, cluster)) = to_local("fuzz", &resource)
    {
        let back = from_local(&local, &cluster).expect("a resource that converted to a local registry converts back");
        let (again, cluster) = to_local("fuzz", &back).expect("converts again");
        assert_eq!(from_local(&again, &cluster), Ok(back), "an MCPRegistry spec changed on a second round trip");
    }
});
