//! Fixtures shared by the store's integration tests.
#![allow(dead_code)] // Each test binary uses a different part.

use serde_json::{Value, json};
use thv_store::{
    Change, ChangeKind, Counts, NameVersion, RegistryState, ServerVersion, SyncCommit, SyncOutcome, SyncRun,
};

/// A `server.json`-shaped document of roughly `2 KB`, carrying `generation`.
pub fn document(name: &str, version: &str, generation: u64) -> Value {
    let env: Vec<Value> = (0..8)
        .map(|i| {
            json!({
                "name": format!("SERVICE_SETTING_{i}"),
                "description": format!("Setting {i} of {name}: what the server reads it for, in one sentence."),
                "isRequired": i % 2 == 0,
                "isSecret": i % 3 == 0,
                "format": "string"
            })
        })
        .collect();
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "version": version,
        "description": format!("An MCP server named {name}, generation {generation}."),
        "generation": generation,
        "repository": { "url": format!("https://github.com/example/{name}"), "source": "github" },
        "packages": [{
            "registryType": "oci",
            "identifier": format!("ghcr.io/example/{name}:{version}"),
            "transport": { "type": "stdio" },
            "environmentVariables": env
        }],
        "_meta": { "io.modelcontextprotocol.registry/publisher-provided": { "tier": "Official" } }
    })
}

/// A stored version whose document carries `generation`.
pub fn version(name: &str, version: &str, generation: u64) -> ServerVersion {
    ServerVersion {
        name: name.to_owned(),
        version: version.to_owned(),
        document: document(name, version, generation).into(),
        extra_meta: Value::Null,
        digest: format!("sha256:{generation:064x}"),
        status: "active".to_owned(),
        status_changed_at: None,
        status_message: None,
        published_at: "2025-01-01T00:00:00Z".to_owned(),
        updated_at: format!("2025-01-01T00:00:{:02}Z", generation % 60),
        is_latest: true,
    }
}

/// The generation a stored document carries.
pub fn generation_of(version: &ServerVersion) -> Option<u64> {
    version.document.to_value().get("generation").and_then(Value::as_u64)
}

/// A run of `registry` with `outcome`.
pub fn run(registry: &str, outcome: SyncOutcome) -> SyncRun {
    SyncRun {
        id: 0,
        registry: registry.to_owned(),
        started_at: "2025-06-01T10:00:00Z".to_owned(),
        finished_at: "2025-06-01T10:00:02Z".to_owned(),
        outcome,
        error: (outcome == SyncOutcome::Failed).then(|| "fetch https://example.com/servers.json: HTTP 503".to_owned()),
        revision: Some("sha256:abc".to_owned()),
        digest: Some("sha256:def".to_owned()),
        counts: Counts::default(),
    }
}

/// A state of `registry` whose revision is `revision` and whose catalog holds `count` versions.
pub fn state(registry: &str, revision: &str, count: u64) -> RegistryState {
    RegistryState {
        registry: registry.to_owned(),
        spec_digest: Some("sha256:spec".to_owned()),
        filter_digest: None,
        validators: json!({ "etag": "\"v1\"", "lastModified": "Mon, 02 Jun 2025 10:00:00 GMT" }),
        revision: Some(revision.to_owned()),
        content_digest: Some(format!("content-{revision}")),
        last_success_at: Some("2025-06-01T10:00:02Z".to_owned()),
        last_attempt_at: Some("2025-06-01T10:00:02Z".to_owned()),
        failed_attempts: 0,
        last_error: None,
        last_failure: None,
        server_count: count,
    }
}

/// A change of `kind` to `(name, version)`.
pub fn change(kind: ChangeKind, name: &str, version: &str) -> Change {
    Change { kind, name: name.to_owned(), version: version.to_owned() }
}

/// A successful commit of `upserts` and `removals` to `registry`, recording them as added and removed, with
/// `revision` as the new state's revision and `total` versions in the resulting catalog.
pub fn commit(
    registry: &str,
    revision: &str,
    total: u64,
    upserts: Vec<ServerVersion>,
    removals: Vec<NameVersion>,
) -> SyncCommit {
    let mut changes: Vec<Change> = upserts.iter().map(|v| change(ChangeKind::Added, &v.name, &v.version)).collect();
    changes.extend(removals.iter().map(|r| change(ChangeKind::Removed, &r.name, &r.version)));
    let mut run = run(registry, SyncOutcome::Success);
    run.revision = Some(revision.to_owned());
    run.counts = Counts { total, added: upserts.len() as u64, removed: removals.len() as u64, updated: 0, skipped: 0 };
    SyncCommit { run, state: state(registry, revision, total), upserts, removals, changes }
}

/// `(name, version)` of a stored version.
pub fn key(version: &ServerVersion) -> (String, String) {
    (version.name.clone(), version.version.clone())
}

/// `n` versions `server-00000 … 1.0.0` carrying `generation`.
pub fn catalog(n: usize, generation: u64) -> Vec<ServerVersion> {
    (0..n).map(|i| version(&format!("io.example/server-{i:05}"), "1.0.0", generation)).collect()
}

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
