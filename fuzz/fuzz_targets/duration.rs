//! The two duration parsers of outside input: the operator's Go-syntax parser (`thv_operator::duration`, for
//! `MCPRegistry` fields) and the bounded human durations of `registries.yaml` and CLI flags
//! (`thv_model::duration`, over `humantime`).
//!
//! Checks: the Go parser accepts exactly the texts of the CRD's own `pattern` (taken from the generated CRD)
//! whose value fits, with the value the pattern's parts add up to; what it reads it writes back canonically and
//! reads again to the same value; a bounded duration is within its range, and its `humantime` text (what `thv`
//! shows and writes back) reads again to the same value.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use regex::Regex;
use serde_json::Value;
use thv_operator::duration::{self, BACKOFF, INTERVAL};

/// The `pattern` of `spec.syncPolicy.interval` in the generated CRD.
fn crd_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let crds: Value = serde_json::from_str(&thv_operator::crds_json().expect("the CRDs")).expect("JSON");
        let pattern = crds[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            ["syncPolicy"]["properties"]["interval"]["pattern"]
            .as_str()
            .expect("spec.syncPolicy.interval has a pattern in the CRD");
        Regex::new(pattern).expect("the CRD's pattern compiles")
    })
}

/// What a text of the pattern adds up to, in milliseconds (`None` past `u64`).
fn pattern_value(text: &str) -> Option<u64> {
    let mut total: u128 = 0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u128 = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                1
            }
            ('s', _) => 1_000,
            ('m', _) => 60_000,
            ('h', _) => 3_600_000,
            _ => unreachable!("the pattern admits only ms, s, m and h"),
        };
        total += number.parse::<u128>().ok()?.checked_mul(unit)?;
        number.clear();
    }
    u64::try_from(total).ok()
}

fn go_duration(text: &str) {
    let parsed = duration::parse(text);
    let expected = if crd_pattern().is_match(text) { pattern_value(text) } else { None };
    assert_eq!(parsed, expected.map(Duration::from_millis), "{text:?}");
    if let Some(value) = parsed {
        let canonical = duration::format(value).expect("whole milliseconds format");
        assert_eq!(duration::parse(&canonical), Some(value), "{text:?} is written back as {canonical:?}");
    }
    for bounds in [INTERVAL, BACKOFF] {
        if let Ok(value) = bounds.parse(text) {
            assert!(bounds.range.contains(value), "{text:?}: {value:?} is outside {bounds:?}");
            let written = bounds.format(value).expect("an in-range value formats");
            assert_eq!(bounds.parse(&written), Ok(value), "{text:?} is written back as {written:?}");
        }
    }
}

fn human_duration(text: &str) {
    for range in
        [thv_sync::INTERVAL_RANGE, thv_sync::BACKOFF_RANGE, thv_sources::TIMEOUT_RANGE, thv_sources::FULL_RESYNC_RANGE]
    {
        let Ok(value) = range.parse(text) else { continue };
        assert!(range.contains(value), "{text:?}: {value:?} is outside {range}");
        let shown = humantime::format_duration(value).to_string();
        assert_eq!(humantime::parse_duration(&shown).ok(), Some(value), "{text:?} is shown as {shown:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    go_duration(text);
    human_duration(text);
});
