//! Coordination of several replicas on one database (`crate::replica`): sync leases, sync requests and
//! catalog versions, timed by the server's `clock_timestamp()`, and the event feed (`LISTEN` on
//! [`CATALOG_CHANNEL`] and [`SYNC_REQUEST_CHANNEL`] through a listener that reconnects).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool};

use super::{CATALOG_CHANNEL, SYNC_REQUEST_CHANNEL, query_error};
use crate::replica::{SYNC_REQUEST_RETENTION, ttl_millis};
use crate::rows::get;
use crate::{EventFeed, Lease, StoreError, StoreEvent, StoreResult};

/// The lease's remaining milliseconds, by the server's clock.
const EXPIRES_IN: &str = "(EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::BIGINT AS expires_in";

/// Takes or renews a lease; the lease as it stands afterwards.
pub(super) async fn acquire_lease(pool: &PgPool, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease> {
    let take = format!(
        "INSERT INTO sync_leases AS l (registry, holder, acquired_at, expires_at) \
         VALUES ($1, $2, clock_timestamp(), clock_timestamp() + $3 * INTERVAL '1 millisecond') \
         ON CONFLICT (registry) DO UPDATE SET holder = EXCLUDED.holder, \
         acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE EXCLUDED.acquired_at END, \
         expires_at = EXCLUDED.expires_at \
         WHERE l.holder = EXCLUDED.holder OR l.expires_at <= clock_timestamp() \
         RETURNING holder, {EXPIRES_IN}"
    );
    let current = format!("SELECT holder, {EXPIRES_IN} FROM sync_leases WHERE registry = $1");
    // Not granted means the row exists and another holder's lease runs; it can only vanish in between
    // if that holder released it, and then the next attempt takes it.
    for _ in 0..3 {
        let taken = sqlx::query(sqlx::AssertSqlSafe(take.as_str()))
            .bind(registry)
            .bind(holder)
            .bind(ttl_millis(ttl) as f64)
            .fetch_optional(pool)
            .await
            .map_err(query_error("take sync lease"))?;
        let row = match taken {
            Some(row) => Some(row),
            None => sqlx::query(sqlx::AssertSqlSafe(current.as_str()))
                .bind(registry)
                .fetch_optional(pool)
                .await
                .map_err(query_error("read sync lease"))?,
        };
        if let Some(row) = row {
            return lease_from_row(&row, registry);
        }
    }
    Err(StoreError::Query {
        operation: "take sync lease",
        message: format!("the lease of registry {registry:?} kept changing hands; try again"),
    })
}

fn lease_from_row(row: &PgRow, registry: &str) -> StoreResult<Lease> {
    let what = || format!("sync_leases row {registry:?}");
    Ok(Lease {
        registry: registry.to_owned(),
        holder: get(row, "holder", &what)?,
        expires_in_ms: get(row, "expires_in", &what)?,
    })
}

/// Deletes the lease if `holder` holds it.
pub(super) async fn release_lease(pool: &PgPool, registry: &str, holder: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sync_leases WHERE registry = $1 AND holder = $2")
        .bind(registry)
        .bind(holder)
        .execute(pool)
        .await
        .map_err(query_error("release sync lease"))?;
    Ok(())
}

/// Inside a write transaction, just before it commits: fails with [`StoreError::LeaseLost`] unless
/// `holder` holds the lease now. The lease row stays share-locked until the transaction ends, so nobody
/// takes the lease over between this check and the commit; a replica that takes it over afterwards reads
/// what this transaction committed.
pub(super) async fn check_lease(conn: &mut PgConnection, registry: &str, holder: &str) -> StoreResult<()> {
    const SQL: &str = "SELECT 1 FROM sync_leases WHERE registry = $1 AND holder = $2 \
         AND expires_at > clock_timestamp() FOR SHARE";
    let held: Option<i32> = sqlx::query_scalar(SQL)
        .bind(registry)
        .bind(holder)
        .fetch_optional(conn)
        .await
        .map_err(query_error("check sync lease"))?;
    match held {
        Some(_) => Ok(()),
        None => Err(StoreError::LeaseLost { registry: registry.to_owned(), holder: holder.to_owned() }),
    }
}

/// Every registry with state and the id of its last committing run (0 before the first).
pub(super) async fn catalog_versions(pool: &PgPool) -> StoreResult<Vec<(String, i64)>> {
    const SQL: &str = "SELECT r.registry, COALESCE((SELECT max(s.id) FROM sync_runs s \
         WHERE s.registry = r.registry AND s.outcome = 'success'), 0) AS version \
         FROM registry_state r ORDER BY r.registry";
    let rows = sqlx::query(SQL).fetch_all(pool).await.map_err(query_error("read catalog versions"))?;
    rows.iter()
        .map(|row| {
            let what = || "catalog version".to_owned();
            Ok((get(row, "registry", &what)?, get(row, "version", &what)?))
        })
        .collect()
}

/// Records a sync request (dropping expired ones), notifies the holder, and returns the request id.
pub(super) async fn request_sync(pool: &PgPool, registry: &str, requested_by: &str) -> StoreResult<i64> {
    let mut tx = pool.begin().await.map_err(query_error("begin sync request"))?;
    sqlx::query("DELETE FROM sync_requests WHERE requested_at < clock_timestamp() - $1 * INTERVAL '1 millisecond'")
        .bind(ttl_millis(SYNC_REQUEST_RETENTION) as f64)
        .execute(&mut *tx)
        .await
        .map_err(query_error("drop old sync requests"))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sync_requests (registry, requested_by, requested_at) VALUES ($1, $2, clock_timestamp()) \
         RETURNING id",
    )
    .bind(registry)
    .bind(requested_by)
    .fetch_one(&mut *tx)
    .await
    .map_err(query_error("write sync request"))?;
    super::write::notify(&mut tx, SYNC_REQUEST_CHANNEL, registry).await?;
    tx.commit().await.map_err(query_error("commit sync request"))?;
    Ok(id)
}

