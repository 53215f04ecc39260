//! Step 1, fetch: ask the source for the document, conditionally when the stored catalog was built from
//! the same spec and filter.

use thv_sources::{FetchOutcome, Source, Validators};
use thv_store::RegistryState;

use super::SyncError;
use crate::spec::RegistrySpec;

/// What the stored state says about this sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Digest of what the catalog is built from ([`RegistrySpec::build_digest`]).
    pub build_digest: String,
    /// Digest of the filter.
    pub filter_digest: String,
    /// The previous fetch's validators, for a conditional fetch; `None` for a full fetch (never synced, or
    /// the spec or filter changed since the stored catalog was built, which needs the whole document).
    pub validators: Option<Validators>,
}

impl Plan {
    /// Whether the stored catalog was built from other digests than these.
    pub fn digests_differ(&self, state: &RegistryState) -> bool {
        state.spec_digest.as_deref() != Some(self.build_digest.as_str())
            || state.filter_digest.as_deref() != Some(self.filter_digest.as_str())
    }
}

/// Plans the fetch of `spec` after `previous`.
pub(crate) fn plan(spec: &RegistrySpec, previous: Option<&RegistryState>) -> Plan {
    let mut plan = Plan { build_digest: spec.build_digest(), filter_digest: spec.filter.digest(), validators: None };
    plan.validators = previous
        .filter(|p| !plan.digests_differ(p))
        // Validators that no longer read (an older format) just cost one full fetch.
        .and_then(|p| serde_json::from_value(p.validators.clone()).ok());
    plan
}

/// Fetches the document as planned.
pub(crate) async fn fetch(source: &dyn Source, plan: &Plan) -> Result<FetchOutcome, SyncError> {
    Ok(source.fetch(plan.validators.as_ref()).await?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec() -> RegistrySpec {
        serde_json::from_value(json!({"name": "r", "source": {"file": {"path": "r.json"}}})).expect("spec")
    }

    fn built_from(spec: &RegistrySpec) -> RegistryState {
        RegistryState {
            registry: "r".into(),
            spec_digest: Some(spec.build_digest()),
            filter_digest: Some(spec.filter.digest()),
            validators: json!({"etag": "\"v1\""}),
            ..RegistryState::default()
        }
    }

    #[test]
    fn an_unchanged_spec_fetches_conditionally() {
        let spec = spec();
        let plan = plan(&spec, Some(&built_from(&spec)));
        assert_eq!(plan.validators.and_then(|v| v.etag).as_deref(), Some("\"v1\""));
    }

    #[test]
    fn a_first_sync_or_a_changed_spec_or_filter_fetches_in_full() {
        let spec = spec();
        assert_eq!(plan(&spec, None).validators, None);
        let stored = built_from(&spec);
        let mut filtered = spec.clone();
        filtered.filter.exclude.names = vec!["nonexistent.zzz/*".into()];
        assert_eq!(plan(&filtered, Some(&stored)).validators, None);
        let mut strict = spec.clone();
        strict.validation.strict = true;
        assert_eq!(plan(&strict, Some(&stored)).validators, None);
        let unreadable = RegistryState { validators: json!("not an object"), ..stored };
        assert_eq!(plan(&spec, Some(&unreadable)).validators, None);
    }
}
