//! Store benchmark: commit and load times of SQLite and PostgreSQL, printed as a table (`bench/store.sh`).
//!
//! For each backend and workload: a commit of N new versions into an empty registry (insert), a commit
//! replacing all N (replace-all), and a load of the catalog; the median of `--rounds` rounds, each on a new
//! registry. Workloads: `--versions` generated versions (~2 KB documents, default 10,000) and, when it is
//! there, the real registry dump in `../shared/data` (2,794 versions). For PostgreSQL it also compares
//! documents kept as TEXT (what the store does) with JSONB.
//!
//! SQLite runs in a temporary file. PostgreSQL runs on `--database postgres://…` when given (the password
//! from `PGPASSWORD`/`~/.pgpass`; the benchmark creates and drops its own tables' rows under the registry
//! names `bench-*`), else on a private cluster started for the run with PostgreSQL's default durability.
//!
//! ```text
//! cargo run --release -p thv-store --example store_bench -- [--versions N] [--rounds R] [--database URL]
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use serde_json::Value;
use thv_store::{ServerVersion, Store, StoreLocation};
use thv_testdata::postgres::{Durability, PostgresCluster};

struct Options {
    versions: usize,
    rounds: u64,
    database: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options { versions: 10_000, rounds: 3, database: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--versions" => options.versions = value()?.parse().map_err(|e| format!("--versions: {e}"))?,
            "--rounds" => options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--database" => options.database = Some(value()?),
            other => return Err(format!("unknown argument {other}; see the header of store_bench.rs")),
        }
    }
    Ok(options)
}

/// The real dump's records as stored versions (document = the `server` object, verbatim).
fn real_dump() -> Option<Vec<ServerVersion>> {
    let path = thv_testdata::shared_file(thv_testdata::REAL_DUMP)?;
    let dump = thv_testdata::read_json(&path);
    let records = dump.as_array().or_else(|| dump["servers"].as_array())?.clone();
    let mut seen = std::collections::HashSet::new();
    let versions = records
        .iter()
        .filter_map(|record| {
            let server = record.get("server").unwrap_or(record);
            let name = server["name"].as_str()?.to_owned();
            let version = server["version"].as_str()?.to_owned();
            if !seen.insert((name.clone(), version.clone())) {
                return None;
            }
            let official = &record["_meta"]["io.modelcontextprotocol.registry/official"];
            let text = |key: &str| official[key].as_str().unwrap_or("2025-01-01T00:00:00Z").to_owned();
            Some(ServerVersion {
                document: server.clone().into(),
                extra_meta: Value::Null,
                digest: format!("sha256:{:064x}", seen.len()),
                status: official["status"].as_str().unwrap_or("active").to_owned(),
                status_changed_at: None,
                status_message: None,
                published_at: text("publishedAt"),
                updated_at: text("updatedAt"),
                is_latest: official["isLatest"].as_bool().unwrap_or(true),
                name,
                version,
            })
        })
        .collect();
    Some(versions)
}

/// The same versions with every document changed (so a commit really replaces each row).
fn changed(versions: &[ServerVersion]) -> Vec<ServerVersion> {
    versions
        .iter()
        .map(|v| {
            let mut document = v.document.to_value();
            document["description"] = Value::String(format!("{} (changed)", document["description"]));
            ServerVersion { document: document.into(), ..v.clone() }
        })
        .collect()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Insert, replace-all and load medians of `workload` on `store`.
async fn measure(store: &dyn Store, backend: &str, workload: &str, versions: &[ServerVersion], rounds: u64) {
    let replaced = changed(versions);
    let mb = versions.iter().map(|v| v.document.len()).sum::<usize>() as f64 / 1e6;
    let n = versions.len() as u64;
    let (mut insert, mut replace, mut load) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let registry = format!("bench-{workload}-{round}-{}", std::process::id());
        let first = common::commit(&registry, "r1", n, versions.to_vec(), vec![]);
        let second = common::commit(&registry, "r2", n, replaced.clone(), vec![]);
        let start = Instant::now();
        store.commit_sync(&first).await.expect("commit (insert)");
        insert.push(start.elapsed());
        let start = Instant::now();
        store.commit_sync(&second).await.expect("commit (replace all)");
        replace.push(start.elapsed());
        let start = Instant::now();
        let loaded = store.catalog(&registry).await.expect("load");
        load.push(start.elapsed());
        assert_eq!(loaded.len(), versions.len(), "the whole catalog loads");
        store.remove_registry(&registry).await.expect("clean up");
    }
    println!(
        "{backend:<11} {workload:<10} {:>7} {mb:>7.1} MB {:>10} {:>12} {:>8}",
        versions.len(),
        ms(median(insert)),
        ms(median(replace)),
        ms(median(load))
    );
}

