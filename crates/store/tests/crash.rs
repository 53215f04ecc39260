//! A writer killed with SIGKILL mid-commit leaves the previous catalog or the new one, never a mix — on
//! every backend (`sqlite::…`, `postgres::…`).
//!
//! The parent test re-executes this test binary to run [`crash_child_writer`] (selected by name, and active
//! only when [`CHILD_ENV`] names a database). The child commits generation after generation of a large
//! catalog; every document of generation N carries N. The parent polls the database until the child has
//! committed a couple of generations, waits for the child to announce the start of its next commit, lets a
//! different share of a commit's duration pass each round, and kills it. Then it reopens the database and
//! checks it: integrity, a complete catalog of one generation, a state row and a last run that agree with
//! it, and no committed generation lost.
// The cases are plain functions (run by `store_suite!` or a #[test] wrapper), where clippy's
// allow-unwrap-in-tests does not reach.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use common::{Backend, TestDb, change, commit, generation_of, version};
use thv_store::{ChangeKind, NameVersion, ServerVersion, Store, StoreLocation, SyncCommit};

/// Names the database the child writes to (a path or a URL); without it the child test does nothing.
const CHILD_ENV: &str = "THV_STORE_CRASH_CHILD_DB";
const REGISTRY: &str = "crash";
/// Versions every generation holds (plus one only it has).
const BASE: usize = 1_000;
/// When to kill, after the child announced a commit, in percent of the last commit's duration: one per
/// round, so the kills land early, midway, late (COMMIT, checkpoint) and after it.
const KILL_AT_PERCENT: [u64; 7] = [0, 8, 27, 54, 77, 92, 140];
/// Bound on every wait, so a broken child fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

fn extra_name(g: u64) -> String {
    format!("io.example/only-in-{g:06}")
}

/// Generation `g`: every base version carries `g`; `g`'s own version replaces `g - 1`'s.
fn generation(g: u64) -> SyncCommit {
    let mut upserts: Vec<ServerVersion> =
        (0..BASE).map(|i| version(&format!("io.example/server-{i:05}"), "1.0.0", g)).collect();
    upserts.push(version(&extra_name(g), "1.0.0", g));
    let removals: Vec<_> =
        (g > 1).then(|| NameVersion { name: extra_name(g - 1), version: "1.0.0".to_owned() }).into_iter().collect();
    let mut c = commit(REGISTRY, &revision(g), BASE as u64 + 1, upserts, removals);
    // Base versions are updates after the first generation.
    if g > 1 {
        for ch in c.changes.iter_mut().filter(|ch| ch.name != extra_name(g) && ch.kind == ChangeKind::Added) {
            *ch = change(ChangeKind::Updated, &ch.name, &ch.version);
        }
    }
    c
}

fn revision(g: u64) -> String {
    format!("gen-{g}")
}

fn generation_of_revision(revision: Option<&str>) -> Option<u64> {
    revision?.strip_prefix("gen-")?.parse().ok()
}

#[tokio::test]
#[ignore = "the child process of the a_killed_*_writer_leaves_a_whole_catalog tests"]
async fn crash_child_writer() {
    let Ok(location) = std::env::var(CHILD_ENV) else { return };
    let location = StoreLocation::parse(&location).expect("child parses the location");
    let store = thv_store::open(&location).await.expect("child opens the store");
    let state = store.registry_state(REGISTRY).await.expect("child reads state");
    let mut g = state.and_then(|s| generation_of_revision(s.revision.as_deref())).unwrap_or(0) + 1;
    let deadline = Instant::now() + PATIENCE;
    let mut out = std::io::stdout();
    while Instant::now() < deadline {
        let next = generation(g);
        writeln!(out, "begin {g}").and_then(|()| out.flush()).expect("child writes to its parent");
        let started = Instant::now();
        store.commit_sync(&next).await.expect("child commits");
        let took = started.elapsed().as_millis();
        writeln!(out, "done {g} {took}").and_then(|()| out.flush()).expect("child writes to its parent");
        g += 1;
    }
}

/// Lines `begin N` / `done N MILLIS` the child prints, forwarded from a reader thread.
fn child_lines(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if (line.starts_with("begin ") || line.starts_with("done ")) && tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for the child's next `begin N`; returns N. Durations of the commits finished meanwhile go to `took`.
fn wait_for_begin(lines: &Receiver<String>, took: &mut Vec<u64>) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).expect("the child announces its commits");
        if let Some(g) = line.strip_prefix("begin ") {
            return g.parse().expect("a generation number");
        }
        took.extend(line.split(' ').nth(2).and_then(|ms| ms.parse::<u64>().ok()));
    }
}

