//! Where a store lives: an SQLite file, or a PostgreSQL database named by a `postgres://` URL.
//!
//! A PostgreSQL URL is kept apart from its password: [`PostgresUrl`] shows (and puts in every message) the
//! URL without it, and hands the password only to the driver. The password comes from the URL
//! (`postgres://user:secret@host/db` or `?password=`), from [`PostgresUrl::with_password`] (a file the
//! caller read), or, when neither is given, from what libpq users expect: `PGPASSWORD`, then the
//! `PGPASSFILE` file (default `~/.pgpass`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{StoreError, StoreResult};

/// The URL schemes that name a PostgreSQL database.
pub const POSTGRES_SCHEMES: [&str; 2] = ["postgres", "postgresql"];

/// Where a store is.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PostgresUrl),
}

impl StoreLocation {
    /// `postgres://…` and `postgresql://…` name a PostgreSQL database; anything else is an SQLite path.
    pub fn parse(text: &str) -> StoreResult<Self> {
        if is_postgres_url(text) { PostgresUrl::parse(text).map(Self::Postgres) } else { Ok(Self::Sqlite(text.into())) }
    }

    /// An SQLite file.
    pub fn sqlite(path: impl AsRef<Path>) -> Self {
        Self::Sqlite(path.as_ref().to_path_buf())
    }
}

impl fmt::Display for StoreLocation {
    /// The path, or the URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => url.fmt(f),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreLocation({self})")
    }
}

/// Whether `text` starts with a PostgreSQL URL scheme (`postgres://`, `postgresql://`, any case).
pub fn is_postgres_url(text: &str) -> bool {
    POSTGRES_SCHEMES.iter().any(|scheme| {
        text.get(..scheme.len() + 3).is_some_and(|head| head.eq_ignore_ascii_case(&format!("{scheme}://")))
    })
}

/// A PostgreSQL connection URL whose password, if any, is never shown.
///
/// Query parameters are the driver's (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `application_name`,
/// `host` for a Unix socket directory, …).
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    /// The URL without user-info password and without a `password` query parameter.
    shown: url::Url,
    password: Option<Password>,
}

/// A password that formats as `***`.
#[derive(Clone, PartialEq, Eq)]
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl PostgresUrl {
    /// Parses a `postgres://` or `postgresql://` URL, taking its password (user-info or `?password=`) out.
    pub fn parse(text: &str) -> StoreResult<Self> {
        let invalid = |message: String| StoreError::Open { location: redact_unparsed(text), message };
        let mut url = url::Url::parse(text).map_err(|e| invalid(format!("not a valid PostgreSQL URL: {e}")))?;
        if !POSTGRES_SCHEMES.contains(&url.scheme()) {
            return Err(invalid(format!(
                "the scheme {:?} is not a PostgreSQL one (use postgres:// or postgresql://)",
                url.scheme()
            )));
        }
        let mut password =
            url.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
        // `set_password` fails only for URLs that cannot have one (no host), which have none to remove.
        let _ = url.set_password(None);
        if url.query_pairs().any(|(key, _)| key == "password") {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter_map(|(key, value)| {
                    if key == "password" {
                        password = Some(value.into_owned());
                        None
                    } else {
                        Some((key.into_owned(), value.into_owned()))
                    }
                })
                .collect();
            if kept.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(kept);
            }
        }
        Ok(Self { shown: url, password: password.filter(|p| !p.is_empty()).map(Password) })
    }

    /// Whether the URL itself carried a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The same URL with `password` as its password (for example one read from a file).
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Password(password.into()));
        self
    }

    /// The same URL with the password read from `path` (its first line; a trailing newline is not part of it).
    /// The error names the file, never its content.
    pub fn with_password_file(self, path: &Path) -> StoreResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| StoreError::Open {
            location: self.to_string(),
            message: format!("cannot read the password file {}: {e}", path.display()),
        })?;
        let password = text.lines().next().unwrap_or_default();
        if password.is_empty() {
            return Err(StoreError::Open {
                location: self.to_string(),
                message: format!("the password file {} is empty", path.display()),
            });
        }
        Ok(self.with_password(password))
    }

    /// The URL without password, as shown in messages.
    pub fn as_shown(&self) -> &url::Url {
        &self.shown
    }

    /// The password, when one was given (in the URL or with [`PostgresUrl::with_password`]).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_ref().map(|p| p.0.as_str())
    }

    /// Removes the password from a message a driver produced, in case it quoted it.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn scrub(&self, message: String) -> String {
        match self.password() {
            Some(password) if password.len() >= 3 && message.contains(password) => message.replace(password, "***"),
            _ => message,
        }
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown.as_str())
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresUrl").field("url", &self.shown.as_str()).field("password", &self.password).finish()
    }
}