/// Documents as TEXT (the store's choice) against JSONB: insert all, then read all back as text.
/// `url` may hold a password: it is only handed to the driver.
async fn text_or_jsonb(url: &str, versions: &[ServerVersion], rounds: u64) {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect for the TEXT/JSONB probe");
    let documents: Vec<&str> = versions.iter().map(|v| v.document.as_str()).collect();
    for kind in ["text", "jsonb"] {
        let (mut write, mut read) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let create = format!("CREATE TEMPORARY TABLE bench_documents (id BIGINT, document {kind} NOT NULL)");
            sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut conn).await.expect("create");
            let insert = format!(
                "INSERT INTO bench_documents SELECT n, d::{kind} FROM UNNEST($1::text[]) WITH ORDINALITY AS t(d, n)"
            );
            let start = Instant::now();
            sqlx::query(sqlx::AssertSqlSafe(insert)).bind(&documents).execute(&mut conn).await.expect("insert");
            write.push(start.elapsed());
            let start = Instant::now();
            let back: Vec<String> = sqlx::query_scalar("SELECT document::text FROM bench_documents ORDER BY id")
                .fetch_all(&mut conn)
                .await
                .expect("read");
            read.push(start.elapsed());
            assert_eq!(back.len(), documents.len());
            let verbatim = back.iter().zip(&documents).all(|(a, b)| a == b);
            sqlx::query("DROP TABLE bench_documents").execute(&mut conn).await.expect("drop");
            if write.len() == 1 {
                print!("  {kind:<6} documents come back verbatim: {verbatim:<5}");
            }
        }
        println!("  write {:>8}  read {:>8}", ms(median(write)), ms(median(read)));
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options().unwrap_or_else(|e| {
        eprintln!("store_bench: {e}");
        std::process::exit(2);
    });
    let generated = common::catalog(options.versions, 1);
    let dump = real_dump();

    let sqlite_dir = tempfile::tempdir().expect("temporary directory");
    let sqlite = thv_store::open(&StoreLocation::sqlite(sqlite_dir.path().join("bench.db"))).await.expect("SQLite");

    // A private cluster unless a database was given; it stops when `cluster` is dropped, at the end.
    let mut cluster = None;
    let full_url = match &options.database {
        Some(text) => text.clone(),
        None => {
            let started = PostgresCluster::start(Durability::Default).expect("a private PostgreSQL cluster");
            let url = started.create_database().url_with_password();
            cluster = Some(started);
            url
        }
    };
    let postgres = match StoreLocation::parse(&full_url).expect("the PostgreSQL URL parses") {
        location @ StoreLocation::Postgres(_) => thv_store::open(&location).await.expect("PostgreSQL"),
        StoreLocation::Sqlite(_) => panic!("--database must be a postgres:// URL"),
    };

    println!(
        "{:<11} {:<10} {:>7} {:>10} {:>10} {:>12} {:>8}   (median of {} rounds)",
        "backend", "workload", "versions", "documents", "insert", "replace-all", "load", options.rounds
    );
    for (name, store) in [("SQLite", &sqlite), ("PostgreSQL", &postgres)] {
        measure(store.as_ref(), name, "generated", &generated, options.rounds).await;
        if let Some(dump) = &dump {
            measure(store.as_ref(), name, "real-dump", dump, options.rounds).await;
        }
    }
    println!("PostgreSQL document column, {} generated documents:", generated.len());
    text_or_jsonb(&full_url, &generated, options.rounds).await;
    sqlite.close().await;
    postgres.close().await;
    drop(cluster);
}
