//! The coordination of several processes on one database, through the `Store` trait, against SQLite and
//! PostgreSQL alike (`sqlite::case`, `postgres::case`): sync leases (granted, renewed, refused, expired,
//! released, contended), writes fenced by a lease, catalog versions and sync requests. Two stores on one
//! database stand for two processes.
// The cases are plain functions (run by `store_suite!`), where clippy's allow-unwrap-in-tests does not reach.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Backend, TestDb, commit, run, state, version};
use thv_store::{Leased, Store, StoreError, SyncOutcome};

store_suite!(
    a_free_lease_is_granted_and_refused_to_others_while_it_runs,
    the_holder_renews_its_lease,
    an_expired_lease_is_taken_over,
    a_released_lease_is_free_at_once,
    contending_replicas_get_one_holder,
    a_writer_without_the_lease_writes_nothing,
    catalog_versions_grow_with_each_commit_only,
    sync_requests_are_pending_until_a_sync_completes_them,
    a_commit_whose_run_is_not_a_success_is_refused,
);

const LONG: Duration = Duration::from_secs(60);

async fn a_free_lease_is_granted_and_refused_to_others_while_it_runs(db: TestDb) {
    let (one, two) = (db.open().await, db.open().await);
    let lease = one.acquire_lease("reg", "replica-a", LONG).await.unwrap();
    assert!(lease.is_held_by("replica-a"), "{lease:?}");
    assert!(lease.expires_in_ms > 55_000 && lease.expires_in_ms <= 60_000, "{lease:?}");

    let refused = two.acquire_lease("reg", "replica-b", LONG).await.unwrap();
    assert_eq!(refused.holder, "replica-a", "the running lease is shown, not granted");
    assert!(!refused.is_held_by("replica-b"));
    // Leases are per registry.
    assert!(two.acquire_lease("other", "replica-b", LONG).await.unwrap().is_held_by("replica-b"));
}

