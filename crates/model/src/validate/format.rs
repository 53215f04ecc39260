//! The JSON Schema `format`s the ToolHive schema asserts (`date-time`, `uri`, `hostname`), checked
//! the way the `jsonschema` crate checks them for draft 7: RFC 3339 date-times (leap seconds only
//! at 23:59 UTC), RFC 3986 absolute URIs, RFC 1123 host names with IDNA A-labels.
//!
//! One approximation: a decoded A-label (`xn--…`) is accepted when its code points are
//! alphanumeric (`char::is_alphanumeric`) and pass RFC 5892's contextual rules; `jsonschema` uses
//! Unicode general categories instead, which also admit combining marks, and allows a zero width
//! joiner after a virama, which is rejected here. ASCII host names are judged identically.

mod date_time;
mod hostname;
mod uri;

pub(crate) use date_time::is_date_time;
pub(crate) use hostname::is_hostname;
pub(crate) use uri::is_uri;
