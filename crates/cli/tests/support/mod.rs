//! The harness of the `thv` binary's end-to-end tests: a private world per test (configuration, database,
//! caches and home in one temporary directory) and what one run of `thv` did.
//!
//! `THV_CONFIG`, `THV_DATABASE`, `XDG_*` and `HOME` point into the directory, so nothing reads or writes the
//! developer's files.

// Each test crate uses the part of the harness it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// A private world for `thv`: configuration, database, caches and home in one temporary directory.
pub struct Env {
    dir: tempfile::TempDir,
    kubeconfig: Option<PathBuf>,
}

/// What one run of `thv` did.
pub struct Run {
    /// The exit status; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The exit status must be `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32, what: &str) -> Self {
        assert_eq!(self.code, Some(code), "{what}: exit status\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    /// Standard output parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl Env {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temporary directory"), kubeconfig: None }
    }

    /// An environment whose `KUBECONFIG` is this kubeconfig (written into the directory); without one,
    /// `KUBECONFIG` is unset and `~/.kube/config` (under the private `HOME`) absent: no cluster.
    pub fn with_kubeconfig(kubeconfig: &str) -> Self {
        let mut env = Self::new();
        let path = env.path("kubeconfig.yaml");
        std::fs::write(&path, kubeconfig).expect("write the kubeconfig");
        env.kubeconfig = Some(path);
        env
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("config/registries.yaml")
    }

    pub fn database_path(&self) -> PathBuf {
        self.path("data/registry.db")
    }

    /// `thv ARGS` with the private environment, run from the temporary directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_thv"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("THV_CONFIG", self.config_path())
            .env("THV_DATABASE", self.database_path())
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_CONFIG_HOME", self.path("xdg-config"))
            .env("XDG_DATA_HOME", self.path("xdg-data"))
            .env("HOME", self.path("home"))
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null());
        if let Some(kubeconfig) = &self.kubeconfig {
            cmd.env("KUBECONFIG", kubeconfig);
        }
        cmd
    }

    /// Runs `thv ARGS` to the end; a panic is a test failure whatever the exit status.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("thv starts");
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!run.stderr.contains("panicked"), "thv {args:?} panicked: {}", run.stderr);
        assert!(run.code.is_some(), "thv {args:?} was killed by a signal: {}", run.stderr);
        run
    }

    /// Runs `thv ARGS` to the end without `THV_CONFIG`: with the default configuration file,
    /// `$XDG_CONFIG_HOME/thv/registries.yaml`.
    #[track_caller]
    pub fn run_with_default_config(&self, args: &[&str]) -> Run {
        let out = self.command(args).env_remove("THV_CONFIG").output().expect("thv starts");
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!run.stderr.contains("panicked"), "thv {args:?} panicked: {}", run.stderr);
        run
    }

    /// Runs `thv ARGS`, which must succeed.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Run {
        self.run(args).expect_code(0, &format!("thv {}", args.join(" ")))
    }

    /// Runs `thv ARGS -o json`, which must succeed, and parses its output.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        self.ok(&all).json()
    }

    /// Creates the configuration file, empty: no registries configured.
    pub fn write_empty_config(&self) {
        let path = self.config_path();
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the config folder");
        std::fs::write(path, "").expect("write the config");
    }

    /// The configuration file as text (empty when absent).
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap_or_default()
    }

    /// The configuration file, parsed.
    #[track_caller]
    pub fn config(&self) -> Value {
        let text = self.config_text();
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("the configuration is not YAML ({e}):\n{text}"))
    }

    /// The configured registry called `name`.
    #[track_caller]
    pub fn configured(&self, name: &str) -> Value {
        let config = self.config();
        let found = config["registries"].as_array().and_then(|rs| rs.iter().find(|r| r["name"] == name)).cloned();
        found.unwrap_or_else(|| panic!("no registry {name} in the configuration:\n{}", self.config_text()))
    }

    /// Names of the configured registries, in order.
    pub fn configured_names(&self) -> Vec<String> {
        let config = self.config();
        config["registries"]
            .as_array()
            .map(|rs| rs.iter().filter_map(|r| r["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// Writes a file in the temporary directory and returns its path.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> String {
        let path = self.path(relative);
        write_atomically(&path, bytes);
        path.to_string_lossy().into_owned()
    }

    /// Writes a JSON document in the temporary directory and returns its path.
    pub fn write_json(&self, relative: &str, value: &Value) -> String {
        let path = self.path(relative);
        write_atomically(&path, serde_json::to_string_pretty(value).expect("JSON").as_bytes());
        path.to_string_lossy().into_owned()
    }

    /// The row of registry `name` in `thv registry list -o json`.
    #[track_caller]
    pub fn list_row(&self, name: &str) -> Value {
        let rows = self.json(&["registry", "list"]);
        rows.as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("registry {name} not listed: {rows}"))
    }

    /// `thv search ARGS -o json` as the list of hits.
    #[track_caller]
    pub fn search(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["search"];
        all.extend(args);
        match self.json(&all) {
            Value::Array(hits) => hits,
            other => panic!("search output is not an array: {other}"),
        }
    }

    /// Names found by `thv search ARGS`, sorted.
    #[track_caller]
    pub fn search_names(&self, args: &[&str]) -> Vec<String> {
        let mut names: Vec<String> =
            self.search(args).iter().map(|h| h["name"].as_str().expect("name").to_owned()).collect();
        names.sort();
        names
    }
}

/// Writes through a temporary file and a rename, so a reader never sees half a document.
pub fn write_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).expect("write a temporary file");
    std::fs::rename(&tmp, path).expect("rename into place");
}
