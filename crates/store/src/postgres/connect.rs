//! Connecting to PostgreSQL: connection options from the URL, one first connection that brings the schema
//! up to date, then a bounded pool.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgPool};

use crate::{PostgresUrl, StoreError, StoreResult};

/// The schema, embedded at build time from `crates/store/migrations/postgres/`.
///
/// The migrator holds a PostgreSQL advisory lock (keyed on the database name) while it checks and applies
/// migrations, so replicas that start at once apply each migration exactly once and the others wait for it.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The `application_name` the server shows in `pg_stat_activity` when the URL sets none.
const APPLICATION_NAME: &str = "thv-registry";

/// How many connections a store keeps at most, and how long it waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections at most (readers and the writer together).
    pub max_connections: u32,
    /// How long establishing one connection, or waiting for a free one, may take.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    /// 8 connections; 10 s.
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(10) }
    }
}

/// Connects, migrates the schema and returns the pool and its connection options.
pub(super) async fn open(url: &PostgresUrl, settings: PoolSettings) -> StoreResult<(PgPool, PgConnectOptions)> {
    let options = connect_options(url)?;
    let open_error = |message: String| StoreError::Open { location: url.to_string(), message: url.scrub(message) };

    // One connection first: its error says why the server cannot be reached (refused, authentication, TLS),
    // where a pool would retry until its timeout and report only that.
    let mut first = tokio::time::timeout(settings.acquire_timeout, options.connect())
        .await
        .map_err(|_| open_error(format!("no answer within {:?}", settings.acquire_timeout)))?
        .map_err(|e| open_error(e.to_string()))?;
    MIGRATOR.run(&mut first).await.map_err(|e| open_error(format!("cannot bring the schema up to date: {e}")))?;
    // A failure to say goodbye does not matter: the schema is committed.
    let _ = first.close().await;

    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(options.clone());
    Ok((pool, options))
}

fn connect_options(url: &PostgresUrl) -> StoreResult<PgConnectOptions> {
    let mut options = PgConnectOptions::from_url(url.as_shown())
        .map_err(|e| StoreError::Open { location: url.to_string(), message: url.scrub(e.to_string()) })?;
    if let Some(password) = url.password() {
        options = options.password(password);
    }
    if options.get_application_name().is_none() {
        options = options.application_name(APPLICATION_NAME);
    }
    // Statements are logged by the server if anyone wants them; at the client they would carry catalog data.
    Ok(options.disable_statement_logging())
}
