//! Released `server.json` schema versions and how a document declares one.

use std::fmt;
use std::str::FromStr;

/// A released `server.json` schema, named by its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SchemaVersion {
    /// First release, snake_case keys.
    V2025_07_09,
    /// camelCase keys.
    V2025_09_16,
    /// `status` and the official `_meta` moved out of the document.
    V2025_09_29,
    /// Flat, generated from OpenAPI; `title`, `icons`, optional package `version`.
    V2025_10_11,
    /// Same schema as 2025-10-11.
    V2025_10_17,
    /// Current: remote `variables`, URL patterns.
    V2025_12_11,
}

/// The `$schema` URL prefix of released schemas.
const SCHEMA_URL_PREFIX: &str = "https://static.modelcontextprotocol.io/schemas/";

impl SchemaVersion {
    /// The current released schema.
    pub const CURRENT: Self = Self::V2025_12_11;

    /// Every released schema, oldest first.
    pub const ALL: [Self; 6] = [
        Self::V2025_07_09,
        Self::V2025_09_16,
        Self::V2025_09_29,
        Self::V2025_10_11,
        Self::V2025_10_17,
        Self::V2025_12_11,
    ];

    /// The schema's date, e.g. `2025-12-11`.
    pub fn date(self) -> &'static str {
        match self {
            Self::V2025_07_09 => "2025-07-09",
            Self::V2025_09_16 => "2025-09-16",
            Self::V2025_09_29 => "2025-09-29",
            Self::V2025_10_11 => "2025-10-11",
            Self::V2025_10_17 => "2025-10-17",
            Self::V2025_12_11 => "2025-12-11",
        }
    }

    /// The canonical `$schema` URL of this version.
    pub fn url(self) -> String {
        format!("{SCHEMA_URL_PREFIX}{}/server.schema.json", self.date())
    }

    /// Whether documents of this version use snake_case keys.
    pub fn is_snake_case(self) -> bool {
        self == Self::V2025_07_09
    }

    /// Extracts the date segment of a `$schema` URL (`…/schemas/<date>/server.schema.json[#…]`).
    pub fn date_in_url(url: &str) -> Option<&str> {
        let (_, rest) = url.split_once("/schemas/")?;
        let (date, tail) = rest.split_once('/')?;
        let valid = !date.is_empty()
            && date.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'~' | b'.' | b'-'));
        (valid && tail.starts_with("server.schema.json")).then_some(date)
    }

    /// The released version a `$schema` URL names, if any.
    pub fn from_schema_url(url: &str) -> Option<Self> {
        Self::date_in_url(url).and_then(|d| d.parse().ok())
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.date())
    }
}

/// Error for a date that names no released schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a released server.json schema date (known: 2025-07-09, 2025-09-16, 2025-09-29, 2025-10-11, 2025-10-17, 2025-12-11)"
)]
pub struct UnknownSchemaDate(pub String);

impl FromStr for SchemaVersion {
    type Err = UnknownSchemaDate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.date() == s).ok_or_else(|| UnknownSchemaDate(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dates_from_urls_with_and_without_fragment() {
        let url =
            "https://static.modelcontextprotocol.io/schemas/2025-10-17/server.schema.json#/definitions/ServerDetail";
        assert_eq!(SchemaVersion::from_schema_url(url), Some(SchemaVersion::V2025_10_17));
        assert_eq!(SchemaVersion::from_schema_url(&SchemaVersion::CURRENT.url()), Some(SchemaVersion::CURRENT));
        assert_eq!(SchemaVersion::from_schema_url("https://example.com/schemas/draft/server.schema.json"), None);
        assert_eq!(SchemaVersion::date_in_url("https://example.com/schemas/draft/server.schema.json"), Some("draft"));
        assert_eq!(SchemaVersion::from_schema_url("https://example.com/other.json"), None);
    }

    #[test]
    fn parses_only_released_dates() {
        assert_eq!("2025-09-29".parse::<SchemaVersion>(), Ok(SchemaVersion::V2025_09_29));
        assert!("2026-03-01".parse::<SchemaVersion>().is_err());
    }
}
