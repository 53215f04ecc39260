//! What only the PostgreSQL backend does: connecting (passwords, TLS, unreachable servers, errors without
//! secrets), migrations when several replicas start at once, change notifications and the event feed. Behaviour common to
//! every backend is in `store_suite.rs`.
// The cases are plain functions (run by `store_suite!` or a #[test] wrapper), where clippy's
// allow-unwrap-in-tests does not reach.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{commit, run, version};
use sqlx::postgres::PgListener;
use thv_store::postgres::{CATALOG_CHANNEL, PoolSettings};
use thv_store::{EventFeed, StoreEvent};
use thv_store::{PostgresStore, PostgresUrl, Store, StoreError, SyncOutcome};
use thv_testdata::postgres::{PostgresCluster, TestDatabase, fresh_database, shared_cluster};

fn url_of(db: &TestDatabase) -> PostgresUrl {
    PostgresUrl::parse(&db.url).unwrap().with_password(db.password.clone())
}

/// `sslmode` (and more) appended to the database's URL.
fn url_with_query(db: &TestDatabase, query: &str) -> PostgresUrl {
    PostgresUrl::parse(&format!("{}?{query}", db.url)).unwrap().with_password(db.password.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_migrate_once() {
    let Some(db) = fresh_database() else { return };
    let url = url_of(&db);
    let opened = futures::future::join_all((0..6).map(|_| PostgresStore::open(&url))).await;
    let stores: Vec<PostgresStore> = opened.into_iter().map(|s| s.expect("every replica opens")).collect();
    let cluster = shared_cluster().expect("cluster");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .expect("migrations folder")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql")))
        .count();
    assert!(migrations > 0, "no migration files found");
    let applied =
        cluster.psql(&db.name, "SELECT count(*) || ' ' || count(DISTINCT version) FROM _sqlx_migrations WHERE success");
    assert_eq!(applied.trim(), format!("{migrations} {migrations}"), "each migration is applied once");
    stores[0].commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    assert_eq!(stores[5].catalog("reg").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_wrong_or_missing_password_is_an_open_error_without_the_password() {
    let Some(db) = fresh_database() else { return };
    let wrong = PostgresUrl::parse(&db.url).unwrap().with_password("not-the-password-3141");
    let err = PostgresStore::open(&wrong).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("password authentication failed"), "{message}");
    assert!(message.contains(&db.url), "the URL without password is named: {message}");
    assert!(!message.contains("3141"), "{message}");

    // In the URL, the password is taken out before anything is shown.
    let in_url = db.url.replacen("postgres@", "postgres:not-the-password-3141@", 1);
    let err = PostgresStore::open(&PostgresUrl::parse(&in_url).unwrap()).await.unwrap_err();
    assert!(!err.to_string().contains("3141"), "{err}");
    assert!(!format!("{err:?}").contains("3141"), "{err:?}");
}

#[tokio::test]
async fn the_password_in_the_url_is_used() {
    let Some(db) = fresh_database() else { return };
    let store = PostgresStore::open(&PostgresUrl::parse(&db.url_with_password()).unwrap()).await.unwrap();
    assert_eq!(store.location(), db.url, "the location is shown without password");
    assert!(store.registry_states().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_an_open_error_naming_it() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url =
        PostgresUrl::parse(&format!("postgres://thv@127.0.0.1:{port}/registry")).unwrap().with_password("s3cret-2718");
    // The pool would retry a refused connection for its whole acquire timeout (10 s) and then say only
    // that it timed out; the store says why well before.
    let started = std::time::Instant::now();
    let err = PostgresStore::open_with(&url, PoolSettings::default()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast, took {:?}", started.elapsed());
    let message = err.to_string();
    assert!(message.contains(&format!("postgres://thv@127.0.0.1:{port}/registry")), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(!message.contains("2718"), "{message}");
}

/// The store's connections to `db` as the server lists them: one `pid backend_start` line each.
fn store_connections(cluster: &PostgresCluster, db: &TestDatabase) -> Vec<String> {
    let sql = format!(
        "SELECT pid || ' ' || backend_start FROM pg_stat_activity \
         WHERE datname = '{}' AND application_name = 'thv-registry' ORDER BY pid",
        db.name
    );
    cluster.psql("postgres", &sql).lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_operation_uses_the_connection_that_checked_the_schema() {
    // A `thv registry sync` process opens the store and reads the registry's state: a second connection
    // there would pay another TLS handshake and login, most of an unchanged re-sync's time.
    let Some(db) = fresh_database() else { return };
    let cluster = shared_cluster().expect("cluster");
    let store = PostgresStore::open(&url_of(&db)).await.unwrap();
    let after_open = store_connections(cluster, &db);
    assert_eq!(after_open.len(), 1, "the pool keeps the connection that checked the schema: {after_open:?}");
    assert_eq!(store.registry_state("reg").await.unwrap(), None);
    assert_eq!(store_connections(cluster, &db), after_open, "the first read opened no other connection");
    store.close().await;
}

/// Whether the store's connections to `db` are encrypted, as the server reports them.
fn server_sees_tls(cluster: &PostgresCluster, db: &TestDatabase) -> Vec<String> {
    let sql = format!(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = '{}' AND a.application_name = 'thv-registry'",
        db.name
    );
    cluster.psql("postgres", &sql).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn sslmode_in_the_url_decides_tls() {
    let Some(cluster) = shared_cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cluster.ca_pem()).unwrap();

    for (query, encrypted) in [
        ("sslmode=disable".to_owned(), "f"),
        ("sslmode=require".to_owned(), "t"),
        (format!("sslmode=verify-full&sslrootcert={}", ca.display()), "t"),
    ] {
        let db = cluster.create_database();
        let store = PostgresStore::open(&url_with_query(&db, &query)).await.expect(&query);
        // One read leaves one idle connection in the pool for the server to report.
        store.registry_states().await.unwrap();
        assert_eq!(server_sees_tls(cluster, &db), vec![encrypted.to_owned()], "{query}");
        store.close().await;
    }

    // verify-full against the system's roots refuses the private CA's certificate.
    let db = cluster.create_database();
    let err = PostgresStore::open(&url_with_query(&db, "sslmode=verify-full")).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(!err.to_string().contains(&db.password), "{err}");
}

/// The next notification, if one comes within half a second.
async fn next(listener: &mut PgListener) -> Option<sqlx::postgres::PgNotification> {
    tokio::time::timeout(Duration::from_millis(500), listener.recv()).await.ok().map(|n| n.expect("listen"))
}

#[tokio::test]
async fn catalog_changes_are_notified_when_they_commit() {
    let Some(db) = fresh_database() else { return };
    let store = PostgresStore::open(&url_of(&db)).await.unwrap();
    let mut listener = PgListener::connect(&db.url_with_password()).await.unwrap();
    listener.listen(CATALOG_CHANNEL).await.unwrap();

    store.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    let note = next(&mut listener).await.expect("a notification after the commit");
    assert_eq!(note.payload(), "reg");

    // A failed commit and a plain run record change no catalog: no notification.
    let mut bad = commit("reg", "r2", 1, vec![version("x", "1", 2)], vec![]);
    bad.run.counts.total = u64::MAX;
    store.commit_sync(&bad).await.unwrap_err();
    store.record_run(&run("reg", SyncOutcome::Unchanged), None).await.unwrap();
    assert!(next(&mut listener).await.is_none(), "nothing notified without a catalog change");

    store.remove_registry("reg").await.unwrap();
    assert_eq!(next(&mut listener).await.expect("a notification after removal").payload(), "reg");
}

#[tokio::test]
async fn a_connection_the_server_terminated_is_replaced() {
    // A database restart or failover ends the pool's connections; the next operation gets a new one.
    let Some(db) = fresh_database() else { return };
    let store = PostgresStore::open(&url_of(&db)).await.unwrap();
    store.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    let cluster = shared_cluster().expect("cluster");
    let terminated = cluster.psql(
        "postgres",
        &format!(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{}' AND application_name = 'thv-registry') t",
            db.name
        ),
    );
    assert_eq!(terminated.trim(), "1", "the pool had one connection");
    let next = commit("reg", "r2", 1, vec![version("x", "1", 2)], vec![]);
    store.commit_sync(&next).await.expect("the commit runs on a new connection");
    assert_eq!(store.catalog("reg").await.unwrap(), next.upserts);
}

/// The next event of `feed` within two seconds, retrying through errors (a reconnecting listener).
async fn next_event(feed: &mut Box<dyn EventFeed>) -> StoreEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::time::timeout_at(deadline, feed.next()).await.expect("an event within 2 s") {
            Ok(event) => return event,
            Err(e) => eprintln!("feed error (retrying): {e}"),
        }
    }
}

#[tokio::test]
async fn the_event_feed_reports_commits_and_sync_requests() {
    let Some(db) = fresh_database() else { return };
    let store = PostgresStore::open(&url_of(&db)).await.unwrap();
    let mut feed = store.events().await.unwrap().expect("PostgreSQL pushes events");
    let other = PostgresStore::open(&url_of(&db)).await.unwrap();

    other.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    assert_eq!(next_event(&mut feed).await, StoreEvent::CatalogChanged(Some("reg".to_owned())));
    other.request_sync("reg", "replica-b").await.unwrap();
    assert_eq!(next_event(&mut feed).await, StoreEvent::SyncRequested(Some("reg".to_owned())));
    // Lease traffic and fenced failures notify nothing.
    other.acquire_lease("reg", "replica-b", Duration::from_secs(60)).await.unwrap();
    let refused = commit("reg", "r2", 1, vec![version("x", "1", 2)], vec![]);
    other.commit_sync_leased(&refused, "replica-c").await.unwrap_err();
    let quiet = tokio::time::timeout(Duration::from_millis(500), feed.next()).await;
    assert!(quiet.is_err(), "no event: {quiet:?}");
}

#[tokio::test]
async fn a_feed_whose_connection_was_terminated_reports_missed_and_listens_again() {
    let Some(db) = fresh_database() else { return };
    let store = PostgresStore::open(&url_of(&db)).await.unwrap();
    let mut feed = store.events().await.unwrap().expect("events");
    let cluster = shared_cluster().expect("cluster");
    let terminated = cluster.psql(
        "postgres",
        &format!(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{}' AND query LIKE 'LISTEN%') t",
            db.name
        ),
    );
    assert_eq!(terminated.trim(), "1", "the feed had one listening connection");
    assert_eq!(next_event(&mut feed).await, StoreEvent::Missed, "a lost connection is reported once");
    store.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    assert_eq!(next_event(&mut feed).await, StoreEvent::CatalogChanged(Some("reg".to_owned())));
}
