//! `thv` on a PostgreSQL store: `--database postgres://…` / `THV_DATABASE`, the password from
//! `THV_DATABASE_PASSWORD_FILE` or the `THV_DATABASE` URL, and refused (without being echoed) in the flag.
//!
//! Runs on the test binary's private PostgreSQL cluster (`thv_testdata::postgres`); skips with a note when
//! PostgreSQL is not installed, unless `THV_REQUIRE_TOOLS=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use thv_testdata::postgres::{TestDatabase, fresh_database, shared_cluster};

/// The example catalog beside the project.
fn example_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/catalog.json")
}

/// `thv ARGS` in a private directory, with nothing from the environment naming a database or password.
fn thv(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_thv"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("THV_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", dir.join("home"))
        .env_remove("THV_DATABASE")
        .env_remove("THV_DATABASE_PASSWORD_FILE")
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .stdin(Stdio::null());
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().expect("thv starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn expect_code(out: &Output, code: i32, what: &str) {
    assert_eq!(out.status.code(), Some(code), "{what}\nstdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
}

fn password_file(dir: &Path, db: &TestDatabase) -> String {
    let file = dir.join("pg-password");
    std::fs::write(&file, format!("{}\n", db.password)).expect("write the password file");
    file.display().to_string()
}

#[test]
fn sync_and_list_on_postgres_with_the_password_from_a_file() {
    let Some(db) = fresh_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = password_file(dir.path(), &db);
    let env = [("THV_DATABASE_PASSWORD_FILE", file.as_str())];
    let catalog = example_catalog().display().to_string();

    let add = thv(dir.path(), &["registry", "add", "examples", "--file", &catalog], &env);
    expect_code(&add, 0, "registry add");
    let sync = thv(dir.path(), &["--database", &db.url, "registry", "sync", "examples", "-o", "json"], &env);
    expect_code(&sync, 0, "registry sync");
    let report: Value = serde_json::from_slice(&sync.stdout).expect("a JSON report");
    assert_eq!(report[0]["outcome"], "success", "{report}");
    let total = report[0]["counts"]["total"].as_u64().expect("a total");
    assert!(total > 0, "{report}");

    // The rows are in PostgreSQL, not in a local SQLite file.
    let cluster = shared_cluster().expect("cluster");
    let stored = cluster.psql(&db.name, "SELECT count(*) FROM server_versions WHERE registry = 'examples'");
    assert_eq!(stored.trim(), total.to_string());
    assert!(!dir.path().join("data/thv/registry.db").exists(), "no SQLite file was created");

    // THV_DATABASE works the same way as the flag, and another process sees the same catalog.
    let url_env = [("THV_DATABASE", db.url.as_str()), ("THV_DATABASE_PASSWORD_FILE", file.as_str())];
    let list = thv(dir.path(), &["registry", "list", "-o", "json"], &url_env);
    expect_code(&list, 0, "registry list");
    let listed: Value = serde_json::from_slice(&list.stdout).expect("a JSON list");
    assert!(list_text_mentions(&listed, "examples"), "{listed}");
}

fn list_text_mentions(listed: &Value, name: &str) -> bool {
    listed.to_string().contains(&format!("\"{name}\""))
}

#[test]
fn a_password_in_the_database_flag_is_refused_without_echoing_it() {
    let Some(db) = fresh_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    for url in [db.url_with_password(), format!("{}?password={}", db.url, db.password)] {
        let out = thv(dir.path(), &["--database", &url, "registry", "list"], &[]);
        expect_code(&out, 2, "a password in --database");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("THV_DATABASE_PASSWORD_FILE") && stderr.contains("THV_DATABASE"), "{stderr}");
        assert!(!stderr.contains(&db.password), "the password is not shown: {stderr}");
        assert!(stderr.contains(&db.url), "the URL without password is: {stderr}");
    }
}

#[test]
fn a_password_in_the_database_variable_is_used() {
    let Some(db) = fresh_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = db.url_with_password();
    let out = thv(dir.path(), &["registry", "list", "-o", "json"], &[("THV_DATABASE", url.as_str())]);
    expect_code(&out, 0, "THV_DATABASE with a password");
    // And --help never prints the variable's value.
    let help = thv(dir.path(), &["registry", "list", "--help"], &[("THV_DATABASE", url.as_str())]);
    expect_code(&help, 0, "--help");
    assert!(!text(&help.stdout).contains(&db.password), "--help shows no password");
    assert!(text(&help.stdout).contains("THV_DATABASE_PASSWORD_FILE"), "--help says where the password goes");
}

#[test]
fn a_wrong_password_is_an_error_naming_the_server_not_the_password() {
    let Some(db) = fresh_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pg-password");
    std::fs::write(&file, "wrong-password-1618\n").unwrap();
    let file = file.display().to_string();
    let out =
        thv(dir.path(), &["--database", &db.url, "registry", "list"], &[("THV_DATABASE_PASSWORD_FILE", file.as_str())]);
    expect_code(&out, 2, "a wrong password");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&db.url) && stderr.contains("password authentication failed"), "{stderr}");
    assert!(!stderr.contains("1618"), "{stderr}");

    // A missing password file is named.
    let missing = dir.path().join("no-such-file").display().to_string();
    let out = thv(
        dir.path(),
        &["--database", &db.url, "registry", "list"],
        &[("THV_DATABASE_PASSWORD_FILE", missing.as_str())],
    );
    expect_code(&out, 2, "a missing password file");
    assert!(text(&out.stderr).contains(&missing), "{}", text(&out.stderr));
}

#[test]
fn anything_but_a_postgres_url_is_an_sqlite_path() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = example_catalog().display().to_string();
    expect_code(&thv(dir.path(), &["registry", "add", "examples", "--file", &catalog], &[]), 0, "registry add");
    let path = dir.path().join("postgres:/not-a-url.db");
    let out = thv(dir.path(), &["--database", &path.display().to_string(), "registry", "sync", "examples"], &[]);
    expect_code(&out, 0, "a sync into an SQLite path");
    assert!(path.is_file(), "the SQLite file was created at {}", path.display());
}
