//! A registry's declarative spec: where its catalog comes from, how to read it, how often to sync it and
//! what to keep. The same spec comes from the local YAML config and (later) the `MCPRegistry` resource.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thv_model::detect::FormatHint;
use thv_model::duration::{DurationOutOfRange, DurationRange};
use thv_model::filter::Filter;
use thv_model::validate::{Against, UnknownAgainst};
use thv_sources::SourceSpec;

/// Allowed values of `syncPolicy.interval` (and of `thv registry add --interval`): one second to one year.
pub const INTERVAL_RANGE: DurationRange = DurationRange::new(Duration::from_secs(1), Duration::from_secs(31_557_600));
/// Allowed values of `syncPolicy.retry.backoffInterval`: 10 ms to one day.
pub const BACKOFF_RANGE: DurationRange = DurationRange::new(Duration::from_millis(10), Duration::from_secs(86_400));

/// One registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrySpec {
    /// Unique name (lowercase letters, digits and `-`).
    pub name: String,
    /// Where the catalog comes from.
    pub source: SourceSpec,
    /// Format of the source document; detected when `auto`.
    #[serde(default, skip_serializing_if = "SourceFormat::is_auto")]
    pub format: SourceFormat,
    /// When to sync.
    #[serde(default)]
    pub sync_policy: SyncPolicy,
    /// Which servers to keep.
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub filter: Filter,
    /// What to do with records that fail validation.
    #[serde(default, skip_serializing_if = "ValidationPolicy::is_default")]
    pub validation: ValidationPolicy,
}

impl RegistrySpec {
    /// Digest of what the catalog is built from (source spec, format, validation policy). A change forces
    /// a rebuild even when the source did not change.
    pub fn build_digest(&self) -> String {
        let value = serde_json::json!({
            "source": self.source,
            "format": self.format,
            "validation": self.validation,
        });
        thv_model::digest::value_digest(&value)
    }

    /// The spec as it may be shown or printed: the source without secrets ([`SourceSpec::redacted`]).
    pub fn redacted(&self) -> Self {
        Self { source: self.source.redacted(), ..self.clone() }
    }

    /// Checks the parts serde cannot: the name's shape, every duration's range, `validation.against` and
    /// the filter's values.
    pub fn check(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 63
            && self.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.name.starts_with('-')
            && !self.name.ends_with('-');
        if !name_ok {
            return Err(format!(
                "registry name {:?} must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'",
                self.name
            ));
        }
        self.check_durations().map_err(|e| format!("registry {}: {e}", self.name))?;
        self.validation.against().map_err(|e| format!("registry {}: validation.against: {e}", self.name))?;
        self.filter.validate().map_err(|e| format!("registry {}: filter: {e}", self.name))
    }

    fn check_durations(&self) -> Result<(), DurationOutOfRange> {
        INTERVAL_RANGE.check("syncPolicy.interval", self.sync_policy.interval)?;
        BACKOFF_RANGE.check("syncPolicy.retry.backoffInterval", self.sync_policy.retry.backoff_interval)?;
        self.source.check()
    }
}

/// Format of a source document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// Detect from the content.
    #[default]
    Auto,
    /// A ToolHive catalog file.
    Toolhive,
    /// Any `server.json`-based document.
    Upstream,
}

impl SourceFormat {
    /// Whether this is the default.
    pub fn is_auto(&self) -> bool {
        *self == Self::Auto
    }

    /// The detection hint.
    pub fn hint(self) -> FormatHint {
        match self {
            Self::Auto => FormatHint::Auto,
            Self::Toolhive => FormatHint::ToolHive,
            Self::Upstream => FormatHint::Upstream,
        }
    }
}

/// When a registry syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncPolicy {
    /// Sync automatically (manual syncs always work).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Time between automatic syncs.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Retries after a failed sync.
    #[serde(default)]
    pub retry: RetryPolicy,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self { enabled: true, interval: default_interval(), retry: RetryPolicy::default() }
    }
}

/// Retries of a failed sync: exponential backoff with jitter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries before waiting for the next interval.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// First backoff; doubled at each retry.
    #[serde(default = "default_backoff", with = "humantime_serde")]
    pub backoff_interval: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: default_max_retries(), backoff_interval: default_backoff() }
    }
}

impl RetryPolicy {
    /// The delay before retry `attempt` (1-based): `backoff · 2^(attempt-1)`, capped at one hour, times a
    /// jitter factor in `[0.5, 1.5)` given by `jitter` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
        let base = (self.backoff_interval.as_secs_f64() * exp).min(3600.0);
        Duration::from_secs_f64(base * (0.5 + jitter.clamp(0.0, 1.0)))
    }
}

