//! A private PostgreSQL cluster for the benchmark scripts (`scripts/tools.sh`'s `start_private_postgres`):
//! starts one with PostgreSQL's default durability, creates a database, prints one line, its URL with the
//! (random, per-run) password in it, and stops the cluster when its standard input closes.
//!
//! `cargo run -p thv-testdata --features postgres --example private_postgres`

use std::io::{Read, Write};

use thv_testdata::postgres::{Durability, PostgresCluster};

fn main() -> Result<(), String> {
    let cluster = PostgresCluster::start(Durability::Default)?;
    let database = cluster.create_database();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", database.url_with_password()).and_then(|()| stdout.flush()).map_err(|e| e.to_string())?;
    // Until the script closes our stdin (or exits); then `cluster` is dropped and the server stops.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(cluster);
    Ok(())
}
