//! JSON Merge Patch (RFC 7386): computing the patch that turns one value into another, and applying it.
//!
//! Conversion uses it to carry what a target format cannot express: the patch from what the way back
//! would rebuild to the original, stored in a namespaced extension and applied on the way back.

use serde_json::{Map, Value};

/// The merge patch that turns `from` into `to`, or `None` when they are equal.
///
/// Fails with [`NullInTarget`] when `to` holds a `null` that a merge patch cannot express (null means "remove").
pub fn diff(from: &Value, to: &Value) -> Result<Option<Value>, NullInTarget> {
    if from == to {
        return Ok(None);
    }
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) => {
                        if let Some(p) = diff(av, bv)? {
                            patch.insert(k.clone(), p);
                        }
                    }
                    None => {
                        check_no_null(bv)?;
                        patch.insert(k.clone(), bv.clone());
                    }
                }
            }
            for k in a.keys() {
                if !b.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            Ok((!patch.is_empty()).then_some(Value::Object(patch)))
        }
        _ => {
            check_no_null(to)?;
            Ok(Some(to.clone()))
        }
    }
}

/// The target of a diff holds a `null`, which a merge patch cannot write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the document holds null values, which a merge patch cannot carry")]
pub struct NullInTarget;

fn check_no_null(v: &Value) -> Result<(), NullInTarget> {
    match v {
        Value::Null => Err(NullInTarget),
        Value::Array(items) => items.iter().try_for_each(check_no_null),
        Value::Object(m) => m.values().try_for_each(check_no_null),
        _ => Ok(()),
    }
}

/// Applies a merge patch to `target` in place.
pub fn apply(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (k, pv) in patch {
            if pv.is_null() {
                map.shift_remove(k);
            } else {
                apply(map.entry(k.clone()).or_insert(Value::Null), pv);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(a: Value, b: Value) {
        let patch = diff(&a, &b).expect("no nulls");
        let mut patched = a.clone();
        if let Some(p) = &patch {
            apply(&mut patched, p);
        }
        assert_eq!(patched, b, "patch {patch:?}");
    }

    #[test]
    fn diff_then_apply_restores_the_target() {
        round_trip(json!({"a": 1, "b": {"c": [1, 2], "d": "x"}}), json!({"a": 1, "b": {"c": [2], "e": true}}));
        round_trip(json!({"a": {"b": 1}}), json!({"a": "flat"}));
        round_trip(json!("x"), json!({"now": {"an": "object"}}));
        round_trip(json!({"gone": {"deep": 1}}), json!({}));
    }

    #[test]
    fn equal_values_need_no_patch() {
        assert_eq!(diff(&json!({"a": [1]}), &json!({"a": [1]})), Ok(None));
    }

    #[test]
    fn nulls_in_the_target_are_refused() {
        assert_eq!(diff(&json!({}), &json!({"a": null})), Err(NullInTarget));
        assert_eq!(diff(&json!({"a": 1}), &json!({"a": [null]})), Err(NullInTarget));
    }
}
