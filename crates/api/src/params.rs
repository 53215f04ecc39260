//! Query parameters of the read routes, validated as the official server does (422 for type and range
//! errors, 400 for a bad `updated_since`). Never fails with anything but a [`Problem`].

use jiff::Timestamp;
use serde_json::Value;

use crate::problem::Problem;
use crate::search::Search;

/// The official message for an unparsable `updated_since`.
pub const BAD_UPDATED_SINCE: &str =
    "Invalid updated_since format: expected RFC3339 timestamp (e.g., 2025-08-07T13:15:04.280Z)";

/// Default page size.
pub const DEFAULT_LIMIT: usize = 30;
/// Largest page size.
pub const MAX_LIMIT: usize = 100;

/// The decoded query string: first value of each key; empty values count as absent.
#[derive(Debug, Default)]
pub struct RawQuery(Vec<(String, String)>);

impl RawQuery {
    /// Parses `query` (`None` = no query string).
    pub fn parse(query: Option<&str>) -> Self {
        let pairs = query.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        Self(pairs)
    }

    /// The first non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, comma-separated lists split, blanks dropped (`tag=a&tag=b,c` gives a, b, c).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `key` as a whole number in `range` (`default` when absent); 422 at `query.<key>` otherwise.
    pub fn bounded(&self, key: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64, Problem> {
        let Some(text) = self.get(key) else {
            return Ok(default);
        };
        match text.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(Problem::validation(
                format!("expected an integer from {} to {}", range.start(), range.end()),
                format!("query.{key}"),
                Value::from(text),
            )),
        }
    }

    /// The `search` term (`None` when absent or empty).
    pub fn search(&self) -> Option<Search> {
        self.get("search").map(Search::new)
    }

    /// `include_deleted` as a bool (`None` when absent).
    pub fn include_deleted(&self) -> Result<Option<bool>, Problem> {
        self.get("include_deleted").map(|v| parse_bool(v, "query.include_deleted")).transpose()
    }
}

fn parse_bool(value: &str, location: &str) -> Result<bool, Problem> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Problem::validation("expected boolean", location, Value::from(value))),
    }
}

/// Where a page starts: after this (name, version), or after every version of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// `name:version`: rows with (name, version) greater than this.
    After {
        /// Name part (before the first `:`).
        name: String,
        /// Version part.
        version: String,
    },
    /// No `:`: rows whose name is greater than this.
    AfterName(String),
}

impl Cursor {
    /// Parses a cursor; any text is a valid cursor.
    pub fn parse(text: &str) -> Self {
        match text.split_once(':') {
            Some((name, version)) => Self::After { name: name.to_owned(), version: version.to_owned() },
            None => Self::AfterName(text.to_owned()),
        }
    }
}

/// Parameters of `GET /servers`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    /// Where the page starts.
    pub cursor: Option<Cursor>,
    /// Page size, 1..=100.
    pub limit: usize,
    /// Part of the name, title or description.
    pub search: Option<Search>,
    /// Only rows updated strictly after this.
    pub updated_since: Option<Timestamp>,
    /// `latest` or an exact version.
    pub version: Option<String>,
    /// Whether deleted rows are listed (always with `updated_since`).
    pub include_deleted: bool,
}

impl ListParams {
    /// Validates the query of `GET /servers`.
    pub fn from_query(query: &RawQuery) -> Result<Self, Problem> {
        let limit = match query.get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => parse_limit(text)?,
        };
        let updated_since = query
            .get("updated_since")
            .map(|text| text.parse::<Timestamp>().map_err(|_| Problem::bad_request(BAD_UPDATED_SINCE)))
            .transpose()?;
        // With `updated_since`, deletions are always listed (incremental syncs must see them), whatever
        // `include_deleted` says; it is still validated.
        let include_deleted = query.include_deleted()?.unwrap_or(false) || updated_since.is_some();
        Ok(Self {
            cursor: query.get("cursor").map(Cursor::parse),
            limit,
            search: query.search(),
            updated_since,
            version: query.get("version").map(str::to_owned),
            include_deleted,
        })
    }
}

fn parse_limit(text: &str) -> Result<usize, Problem> {
    const LOCATION: &str = "query.limit";
    let Ok(number) = text.parse::<i64>() else {
        return Err(Problem::validation("expected integer", LOCATION, Value::from(text)));
    };
    if number < 1 {
        return Err(Problem::validation("expected number >= 1", LOCATION, Value::from(number)));
    }
    match usize::try_from(number) {
        Ok(limit) if limit <= MAX_LIMIT => Ok(limit),
        _ => Err(Problem::validation("expected number <= 100", LOCATION, Value::from(number))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(query: &str) -> Result<ListParams, Problem> {
        ListParams::from_query(&RawQuery::parse(Some(query)))
    }

    #[test]
    fn limits_and_defaults() {
        assert_eq!(list("").unwrap().limit, 30);
        assert_eq!(list("limit=100").unwrap().limit, 100);
        for bad in ["limit=0", "limit=101", "limit=abc", "limit=-1", "limit=1.5", "limit=99999999999999999999"] {
            assert_eq!(list(bad).unwrap_err().status.as_u16(), 422, "{bad}");
        }
    }

    #[test]
    fn updated_since_implies_deleted() {
        let params = list("updated_since=2025-08-07T13:15:04.280Z").unwrap();
        assert!(params.include_deleted);
        assert_eq!(list("updated_since=yesterday").unwrap_err().detail, BAD_UPDATED_SINCE);
        let explicit_false = list("updated_since=2025-08-07T13:15:04Z&include_deleted=false").unwrap();
        assert!(explicit_false.include_deleted, "taken as true, as the official document says");
        assert!(!list("include_deleted=false").unwrap().include_deleted);
        assert_eq!(list("include_deleted=maybe").unwrap_err().status.as_u16(), 422);
    }

    #[test]
    fn cursors_split_at_the_first_colon() {
        assert_eq!(Cursor::parse("a/b:1.0:x"), Cursor::After { name: "a/b".to_owned(), version: "1.0:x".to_owned() });
        assert_eq!(Cursor::parse("a/b"), Cursor::AfterName("a/b".to_owned()));
    }
}
