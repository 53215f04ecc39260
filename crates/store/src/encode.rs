//! Backend-neutral conversions between records and column values.
//!
//! Every SQL backend stores the same things: JSON as text (or a JSON type built from that text), counters as
//! signed 64-bit integers, enums as their lowercase names. The conversions, and the errors they raise when a
//! stored value is out of range or unreadable, live here so each backend only maps rows.

use serde_json::Value;

use crate::{ChangeKind, Counts, FailureKind, StoreError, StoreResult, SyncOutcome};

/// JSON text of a value to store.
pub(crate) fn json_text(value: &Value, what: &'static str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Query { operation: what, message: e.to_string() })
}

/// Parses JSON text read back from `what`.
pub(crate) fn parse_json(text: &str, what: impl FnOnce() -> String) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt { what: what(), message: format!("not JSON: {e}") })
}

/// A counter as a column value.
pub(crate) fn counter(value: u64, what: &'static str) -> StoreResult<i64> {
    i64::try_from(value)
        .map_err(|_| StoreError::Query { operation: what, message: format!("{value} does not fit a 64-bit column") })
}

/// A counter read back from `what`.
pub(crate) fn read_counter<T: TryFrom<i64>>(value: i64, what: impl FnOnce() -> String) -> StoreResult<T> {
    T::try_from(value)
        .map_err(|_| StoreError::Corrupt { what: what(), message: format!("{value} is out of range for a counter") })
}

/// A boolean read back from an integer column.
pub(crate) fn read_bool(value: i64, what: impl FnOnce() -> String) -> StoreResult<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::Corrupt { what: what(), message: format!("{other} is not a boolean (0 or 1)") }),
    }
}

/// An outcome read back from `what`.
pub(crate) fn read_outcome(text: &str, what: impl FnOnce() -> String) -> StoreResult<SyncOutcome> {
    SyncOutcome::parse(text)
        .ok_or_else(|| StoreError::Corrupt { what: what(), message: format!("unknown sync outcome {text:?}") })
}

/// A failure kind read back from `what` (`NULL` is none).
pub(crate) fn read_failure_kind(text: Option<&str>, what: impl FnOnce() -> String) -> StoreResult<Option<FailureKind>> {
    text.map(|text| {
        FailureKind::parse(text)
            .ok_or_else(|| StoreError::Corrupt { what: what(), message: format!("unknown failure kind {text:?}") })
    })
    .transpose()
}

/// A change kind read back from `what`.
pub(crate) fn read_change_kind(text: &str, what: impl FnOnce() -> String) -> StoreResult<ChangeKind> {
    ChangeKind::parse(text)
        .ok_or_else(|| StoreError::Corrupt { what: what(), message: format!("unknown change kind {text:?}") })
}

/// The five counters of a run as column values, in the order total, added, removed, updated, skipped.
pub(crate) fn counts(counts: &Counts) -> StoreResult<[i64; 5]> {
    Ok([
        counter(counts.total, "encode run counts")?,
        counter(counts.added, "encode run counts")?,
        counter(counts.removed, "encode run counts")?,
        counter(counts.updated, "encode run counts")?,
        counter(counts.skipped, "encode run counts")?,
    ])
}

/// Run counters read back from `what`, in the order of [`counts`].
pub(crate) fn read_counts(values: [i64; 5], what: impl Fn() -> String) -> StoreResult<Counts> {
    let [total, added, removed, updated, skipped] = values;
    Ok(Counts {
        total: read_counter(total, &what)?,
        added: read_counter(added, &what)?,
        removed: read_counter(removed, &what)?,
        updated: read_counter(updated, &what)?,
        skipped: read_counter(skipped, &what)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_are_errors_not_panics() {
        assert!(counter(u64::MAX, "x").is_err());
        assert!(read_counter::<u32>(-1, || "row".into()).is_err());
        assert!(read_bool(2, || "row".into()).is_err());
        assert!(read_outcome("maybe", || "row".into()).is_err());
        assert_eq!(read_failure_kind(None, || "row".into()).expect("none"), None);
        assert_eq!(read_failure_kind(Some("stalled"), || "row".into()).expect("kind"), Some(FailureKind::Stalled));
        assert!(read_failure_kind(Some("maybe"), || "row".into()).is_err());
        assert!(read_change_kind("moved", || "row".into()).is_err());
        let err = parse_json("{", || "server_versions row (a, b, c).document".into()).unwrap_err();
        assert!(err.to_string().contains("server_versions row (a, b, c).document"), "{err}");
    }

    #[test]
    fn counts_round_trip() {
        let c = Counts { total: 5, added: 4, removed: 3, updated: 2, skipped: 1 };
        assert_eq!(read_counts(counts(&c).unwrap(), || "row".into()).unwrap(), c);
    }
}