/// A text that did not parse as a URL, shown without anything that may be a password: the part between
/// `://` and the last `@` is dropped, and so is the query.
fn redact_unparsed(text: &str) -> String {
    let without_query = text.split('?').next().unwrap_or_default();
    match (without_query.find("://"), without_query.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &without_query[..scheme_end], &without_query[at + 1..])
        }
        _ => without_query.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_schemes_and_everything_else() {
        for url in ["postgres://h/db", "postgresql://h/db", "POSTGRES://h/db", "PostgreSQL://u@h:5432/db"] {
            assert!(matches!(StoreLocation::parse(url).unwrap(), StoreLocation::Postgres(_)), "{url}");
        }
        for path in ["registry.db", "/var/lib/thv/registry.db", "postgres", "postgres:/x", "./postgres://x", ""] {
            assert_eq!(StoreLocation::parse(path).unwrap(), StoreLocation::Sqlite(path.into()), "{path}");
        }
    }

    #[test]
    fn passwords_are_taken_out_of_the_url() {
        let url = PostgresUrl::parse("postgres://thv:s%40cr3t@db.example:5432/registry?sslmode=require").unwrap();
        assert_eq!(url.to_string(), "postgres://thv@db.example:5432/registry?sslmode=require");
        assert_eq!(url.password(), Some("s@cr3t"));
        assert!(url.has_password());
        assert!(!format!("{url:?}").contains("cr3t"), "{url:?}");

        let query = PostgresUrl::parse("postgresql://thv@h/db?password=hunter22&sslmode=verify-full").unwrap();
        assert_eq!(query.to_string(), "postgresql://thv@h/db?sslmode=verify-full");
        assert_eq!(query.password(), Some("hunter22"));
        let only = PostgresUrl::parse("postgres://thv@h/db?password=hunter22").unwrap();
        assert_eq!(only.to_string(), "postgres://thv@h/db");

        let none = PostgresUrl::parse("postgres://thv@h/db").unwrap();
        assert!(!none.has_password());
        assert_eq!(none.clone().with_password("p4ss").password(), Some("p4ss"));
    }

    #[test]
    fn a_bad_url_is_an_error_without_its_password() {
        let err = PostgresUrl::parse("postgres://thv:hunter22@[bad/db?password=x").unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("hunter22") && !message.contains("password=x"), "{message}");
        assert!(message.contains("postgres://***@[bad/db"), "{message}");
        assert!(PostgresUrl::parse("mysql://h/db").is_err());
    }

    #[test]
    fn the_driver_never_quotes_the_password() {
        let url = PostgresUrl::parse("postgres://u:hunter22@h/db").unwrap();
        assert_eq!(url.scrub("bad password hunter22".into()), "bad password ***");
    }

    #[test]
    fn a_password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "from-a-file\n").unwrap();
        let url = PostgresUrl::parse("postgres://u@h/db").unwrap().with_password_file(&file).unwrap();
        assert_eq!(url.password(), Some("from-a-file"));

        std::fs::write(&file, "\n").unwrap();
        let err = PostgresUrl::parse("postgres://u@h/db").unwrap().with_password_file(&file).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
        let missing = dir.path().join("missing");
        let err = PostgresUrl::parse("postgres://u@h/db").unwrap().with_password_file(&missing).unwrap_err();
        assert!(err.to_string().contains(&missing.display().to_string()), "{err}");
    }
}
