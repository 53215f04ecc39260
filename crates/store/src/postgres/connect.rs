//! Connecting to PostgreSQL: connection options from the URL, a bounded pool, and the schema brought up to
//! date on the pool's first connection, which stays in the pool for the store's first operation.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgPool, Postgres};

use crate::{PostgresUrl, StoreError, StoreResult};

/// The schema, embedded at build time from `crates/store/migrations/postgres/`.
///
/// The migrator holds a PostgreSQL advisory lock (keyed on the database name) while it checks and applies
/// migrations, so replicas that start at once apply each migration exactly once and the others wait for it.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The `application_name` the server shows in `pg_stat_activity` when the URL sets none.
const APPLICATION_NAME: &str = "thv-registry";

/// How long the pool may try for its first connection before one direct attempt finds out why it has none:
/// the pool retries a refused connection (and a server still starting) silently until its timeout.
const DIAGNOSE_AFTER: Duration = Duration::from_millis(500);

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

/// Connects, migrates the schema and returns the pool, holding that first connection idle, and its
/// connection options.
pub(super) async fn open(url: &PostgresUrl, settings: PoolSettings) -> StoreResult<(PgPool, PgConnectOptions)> {
    let options = connect_options(url)?;
    let open_error = |message: String| StoreError::Open { location: url.to_string(), message: url.scrub(message) };
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(options.clone());
    let mut first = first_connection(&pool, &options, settings.acquire_timeout).await.map_err(open_error)?;
    MIGRATOR.run(&mut *first).await.map_err(|e| open_error(format!("cannot bring the schema up to date: {e}")))?;
    // Back into the pool before returning (dropping it would return it from a task of its own, possibly
    // after the first query asked for a connection and made a new one: a second TLS handshake and login).
    first.return_to_pool().await;
    Ok((pool, options))
}

/// The pool's first connection, or why there is none (connection refused, authentication failed, TLS, no
/// answer), as a message without password.
async fn first_connection(
    pool: &PgPool,
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<PoolConnection<Postgres>, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let no_answer = || format!("no answer within {timeout:?}");
    let describe = |e: sqlx::Error| match e {
        sqlx::Error::PoolTimedOut => no_answer(),
        e => e.to_string(),
    };
    let acquire = pool.acquire();
    tokio::pin!(acquire);
    // Errors the pool does not retry (authentication, TLS, an unknown database) come back at once.
    if let Ok(acquired) = tokio::time::timeout(DIAGNOSE_AFTER.min(timeout), &mut acquire).await {
        return acquired.map_err(describe);
    }
    match tokio::time::timeout_at(deadline, options.connect()).await {
        Err(_) => return Err(no_answer()),
        Ok(Err(e)) => return Err(e.to_string()),
        // The server answers now (it was starting, or is slow): the pool's attempt goes on.
        Ok(Ok(probe)) => {
            let _ = probe.close().await;
        }
    }
    acquire.await.map_err(describe)
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