async fn the_holder_renews_its_lease(db: TestDb) {
    let store = db.open().await;
    store.acquire_lease("reg", "replica-a", Duration::from_millis(400)).await.unwrap();
    let renewed = store.acquire_lease("reg", "replica-a", LONG).await.unwrap();
    assert!(renewed.is_held_by("replica-a") && renewed.expires_in_ms > 55_000, "{renewed:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Past the first term: the renewal holds.
    assert!(!store.acquire_lease("reg", "replica-b", LONG).await.unwrap().is_held_by("replica-b"));
}

async fn an_expired_lease_is_taken_over(db: TestDb) {
    let (one, two) = (db.open().await, db.open().await);
    one.acquire_lease("reg", "replica-a", Duration::from_millis(300)).await.unwrap();
    assert!(!two.acquire_lease("reg", "replica-b", LONG).await.unwrap().is_held_by("replica-b"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = two.acquire_lease("reg", "replica-b", LONG).await.unwrap();
    assert!(taken.is_held_by("replica-b"), "{taken:?}");
    // The old holder's renewal is now refused.
    let old = one.acquire_lease("reg", "replica-a", LONG).await.unwrap();
    assert_eq!(old.holder, "replica-b");
}

async fn a_released_lease_is_free_at_once(db: TestDb) {
    let (one, two) = (db.open().await, db.open().await);
    one.acquire_lease("reg", "replica-a", LONG).await.unwrap();
    // Releasing a lease someone else holds does nothing.
    two.release_lease("reg", "replica-b").await.unwrap();
    assert!(!two.acquire_lease("reg", "replica-b", LONG).await.unwrap().is_held_by("replica-b"));
    one.release_lease("reg", "replica-a").await.unwrap();
    assert!(two.acquire_lease("reg", "replica-b", LONG).await.unwrap().is_held_by("replica-b"));
    // Releasing what is not held is not an error.
    one.release_lease("never", "replica-a").await.unwrap();
}

async fn contending_replicas_get_one_holder(db: TestDb) {
    // Six replicas (three stores, two tasks each) claim one free lease at once, twice over.
    let stores = [db.open().await, db.open().await, db.open().await];
    for registry in ["first", "second"] {
        let claims = (0..6).map(|i| {
            let store = Arc::clone(&stores[i % 3]);
            async move { store.acquire_lease(registry, &format!("replica-{i}"), LONG).await.unwrap() }
        });
        let leases = futures::future::join_all(claims).await;
        let holders: std::collections::HashSet<_> = leases.iter().map(|l| l.holder.clone()).collect();
        assert_eq!(holders.len(), 1, "every claim sees one holder: {leases:?}");
        let winners = leases.iter().enumerate().filter(|(i, l)| l.is_held_by(&format!("replica-{i}"))).count();
        assert_eq!(winners, 1, "{leases:?}");
    }
}

async fn a_writer_without_the_lease_writes_nothing(db: TestDb) {
    let (one, two) = (db.open().await, db.open().await);
    one.acquire_lease("reg", "replica-a", Duration::from_millis(300)).await.unwrap();
    let first = commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![]);
    // Through the fenced view, as the scheduler hands it to the pipeline.
    Leased::new(one.as_ref(), "replica-a").commit_sync(&first).await.unwrap();
    // Someone who never held it is refused.
    let err = two.commit_sync_leased(&first, "replica-b").await.unwrap_err();
    assert!(matches!(&err, StoreError::LeaseLost { holder, .. } if holder == "replica-b"), "{err}");

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(two.acquire_lease("reg", "replica-b", LONG).await.unwrap().is_held_by("replica-b"));
    // The old holder finishes a sync it started before: nothing of it is written.
    let stale = commit("reg", "r2", 2, vec![version("x", "1", 2), version("y", "1", 2)], vec![]);
    let fenced = Leased::new(one.as_ref(), "replica-a");
    let err = fenced.commit_sync(&stale).await.unwrap_err();
    assert!(err.to_string().contains("no longer held by \"replica-a\""), "{err}");
    let err = fenced.record_run(&run("reg", SyncOutcome::Failed), Some(&state("reg", "r9", 0))).await.unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");

    assert_eq!(two.catalog("reg").await.unwrap(), first.upserts);
    assert_eq!(two.registry_state("reg").await.unwrap(), Some(first.state.clone()));
    assert_eq!(two.runs("reg", 10).await.unwrap().len(), 1);
    // The new holder writes.
    let next = commit("reg", "r3", 1, vec![version("x", "1", 3)], vec![]);
    two.commit_sync_leased(&next, "replica-b").await.unwrap();
    two.record_run_leased(&run("reg", SyncOutcome::Unchanged), None, "replica-b").await.unwrap();
    assert_eq!(one.catalog("reg").await.unwrap(), next.upserts);
}

async fn catalog_versions_grow_with_each_commit_only(db: TestDb) {
    let store = db.open().await;
    assert!(store.catalog_versions().await.unwrap().is_empty());
    // State without a commit (a first sync that failed) is version 0.
    store.record_run(&run("a", SyncOutcome::Failed), Some(&state("a", "r0", 0))).await.unwrap();
    assert_eq!(store.catalog_versions().await.unwrap(), vec![("a".to_owned(), 0)]);

    let first = store.commit_sync(&commit("a", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    let other = store.commit_sync(&commit("b", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    assert_eq!(store.catalog_versions().await.unwrap(), vec![("a".to_owned(), first), ("b".to_owned(), other)]);
    // Runs that commit nothing leave the version alone.
    store.record_run(&run("a", SyncOutcome::Unchanged), Some(&state("a", "r1", 1))).await.unwrap();
    store.record_run(&run("a", SyncOutcome::Failed), None).await.unwrap();
    assert_eq!(store.catalog_versions().await.unwrap()[0], ("a".to_owned(), first));

    let second = store.commit_sync(&commit("a", "r2", 1, vec![version("x", "1", 2)], vec![])).await.unwrap();
    assert!(second > first);
    assert_eq!(store.catalog_versions().await.unwrap(), vec![("a".to_owned(), second), ("b".to_owned(), other)]);
    store.remove_registry("a").await.unwrap();
    assert_eq!(store.catalog_versions().await.unwrap(), vec![("b".to_owned(), other)]);
    // A registry synced again after removal has a version it never had.
    let again = store.commit_sync(&commit("a", "r3", 1, vec![version("x", "1", 3)], vec![])).await.unwrap();
    assert!(again > second);
}

async fn sync_requests_are_pending_until_a_sync_completes_them(db: TestDb) {
    let (asker, holder) = (db.open().await, db.open().await);
    let first = asker.request_sync("reg", "replica-b").await.unwrap();
    let second = asker.request_sync("reg", "replica-c").await.unwrap();
    let elsewhere = asker.request_sync("other", "replica-b").await.unwrap();
    assert!(first < second);
    assert_eq!(holder.pending_sync_requests("reg").await.unwrap(), vec![first, second]);
    assert_eq!(asker.sync_request_report(first).await.unwrap(), None, "pending");

    let report = r#"{"registry":"reg","outcome":"success","note":"ünïcode"}"#;
    holder.complete_sync_requests(&[first, second], report).await.unwrap();
    assert!(holder.pending_sync_requests("reg").await.unwrap().is_empty());
    assert_eq!(asker.sync_request_report(first).await.unwrap().as_deref(), Some(report));
    assert_eq!(asker.sync_request_report(second).await.unwrap().as_deref(), Some(report));
    // Completing again does not overwrite the first report; other registries are untouched.
    holder.complete_sync_requests(&[first], "{}").await.unwrap();
    holder.complete_sync_requests(&[], "{}").await.unwrap();
    assert_eq!(asker.sync_request_report(first).await.unwrap().as_deref(), Some(report));
    assert_eq!(holder.pending_sync_requests("other").await.unwrap(), vec![elsewhere]);
    assert_eq!(asker.sync_request_report(9_999).await.unwrap(), None, "unknown");

    // Requests older than the retention are dropped when the next one is made.
    let two_hours_ago = match db.backend() {
        Backend::Sqlite => "requested_at - 7200000",
        Backend::Postgres => "requested_at - INTERVAL '2 hours'",
    };
    let sql = format!("UPDATE sync_requests SET requested_at = {two_hours_ago} WHERE registry = 'other'");
    assert_eq!(db.execute(&sql).await.unwrap(), 1);
    asker.request_sync("reg", "replica-b").await.unwrap();
    assert!(holder.pending_sync_requests("other").await.unwrap().is_empty());
    assert_eq!(asker.sync_request_report(first).await.unwrap().as_deref(), Some(report), "recent ones stay");
}

async fn a_commit_whose_run_is_not_a_success_is_refused(db: TestDb) {
    let store = db.open().await;
    let mut c = commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![]);
    c.run.outcome = SyncOutcome::Unchanged;
    let err = store.commit_sync(&c).await.unwrap_err();
    assert!(err.to_string().contains("outcome success, not unchanged"), "{err}");
    assert!(store.registry_states().await.unwrap().is_empty());
}