/// The generation the database's committed state names, read the way another process would.
async fn committed_generation(store: &dyn Store) -> Option<u64> {
    let state = store.registry_state(REGISTRY).await.ok()??;
    generation_of_revision(state.revision.as_deref())
}

/// Reopens the database after a crash and checks everything; returns the generation it holds.
async fn verify(db: &TestDb, at_least: u64) -> u64 {
    db.check_integrity().await;
    let store = db.open().await;

    let state = store.registry_state(REGISTRY).await.expect("read state").expect("a state row");
    let g = generation_of_revision(state.revision.as_deref()).expect("the state names a generation");
    assert!(g >= at_least, "generation {at_least} was seen committed, the database holds {g}");

    let catalog = store.catalog(REGISTRY).await.expect("read the catalog");
    assert_eq!(catalog.len(), BASE + 1, "the catalog is complete");
    assert_eq!(state.server_count, catalog.len() as u64);
    let wrong: Vec<_> = catalog.iter().filter(|v| generation_of(v) != Some(g)).map(|v| &v.name).collect();
    assert!(wrong.is_empty(), "documents not of generation {g}: {} of them, first {:?}", wrong.len(), wrong.first());
    let extras: Vec<_> = catalog.iter().filter(|v| v.name.starts_with("io.example/only-in-")).collect();
    assert_eq!(extras.len(), 1);
    assert_eq!(extras[0].name, extra_name(g));

    let runs = store.runs(REGISTRY, 1).await.expect("read runs");
    assert_eq!(runs[0].revision, state.revision, "the last run is the one that committed the catalog");
    assert_eq!(store.changes(REGISTRY, runs[0].id).await.expect("read changes"), generation(g).changes);
    store.close().await;
    g
}

#[test]
fn a_killed_sqlite_writer_leaves_a_whole_catalog() {
    killed_writer_leaves_a_whole_catalog(Backend::Sqlite);
}

#[test]
fn a_killed_postgres_writer_leaves_a_whole_catalog() {
    killed_writer_leaves_a_whole_catalog(Backend::Postgres);
}

fn killed_writer_leaves_a_whole_catalog(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let Some(db) = TestDb::new(backend) else { return };
    let exe = std::env::current_exe().unwrap();
    let mut held = 0;
    let mut mid_commit = 0;
    // The duration of a commit, as the child last reported it; before any report, a guess.
    let mut commit_ms = 100;

    for (round, percent) in KILL_AT_PERCENT.into_iter().enumerate() {
        let mut child = Command::new(&exe)
            .args(["crash_child_writer", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, db.location_text())
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("start the child");
        let lines = child_lines(&mut child);
        // The child announces its first commit once its store is open (schema, WAL): only then poll.
        let mut took = Vec::new();
        wait_for_begin(&lines, &mut took);
        let seen = runtime.block_on(async {
            let poll = db.open().await;
            let deadline = Instant::now() + PATIENCE;
            let seen = loop {
                match committed_generation(poll.as_ref()).await {
                    Some(g) if g >= held + 2 => break g,
                    _ => assert!(Instant::now() < deadline, "the child commits"),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            };
            poll.close().await;
            seen
        });
        // Kill a share of a commit's duration after the start of a commit.
        let started = loop {
            let g = wait_for_begin(&lines, &mut took);
            if g > seen {
                break g;
            }
        };
        if let Some(&last) = took.last() {
            commit_ms = last;
        }
        let delay = commit_ms * percent / 100;
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().expect("kill the child");
        let status = child.wait().expect("reap the child");
        assert_eq!(status.signal(), Some(9), "the child died of SIGKILL, not {status}");
        let rest: Vec<String> = lines.try_iter().collect();
        let finished = rest.iter().any(|line| line.starts_with(&format!("done {started} ")));
        if !finished {
            mid_commit += 1;
        }

        held = runtime.block_on(verify(&db, seen));
        println!(
            "{backend:?} round {round}: killed {delay} ms ({percent}% of {commit_ms} ms) into generation {started} \
             ({}; commits took {took:?} ms), the database holds generation {held}",
            if finished { "after it finished" } else { "mid-commit" }
        );
        if finished {
            // The child may have finished later generations too before the kill landed.
            assert!(held >= started, "a finished commit survives the kill: holds {held}, {started} was done");
        } else {
            assert!(
                held + 1 == started || held == started,
                "the database holds the last or the interrupted generation"
            );
        }
    }
    assert!(mid_commit >= 1, "at least one kill landed inside a commit");
}