/// The registry's pending requests, oldest first.
pub(super) async fn pending_sync_requests(pool: &PgPool, registry: &str) -> StoreResult<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM sync_requests WHERE registry = $1 AND completed_at IS NULL ORDER BY id")
        .bind(registry)
        .fetch_all(pool)
        .await
        .map_err(query_error("read sync requests"))
}

/// Completes pending requests with `report`.
pub(super) async fn complete_sync_requests(pool: &PgPool, ids: &[i64], report: &str) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE sync_requests SET completed_at = clock_timestamp(), report = $1 \
         WHERE completed_at IS NULL AND id = ANY($2)",
    )
    .bind(report)
    .bind(ids)
    .execute(pool)
    .await
    .map_err(query_error("complete sync requests"))?;
    Ok(())
}

/// The report of a completed request.
pub(super) async fn sync_request_report(pool: &PgPool, id: i64) -> StoreResult<Option<String>> {
    let report: Option<Option<String>> =
        sqlx::query_scalar("SELECT report FROM sync_requests WHERE id = $1 AND completed_at IS NOT NULL")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(query_error("read sync request"))?;
    Ok(report.flatten())
}

/// The event feed: a listener on its own one-connection pool (so it never takes one from the store's).
/// sqlx reconnects a listener whose connection dropped cleanly; after any other error the listener is
/// made anew on the next call.
pub(super) struct Events {
    pool: PgPool,
    /// `None` after an error, until a new listener is connected.
    listener: Option<PgListener>,
}

impl Events {
    pub(super) async fn listen(options: sqlx::postgres::PgConnectOptions) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        let listener = Some(listener(&pool).await?);
        Ok(Self { pool, listener })
    }
}

async fn listener(pool: &PgPool) -> StoreResult<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.map_err(query_error("connect the listener"))?;
    listener.listen_all([CATALOG_CHANNEL, SYNC_REQUEST_CHANNEL]).await.map_err(query_error("listen for changes"))?;
    Ok(listener)
}

#[async_trait]
impl EventFeed for Events {
    async fn next(&mut self) -> StoreResult<StoreEvent> {
        let Some(listener) = self.listener.as_mut() else {
            // Listening again before anything is reported missed, so that a reader that reloads on
            // `Missed` also gets every later notification.
            self.listener = Some(listener(&self.pool).await?);
            return Ok(StoreEvent::Missed);
        };
        match listener.try_recv().await {
            Ok(Some(note)) => {
                let registry = Some(note.payload().to_owned()).filter(|p| !p.is_empty());
                Ok(if note.channel() == SYNC_REQUEST_CHANNEL {
                    StoreEvent::SyncRequested(registry)
                } else {
                    StoreEvent::CatalogChanged(registry)
                })
            }
            // The connection was lost and is back: notifications in between are gone.
            Ok(None) => Ok(StoreEvent::Missed),
            Err(e) => {
                self.listener = None;
                Err(query_error("receive change notifications")(e))
            }
        }
    }
}
