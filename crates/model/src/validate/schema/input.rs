//! Inputs: `Input`, `InputWithVariables`, `KeyValueInput` (environment variables, headers) and
//! `Argument` (positional or named).

use serde_json::{Map, Value};

use super::Ctx;
use crate::validate::check::{Found, What, array, boolean, member, object, one_of, required, string};
use crate::validate::loc::Loc;

/// Values of an input's `format`.
const FORMATS: [&str; 4] = ["string", "number", "boolean", "filepath"];

/// `Input`: an object whose known members have the right types. Returns the object.
fn input<'v>(cx: &mut Ctx, loc: &Loc<'_>, value: &'v Value, owner: &str) -> Option<&'v Map<String, Value>> {
    let obj = object(&mut cx.sink, loc, value, What("", owner))?;
    let keys = cx.rules.keys;
    for (key, value) in obj {
        let at = loc.key(key);
        let what = What(owner, key);
        let sink = &mut cx.sink;
        match key.as_str() {
            "description" | "value" | "default" => {
                string(sink, &at, value, what);
            }
            "placeholder" if cx.rules.display => {
                string(sink, &at, value, what);
            }
            "format" => one_of(sink, &at, value, &FORMATS, what),
            "choices" => {
                if let Some(items) = array(sink, &at, value, what) {
                    for (i, item) in items.iter().enumerate() {
                        string(sink, &at.index(i), item, What(owner, "choice"));
                    }
                }
            }
            k if k == keys.is_required || k == keys.is_secret => boolean(sink, &at, value, what),
            _ => {}
        }
    }
    Some(obj)
}

/// `InputWithVariables`: an input whose `variables` map names to inputs. Returns the object.
fn with_variables<'v>(cx: &mut Ctx, loc: &Loc<'_>, value: &'v Value, owner: &str) -> Option<&'v Map<String, Value>> {
    let obj = input(cx, loc, value, owner)?;
    if let Some(vars) = member(obj, "variables") {
        variables(cx, &loc.key("variables"), vars, owner);
    }
    Some(obj)
}

/// A `variables` map: an object whose every member is an input.
pub(super) fn variables(cx: &mut Ctx, loc: &Loc<'_>, value: &Value, owner: &str) {
    let Some(obj) = object(&mut cx.sink, loc, value, What(owner, "variables")) else {
        return;
    };
    for (name, var) in obj {
        input(cx, &loc.key(name), var, "variable");
    }
}

/// `KeyValueInput` (environment variable, header): an input with variables and a string `name`.
pub(super) fn key_value(cx: &mut Ctx, loc: &Loc<'_>, value: &Value, owner: &str) {
    let Some(obj) = with_variables(cx, loc, value, owner) else {
        return;
    };
    name(cx, loc, obj, owner);
}

/// `Argument`: positional (`type`, and `valueHint` or `value`) or named (`type` and `name`).
pub(super) fn argument(cx: &mut Ctx, loc: &Loc<'_>, value: &Value) {
    let Some(obj) = with_variables(cx, loc, value, "argument") else {
        return;
    };
    let keys = cx.rules.keys;
    if let Some(v) = member(obj, keys.is_repeated) {
        boolean(&mut cx.sink, &loc.key(keys.is_repeated), v, What("argument", keys.is_repeated));
    }
    match member(obj, "type") {
        Some(Value::String(t)) if t == "positional" => {
            let hint = member(obj, keys.value_hint);
            if let Some(v) = hint {
                string(&mut cx.sink, &loc.key(keys.value_hint), v, What("argument", keys.value_hint));
            }
            if hint.is_none() && member(obj, "value").is_none() {
                cx.sink.push(loc, format!("positional argument needs `{}` or `value`, found neither", keys.value_hint));
            }
        }
        Some(Value::String(t)) if t == "named" => name(cx, loc, obj, "named argument"),
        Some(other) => cx.sink.push(
            &loc.key("type"),
            format!("argument type must be \"positional\" or \"named\", found {}", Found(other)),
        ),
        None => cx.sink.push(loc, "argument is missing required field `type` (\"positional\" or \"named\")".to_owned()),
    }
}

/// A required string `name`.
fn name(cx: &mut Ctx, loc: &Loc<'_>, obj: &Map<String, Value>, owner: &str) {
    match member(obj, "name") {
        Some(v) => {
            string(&mut cx.sink, &loc.key("name"), v, What(owner, "name"));
        }
        None => required(&mut cx.sink, loc, obj, &["name"], owner),
    }
}