/// What a sync does with records that fail validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidationPolicy {
    /// `warn` (default): keep invalid records and count them; `skip`: leave them out and record why.
    #[serde(default)]
    pub mode: ValidationMode,
    /// Also apply the registry's publish rules.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    /// Judge every record by this schema date instead of its declared one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<String>,
}

impl ValidationPolicy {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The schema choice ([`Against`]'s parser); an unknown date is an error naming it.
    pub fn against(&self) -> Result<Against, UnknownAgainst> {
        self.against.as_deref().map_or(Ok(Against::Declared), str::parse)
    }
}

/// See [`ValidationPolicy::mode`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    /// Keep invalid records; count and report them.
    #[default]
    Warn,
    /// Skip invalid records; record why.
    Skip,
}

fn default_true() -> bool {
    true
}

fn default_interval() -> Duration {
    Duration::from_secs(3600)
}

fn default_max_retries() -> u32 {
    3
}

fn default_backoff() -> Duration {
    Duration::from_secs(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let retry = RetryPolicy { max_retries: 3, backoff_interval: Duration::from_secs(10) };
        assert_eq!(retry.delay(1, 0.5), Duration::from_secs(10));
        assert_eq!(retry.delay(3, 0.5), Duration::from_secs(40));
        assert_eq!(retry.delay(1, 0.0), Duration::from_secs(5));
        assert!(retry.delay(40, 0.99) <= Duration::from_secs(5400));
    }

    #[test]
    fn specs_have_defaults_and_reject_unknown_fields() {
        let spec: RegistrySpec =
            serde_json::from_str(r#"{"name": "local", "source": {"file": {"path": "r.json"}}}"#).expect("spec");
        assert!(spec.sync_policy.enabled);
        assert_eq!(spec.sync_policy.interval, Duration::from_secs(3600));
        assert!(spec.check().is_ok());
        let err =
            serde_json::from_str::<RegistrySpec>(r#"{"name": "x", "source": {"file": {"path": "r"}}, "filtr": {}}"#)
                .expect_err("unknown field");
        assert!(err.to_string().contains("filtr"), "{err}");
        let bad = RegistrySpec { name: "Bad_Name".into(), ..spec.clone() };
        assert!(bad.check().is_err());
    }

    #[test]
    fn durations_out_of_range_name_the_registry_and_the_field() {
        let cases = [
            (r#""syncPolicy": {"interval": "400000000000y"}"#, "syncPolicy.interval"),
            (r#""syncPolicy": {"interval": "0s"}"#, "syncPolicy.interval"),
            (r#""syncPolicy": {"retry": {"backoffInterval": "400000000000y"}}"#, "syncPolicy.retry.backoffInterval"),
        ];
        for (policy, field) in cases {
            let json = format!(r#"{{"name": "r", "source": {{"file": {{"path": "r.json"}}}}, {policy}}}"#);
            let spec: RegistrySpec = serde_json::from_str(&json).expect(&json);
            let err = spec.check().expect_err(&json);
            assert!(err.starts_with(&format!("registry r: {field}: ")), "{err}");
            assert!(err.contains("out of range (allowed: "), "{err}");
        }
        let json = r#"{"name": "g", "source": {"git": {"repository": "https://x/r.git", "timeout": "400000000000y"}}}"#;
        let spec: RegistrySpec = serde_json::from_str(json).expect("spec");
        assert!(spec.check().expect_err("timeout").starts_with("registry g: source.git.timeout: "));
    }

    #[test]
    fn an_unknown_against_date_is_refused_when_loaded() {
        let json = r#"{"name": "v", "source": {"file": {"path": "r.json"}}, "validation": {"against": "2026-03-01"}}"#;
        let spec: RegistrySpec = serde_json::from_str(json).expect("spec");
        let err = spec.check().expect_err("unknown date");
        assert!(err.starts_with("registry v: validation.against: expected `declared` or a released"), "{err}");
        let mut fine = spec.clone();
        fine.validation.against = Some("2025-10-17".into());
        assert_eq!(fine.check(), Ok(()));
        assert_eq!(fine.validation.against().expect("date").to_string(), "2025-10-17");
    }

    #[test]
    fn build_digest_changes_with_the_source() {
        let a: RegistrySpec =
            serde_json::from_str(r#"{"name": "a", "source": {"file": {"path": "r.json"}}}"#).expect("spec");
        let mut b = a.clone();
        b.sync_policy.interval = Duration::from_secs(5);
        assert_eq!(a.build_digest(), b.build_digest(), "the interval does not change the catalog");
        b.format = SourceFormat::Toolhive;
        assert_ne!(a.build_digest(), b.build_digest());
    }
}
