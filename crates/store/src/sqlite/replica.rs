//! Coordination of several processes on one database file (`crate::replica`): sync leases, sync requests
//! and catalog versions, timed by SQLite's clock in milliseconds. Every write is one statement or one
//! `BEGIN IMMEDIATE` transaction, so writers of all processes are serialized.

use std::time::Duration;

use sqlx::{AssertSqlSafe, Row, SqliteConnection, SqlitePool};

use super::query_error;
use crate::replica::{SYNC_REQUEST_RETENTION, ttl_millis};
use crate::rows::get;
use crate::{Lease, StoreError, StoreResult};

/// Now, in milliseconds since the Unix epoch (the same value throughout one statement).
const NOW_MS: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

/// Takes or renews a lease; the lease as it stands afterwards.
pub(super) async fn acquire_lease(
    pool: &SqlitePool,
    registry: &str,
    holder: &str,
    ttl: Duration,
) -> StoreResult<Lease> {
    // In the upsert's SET and WHERE, bare columns are the existing row's.
    let take = format!(
        "INSERT INTO sync_leases (registry, holder, acquired_at, expires_at) VALUES (?1, ?2, {NOW_MS}, {NOW_MS} + ?3) \
         ON CONFLICT (registry) DO UPDATE SET \
         acquired_at = CASE WHEN holder = excluded.holder THEN acquired_at ELSE excluded.acquired_at END, \
         holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE holder = excluded.holder OR expires_at <= {NOW_MS} \
         RETURNING holder, expires_at - {NOW_MS} AS expires_in"
    );
    let current = format!("SELECT holder, expires_at - {NOW_MS} AS expires_in FROM sync_leases WHERE registry = ?1");
    let taken = sqlx::query(AssertSqlSafe(take))
        .bind(registry)
        .bind(holder)
        .bind(ttl_millis(ttl))
        .fetch_optional(pool)
        .await
        .map_err(query_error("take sync lease"))?;
    let row = match taken {
        Some(row) => row,
        // Not granted: the row exists and another holder's lease runs (writers are serialized, so it
        // cannot vanish in between).
        None => sqlx::query(AssertSqlSafe(current))
            .bind(registry)
            .fetch_one(pool)
            .await
            .map_err(query_error("read sync lease"))?,
    };
    let what = || format!("sync_leases row {registry:?}");
    Ok(Lease {
        registry: registry.to_owned(),
        holder: get(&row, "holder", &what)?,
        expires_in_ms: get(&row, "expires_in", &what)?,
    })
}

/// Deletes the lease if `holder` holds it.
pub(super) async fn release_lease(pool: &SqlitePool, registry: &str, holder: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sync_leases WHERE registry = ?1 AND holder = ?2")
        .bind(registry)
        .bind(holder)
        .execute(pool)
        .await
        .map_err(query_error("release sync lease"))?;
    Ok(())
}

/// Inside a write transaction: fails with [`StoreError::LeaseLost`] unless `holder` holds the lease now.
/// Writers are serialized, so the lease cannot change hands before the transaction ends.
pub(super) async fn check_lease(conn: &mut SqliteConnection, registry: &str, holder: &str) -> StoreResult<()> {
    let sql = format!("SELECT COUNT(*) FROM sync_leases WHERE registry = ?1 AND holder = ?2 AND expires_at > {NOW_MS}");
    let held: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(registry)
        .bind(holder)
        .fetch_one(conn)
        .await
        .map_err(query_error("check sync lease"))?;
    if held == 0 {
        return Err(StoreError::LeaseLost { registry: registry.to_owned(), holder: holder.to_owned() });
    }
    Ok(())
}

/// Every registry with state and the id of its last committing run (0 before the first).
pub(super) async fn catalog_versions(pool: &SqlitePool) -> StoreResult<Vec<(String, i64)>> {
    const SQL: &str = "SELECT r.registry AS registry, COALESCE((SELECT MAX(s.id) FROM sync_runs s \
         WHERE s.registry = r.registry AND s.outcome = 'success'), 0) AS version \
         FROM registry_state r ORDER BY r.registry COLLATE BINARY";
    let rows = sqlx::query(SQL).fetch_all(pool).await.map_err(query_error("read catalog versions"))?;
    rows.iter()
        .map(|row| {
            let what = || "catalog version".to_owned();
            Ok((get(row, "registry", &what)?, get(row, "version", &what)?))
        })
        .collect()
}

/// Records a sync request (dropping expired ones) and returns its id.
pub(super) async fn request_sync(pool: &SqlitePool, registry: &str, requested_by: &str) -> StoreResult<i64> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(query_error("begin sync request"))?;
    let prune = format!("DELETE FROM sync_requests WHERE requested_at < {NOW_MS} - ?1");
    sqlx::query(AssertSqlSafe(prune))
        .bind(ttl_millis(SYNC_REQUEST_RETENTION))
        .execute(&mut *tx)
        .await
        .map_err(query_error("drop old sync requests"))?;
    let insert = format!(
        "INSERT INTO sync_requests (registry, requested_by, requested_at) VALUES (?1, ?2, {NOW_MS}) RETURNING id"
    );
    let id: i64 = sqlx::query_scalar(AssertSqlSafe(insert))
        .bind(registry)
        .bind(requested_by)
        .fetch_one(&mut *tx)
        .await
        .map_err(query_error("write sync request"))?;
    tx.commit().await.map_err(query_error("commit sync request"))?;
    Ok(id)
}

/// The registry's pending requests, oldest first.
pub(super) async fn pending_sync_requests(pool: &SqlitePool, registry: &str) -> StoreResult<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM sync_requests WHERE registry = ?1 AND completed_at IS NULL ORDER BY id")
        .bind(registry)
        .fetch_all(pool)
        .await
        .map_err(query_error("read sync requests"))
}

/// Completes pending requests with `report`.
pub(super) async fn complete_sync_requests(pool: &SqlitePool, ids: &[i64], report: &str) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(ids)
        .map_err(|e| StoreError::Query { operation: "encode request ids", message: e.to_string() })?;
    let sql = format!(
        "UPDATE sync_requests SET completed_at = {NOW_MS}, report = ?1 \
         WHERE completed_at IS NULL AND id IN (SELECT value FROM json_each(?2))"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(report)
        .bind(ids)
        .execute(pool)
        .await
        .map_err(query_error("complete sync requests"))?;
    Ok(())
}

/// The report of a completed request.
pub(super) async fn sync_request_report(pool: &SqlitePool, id: i64) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT report FROM sync_requests WHERE id = ?1 AND completed_at IS NOT NULL")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(query_error("read sync request"))?;
    row.map(|row| row.try_get::<Option<String>, _>("report"))
        .transpose()
        .map(Option::flatten)
        .map_err(|e| StoreError::Corrupt { what: format!("sync_requests row {id}.report"), message: e.to_string() })
}
