//! Fixtures shared by the store's integration tests: the records (`thv_store::fixtures`) and the backends.
#![allow(dead_code, unused_imports)] // Each test binary uses a different part.

pub use thv_store::fixtures::*;

// ---------------------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------------------

use std::path::PathBuf;
use std::sync::Arc;

use thv_store::{PostgresUrl, Store, StoreLocation};
use thv_testdata::postgres::{TestDatabase, fresh_database};

/// The backends every case of the store suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in a temporary directory.
    Sqlite,
    /// A database of the test binary's private PostgreSQL cluster.
    Postgres,
}

/// A fresh, empty database of one backend; it can be opened several times (as several processes would).
pub enum TestDb {
    /// An SQLite file (not created yet).
    Sqlite { _dir: tempfile::TempDir, path: PathBuf },
    /// A new PostgreSQL database.
    Postgres(TestDatabase),
}

impl TestDb {
    /// A fresh database; `None` (after a note on stderr) when the backend is not installed and
    /// `THV_REQUIRE_TOOLS` is not `1`.
    pub fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path = dir.path().join("registry.db");
                Some(Self::Sqlite { _dir: dir, path })
            }
            Backend::Postgres => fresh_database().map(Self::Postgres),
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Where the database is, with the password when it has one.
    pub fn location(&self) -> StoreLocation {
        match self {
            Self::Sqlite { path, .. } => StoreLocation::sqlite(path),
            Self::Postgres(db) => StoreLocation::Postgres(self::postgres_url(db)),
        }
    }

    /// The location as text a child process can parse back with [`StoreLocation::parse`].
    pub fn location_text(&self) -> String {
        match self {
            Self::Sqlite { path, .. } => path.display().to_string(),
            Self::Postgres(db) => db.url_with_password(),
        }
    }

    /// Opens the database through [`thv_store::open`].
    pub async fn open(&self) -> Arc<dyn Store> {
        thv_store::open(&self.location()).await.expect("open the store")
    }

    /// Runs one SQL statement outside the store (to corrupt rows, or to break a rule the schema enforces).
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        use sqlx::Connection as _;
        match self {
            Self::Sqlite { path, .. } => {
                let mut conn = sqlx::SqliteConnection::connect_with(
                    &sqlx::sqlite::SqliteConnectOptions::new().filename(path).foreign_keys(true),
                )
                .await?;
                let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await;
                conn.close().await?;
                Ok(done?.rows_affected())
            }
            Self::Postgres(db) => {
                let mut conn = sqlx::PgConnection::connect(&db.url_with_password()).await?;
                let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await;
                conn.close().await?;
                Ok(done?.rows_affected())
            }
        }
    }

    /// Checks the database has no row whose parent is missing (and, for SQLite, passes `integrity_check`).
    pub async fn check_integrity(&self) {
        if let Self::Sqlite { path, .. } = self {
            let store = thv_store::SqliteStore::open(path).await.expect("open for the integrity check");
            store.check_integrity().await.expect("integrity_check and foreign_key_check pass");
            store.close().await;
        }
        for (what, sql) in [
            (
                "server versions without a state row",
                "SELECT COUNT(*) FROM server_versions WHERE registry NOT IN (SELECT registry FROM registry_state)",
            ),
            (
                "changes without a run",
                "SELECT COUNT(*) FROM sync_changes WHERE run_id NOT IN (SELECT id FROM sync_runs)",
            ),
        ] {
            assert_eq!(self.count(sql).await, 0, "{what}");
        }
    }

    /// The number a `SELECT COUNT(*) …` statement returns.
    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Self::Sqlite { path, .. } => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("connect");
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect("count")
            }
            Self::Postgres(db) => {
                let mut conn = sqlx::PgConnection::connect(&db.url_with_password()).await.expect("connect");
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect("count")
            }
        }
    }
}

fn postgres_url(db: &TestDatabase) -> PostgresUrl {
    PostgresUrl::parse(&db.url).expect("the harness URL parses").with_password(db.password.clone())
}

/// Runs each named `async fn case(db: TestDb)` against every backend: `sqlite::case` and `postgres::case`.
#[macro_export]
macro_rules! store_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = $crate::common::TestDb::new($crate::common::Backend::Sqlite).expect("SQLite");
                    super::$case(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Postgres) else { return };
                    super::$case(db).await;
                }
            )*
        }
    };
}
