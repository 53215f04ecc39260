//! Building blocks shared by the validators: a findings sink and the JSON Schema keywords they
//! reproduce (`type`, `required`, `minLength`/`maxLength`, `enum`, `minimum`/`maximum`,
//! `uniqueItems`), each reporting one finding per problem with a message that names the field and
//! what was found.

use std::fmt;

use serde_json::{Map, Value};

use super::loc::Loc;
use super::{Finding, Level};

/// Collects findings of one level.
pub(crate) struct Sink {
    level: Level,
    findings: Vec<Finding>,
}

impl Sink {
    /// An empty sink for `level`.
    pub(crate) fn new(level: Level) -> Self {
        Self { level, findings: Vec::new() }
    }

    /// Records a problem at `loc`.
    pub(crate) fn push(&mut self, loc: &Loc<'_>, message: String) {
        self.findings.push(Finding { level: self.level, pointer: loc.pointer(), message });
    }

    /// The findings collected so far.
    pub(crate) fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

/// The member `key` of `obj`. Small objects (nearly all of them) are scanned, which is faster than
/// hashing the key.
pub(crate) fn member<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    if obj.len() <= 16 { obj.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v) } else { obj.get(key) }
}

/// A field named for messages: its owner (`package`) and its key (`version`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct What<'a>(pub &'a str, pub &'a str);

impl fmt::Display for What<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.is_empty(), self.1.is_empty()) {
            (true, _) => f.write_str(self.1),
            (false, true) => f.write_str(self.0),
            (false, false) => write!(f, "{} {}", self.0, self.1),
        }
    }
}

/// A value described for messages: strings quoted (and shortened), other values by kind.
pub(crate) struct Found<'a>(pub &'a Value);

/// Longest string quoted in a message, in characters.
const QUOTE_LIMIT: usize = 80;

impl fmt::Display for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::String(s) => Quoted(s).fmt(f),
            Value::Number(n) => write!(f, "the number {n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
            Value::Array(_) => f.write_str("an array"),
            Value::Object(_) => f.write_str("an object"),
        }
    }
}

/// A string quoted as JSON, shortened to [`QUOTE_LIMIT`] characters.
pub(crate) struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let cut = s.char_indices().nth(QUOTE_LIMIT).map(|(i, _)| i);
        let shown = cut.map_or(s, |i| &s[..i]);
        let quoted = serde_json::to_string(shown).map_err(|_| fmt::Error)?;
        match cut {
            Some(_) => write!(f, "{}…\"", &quoted[..quoted.len() - 1]),
            None => f.write_str(&quoted),
        }
    }
}

/// The value as a string, or a finding.
pub(crate) fn string<'v>(sink: &mut Sink, loc: &Loc<'_>, value: &'v Value, what: What<'_>) -> Option<&'v str> {
    let s = value.as_str();
    if s.is_none() {
        sink.push(loc, format!("{what} must be a string, found {}", Found(value)));
    }
    s
}

/// The value as an object, or a finding.
pub(crate) fn object<'v>(
    sink: &mut Sink,
    loc: &Loc<'_>,
    value: &'v Value,
    what: What<'_>,
) -> Option<&'v Map<String, Value>> {
    let o = value.as_object();
    if o.is_none() {
        sink.push(loc, format!("{what} must be an object, found {}", Found(value)));
    }
    o
}

/// The value as an array, or a finding.
pub(crate) fn array<'v>(sink: &mut Sink, loc: &Loc<'_>, value: &'v Value, what: What<'_>) -> Option<&'v [Value]> {
    let a = value.as_array().map(Vec::as_slice);
    if a.is_none() {
        sink.push(loc, format!("{what} must be an array, found {}", Found(value)));
    }
    a
}

/// A finding unless the value is a boolean.
pub(crate) fn boolean(sink: &mut Sink, loc: &Loc<'_>, value: &Value, what: What<'_>) {
    if !value.is_boolean() {
        sink.push(loc, format!("{what} must be true or false, found {}", Found(value)));
    }
}

/// A finding for every key of `keys` that `obj` lacks.
pub(crate) fn required(sink: &mut Sink, loc: &Loc<'_>, obj: &Map<String, Value>, keys: &[&str], owner: &str) {
    for key in keys {
        if member(obj, key).is_none() {
            sink.push(loc, format!("{owner} is missing required field `{key}`"));
        }
    }
}

