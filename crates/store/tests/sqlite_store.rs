//! What only the SQLite backend does: in-memory databases, `sqlite:` URLs, creating the file and its
//! directory, WAL mode. Behaviour common to every backend is in `store_suite.rs`.

mod common;

use common::{commit, version};
use thv_store::{SqliteStore, Store, StoreError};

async fn memory() -> SqliteStore {
    SqliteStore::in_memory().await.expect("in-memory store")
}

#[tokio::test]
async fn in_memory_stores_are_separate() {
    let one = memory().await;
    let two = memory().await;
    one.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    assert!(two.catalog("reg").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_file_store_is_created_with_its_directory_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/registry.db");
    let c = commit("reg", "r1", 2, vec![version("x", "1", 1), version("y", "2", 1)], vec![]);
    let run_id = {
        let store = SqliteStore::open(&path).await.unwrap();
        let id = store.commit_sync(&c).await.unwrap();
        store.close().await;
        id
    };
    assert!(path.is_file());

    let again = SqliteStore::open(&path).await.unwrap();
    assert_eq!(again.catalog("reg").await.unwrap(), c.upserts);
    assert_eq!(again.registry_state("reg").await.unwrap(), Some(c.state.clone()));
    assert_eq!(again.changes("reg", run_id).await.unwrap(), c.changes);
    again.check_integrity().await.unwrap();
    again.close().await;

    let by_url = SqliteStore::open_url(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(by_url.catalog("reg").await.unwrap().len(), 2);
    assert!(by_url.location().starts_with("sqlite://"));
}

#[tokio::test]
async fn a_file_store_uses_wal() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_memory_url_opens_a_memory_store() {
    let store = SqliteStore::open_url("sqlite::memory:").await.unwrap();
    store.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    assert_eq!(store.catalog("reg").await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unopenable_location_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "not a directory").unwrap();
    let err = SqliteStore::open(file.join("registry.db")).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("plain-file"), "{err}");
}
