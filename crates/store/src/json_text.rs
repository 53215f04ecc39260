//! JSON documents kept as compact text: a large catalog costs its bytes, not a tree of values, and the
//! API can send stored documents without re-serialising them.

use std::fmt;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Error as _, Serialize, Serializer};
use serde_json::Value;

/// Compact JSON text of one valid JSON value.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct JsonText(String);

impl JsonText {
    /// The text of `value`.
    pub fn from_value(value: &Value) -> Self {
        Self(value.to_string())
    }

    /// Wraps text already known to be valid JSON (read back from a store that wrote it).
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    /// Wraps text after checking it is JSON.
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<serde::de::IgnoredAny>(&text)?;
        Ok(Self(text))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON text, by value.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The document as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// Deserialises the document into `T`.
    pub fn decode<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }

    /// Length of the text in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty (never, for a valid document).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        Self::from_value(&value)
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &serde_json::value::RawValue = serde_json::from_str(&self.0).map_err(S::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn serialises_as_the_json_it_holds() {
        let text = JsonText::from(json!({"a": [1, "x"]}));
        assert_eq!(text.as_str(), r#"{"a":[1,"x"]}"#);
        assert_eq!(serde_json::to_value(&text).unwrap(), json!({"a": [1, "x"]}));
        let back: JsonText = serde_json::from_str(r#"{ "a" : [1, "x"] }"#).unwrap();
        assert_eq!(back, text);
        assert!(JsonText::parse("{broken".into()).is_err());
    }
}