/// `minLength`/`maxLength`, counted in Unicode code points as JSON Schema does.
pub(crate) fn length(sink: &mut Sink, loc: &Loc<'_>, s: &str, min: usize, max: Option<usize>, what: What<'_>) {
    // Code points never outnumber bytes, so short strings skip the count.
    let max_ok = max.is_none_or(|m| s.len() <= m);
    if max_ok && s.len() >= min.saturating_mul(4) {
        return;
    }
    let n = s.chars().count();
    if n < min {
        let message = if min == 1 {
            format!("{what} must not be empty")
        } else {
            format!("{what} must be at least {min} characters long, found {n}")
        };
        sink.push(loc, message);
    }
    if let Some(max) = max.filter(|&m| n > m) {
        sink.push(loc, format!("{what} must be at most {max} characters long, found {n}"));
    }
}

/// `type: string` with `enum`: one finding when the value is not one of `allowed`.
pub(crate) fn one_of(sink: &mut Sink, loc: &Loc<'_>, value: &Value, allowed: &[&str], what: What<'_>) {
    if value.as_str().is_some_and(|s| allowed.contains(&s)) {
        return;
    }
    sink.push(loc, format!("{what} must be {}, found {}", Choices(allowed), Found(value)));
}

/// A list of allowed strings for messages: `"a"`, `"a" or "b"`, `one of "a", "b", "c"`.
pub(crate) struct Choices<'a>(pub &'a [&'a str]);

impl fmt::Display for Choices<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [one] => write!(f, "\"{one}\""),
            [a, b] => write!(f, "\"{a}\" or \"{b}\""),
            many => {
                f.write_str("one of ")?;
                for (i, c) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "\"{c}\"")?;
                }
                Ok(())
            }
        }
    }
}

/// Whether JSON Schema (draft 6 and later) calls the value an integer: `3` and `3.0` are, `3.5`
/// is not.
pub(crate) fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0),
        _ => false,
    }
}

/// `type: integer` with `minimum` and optional `maximum`.
pub(crate) fn integer_in(sink: &mut Sink, loc: &Loc<'_>, value: &Value, min: i64, max: Option<i64>, what: What<'_>) {
    if !is_integer(value) {
        sink.push(loc, format!("{what} must be an integer, found {}", Found(value)));
        return;
    }
    let below = match (value.as_i64(), value.as_u64(), value.as_f64()) {
        (Some(i), _, _) => i < min,
        (None, Some(_), _) => false,
        (None, None, Some(f)) => f < min as f64,
        _ => false,
    };
    let above = max.is_some_and(|max| match (value.as_i64(), value.as_u64(), value.as_f64()) {
        (Some(i), _, _) => i > max,
        (None, Some(_), _) => true,
        (None, None, Some(f)) => f > max as f64,
        _ => false,
    });
    if below || above {
        let range = match max {
            Some(max) => format!("between {min} and {max}"),
            None => format!("at least {min}"),
        };
        sink.push(loc, format!("{what} must be {range}, found {}", Found(value)));
    }
}

/// `uniqueItems`: a finding at each item equal to an earlier one.
pub(crate) fn unique(sink: &mut Sink, loc: &Loc<'_>, items: &[Value], what: What<'_>) {
    for (i, item) in items.iter().enumerate() {
        if items[..i].iter().any(|earlier| json_eq(earlier, item)) {
            sink.push(&loc.index(i), format!("{what} must be unique, found {} twice", Found(item)));
        }
    }
}

/// JSON equality as JSON Schema defines it: numbers compare by value (`1` equals `1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn describes_found_values() {
        assert_eq!(Found(&json!("latest")).to_string(), "\"latest\"");
        assert_eq!(Found(&json!(5)).to_string(), "the number 5");
        assert_eq!(Found(&json!(null)).to_string(), "null");
        assert_eq!(Found(&json!([1])).to_string(), "an array");
        let long = "é".repeat(100);
        let shown = Found(&json!(long)).to_string();
        assert!(shown.ends_with("…\""), "{shown}");
        assert_eq!(shown.chars().count(), 80 + 3);
    }

    #[test]
    fn counts_lengths_in_code_points() {
        let mut sink = Sink::new(Level::Schema);
        let root = Loc::Root;
        length(&mut sink, &root, &"é".repeat(100), 1, Some(100), What("", "x"));
        assert!(sink.findings.is_empty());
        length(&mut sink, &root, &"é".repeat(101), 1, Some(100), What("", "x"));
        length(&mut sink, &root, "", 1, Some(100), What("", "x"));
        assert_eq!(sink.findings.len(), 2);
    }

    #[test]
    fn compares_numbers_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1, 2]}), &json!({"a": [1.0, 2]})));
        assert!(!json_eq(&json!(1), &json!("1")));
        assert!(is_integer(&json!(3.0)));
        assert!(!is_integer(&json!(3.5)));
    }
}
