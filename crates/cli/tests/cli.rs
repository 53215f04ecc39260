//! End-to-end tests of the `thv` binary: exit codes, outputs, and bad input that must never panic.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use thv_testdata::{TOOLHIVE_REGISTRY, read_json, shared_file};

fn thv(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_thv"))
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("thv starts");
    if let Some(bytes) = stdin {
        // A child that rejects its input early may close stdin first; that is not a test failure.
        let _ = child.stdin.take().expect("stdin").write_all(bytes);
    }
    child.wait_with_output().expect("thv finishes")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_no_panic(o: &Output) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "thv panicked: {err}");
    assert!(o.status.code().is_some(), "killed by a signal: {err}");
}

fn write_temp(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write temp file");
    path.to_string_lossy().into_owned()
}

#[test]
fn toolhive_catalog_converts_to_the_wrapper_file_and_back_unchanged() {
    let Some(path) = shared_file(TOOLHIVE_REGISTRY) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let wrapper = dir.path().join("wrapper.json").to_string_lossy().into_owned();
    let back = dir.path().join("back.json").to_string_lossy().into_owned();
    let o = thv(&["registry", "convert", "--to", "upstream-file", path.to_str().expect("utf8"), "-o", &wrapper], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = thv(&["registry", "convert", "--from", "upstream", "--to", "toolhive", &wrapper, "-o", &back], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let original = read_json(&path);
    let round_trip = read_json(Path::new(&back));
    for key in ["version", "last_updated", "servers", "remote_servers"] {
        assert_eq!(round_trip[key], original[key], "{key} changed");
    }
    let wrapper = read_json(Path::new(&wrapper));
    assert_eq!(wrapper["data"]["servers"].as_array().map(Vec::len), Some(102));
}

#[test]
fn convert_reads_stdin_and_writes_stdout() {
    let doc = json!({"name": "io.github.acme/notes", "description": "Notes", "version": "0.3.1",
        "packages": [{"registryType": "npm", "identifier": "@acme/notes", "version": "0.3.1", "transport": {"type": "stdio"}}]});
    let o = thv(&["registry", "convert", "--to", "toolhive"], Some(doc.to_string().as_bytes()));
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(out["servers"]["notes"]["image"], "npx://@acme/notes@0.3.1");
    assert_eq!(out["servers"]["notes"]["name"], "io.github.acme/notes");
}

#[test]
fn validate_exit_codes_and_json_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write_temp(
        dir.path(),
        "good.json",
        br#"{"name": "io.github.acme/notes", "description": "Notes", "version": "1.0.0"}"#,
    );
    let bad = write_temp(
        dir.path(),
        "bad.json",
        br#"[{"server": {"name": "io.github.acme/notes", "description": "Notes", "version": "1.0.0",
             "packages": [{"registryType": "npm", "identifier": "x", "version": "latest", "transport": {"type": "stdio"}}]}}]"#,
    );
    let broken = write_temp(dir.path(), "broken.json", b"{\"name\": ");

    let o = thv(&["registry", "validate", &good], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = thv(&["registry", "validate", "-o", "json", &good, &bad], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    assert_eq!(report["documents"], 2);
    assert_eq!(report["servers"], 2);
    assert_eq!(report["valid"], 1);
    assert_eq!(report["invalid"], 1);
    let finding = &report["findings"][0];
    assert_eq!(finding["file"], bad.as_str());
    assert_eq!(finding["server"], "io.github.acme/notes");
    assert_eq!(finding["version"], "1.0.0");
    assert_eq!(finding["pointer"], "/0/server/packages/0/version");

    let o = thv(&["registry", "validate", &good, &broken], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("broken.json") && stderr(&o).contains("line 1"), "{}", stderr(&o));
}

#[test]
fn validate_rejects_an_unknown_schema_date() {
    let o = thv(&["registry", "validate", "--against", "2026-03-01", "x.json"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a released server.json schema date"), "{}", stderr(&o));
}

/// Truncated, wrongly-typed and huge documents: a clear error or a report, never a panic.
#[test]
fn bad_input_never_panics() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    let sample = br#"{"servers": {"fetch": {"description": "Fetch pages", "image": "ghcr.io/x/f:1", "tools": ["a"], "env_vars": [{"name": "A"}]}}}"#;
    for cut in [1, 10, 40, sample.len() - 1] {
        inputs.push(sample[..cut].to_vec());
    }
    let wrong_types = [
        json!({"servers": {"a": 5}}),
        json!({"servers": {"a": {"tools": "x", "env_vars": {"k": 1}, "target_port": "80"}}}),
        json!({"remote_servers": {"a": {"headers": [1, null], "url": 5}}}),
        json!([{"server": {"name": 5}}]),
        json!([{"server": {"name": "a/b", "version": "1", "packages": {"x": 1}}}]),
        json!([{"server": {"name": "a/b", "version": "1", "remotes": [{"variables": [1]}], "_meta": 3}, "_meta": "x"}]),
        json!({"data": {"servers": [null, 1, "x", {"name": "a/b", "version": "1", "icons": "x"}]}}),
        json!({"servers": [{"server": {"name": "a/b", "version": "1", "packages": [{"packageArguments": [{"variables": {"v": 1}}]}]}}]}),
        json!([]),
        json!(null),
        json!("text"),
    ];
    inputs.extend(wrong_types.iter().map(|v| v.to_string().into_bytes()));
    let mut nested = String::new();
    for _ in 0..100_000 {
        nested.push('[');
    }
    inputs.push(nested.into_bytes());
    let huge: Vec<Value> = (0..20_000)
        .map(|i| json!({"server": {"name": format!("io.example/s{i}"), "description": "d".repeat(200), "version": "1.0.0"}}))
        .collect();
    inputs.push(serde_json::to_vec(&huge).expect("json"));

    for (i, input) in inputs.iter().enumerate() {
        for to in ["toolhive", "upstream", "upstream-file"] {
            let o = thv(&["registry", "convert", "--to", to], Some(input));
            assert_no_panic(&o);
            assert!(matches!(o.status.code(), Some(0 | 2)), "input {i} --to {to}: {}", stderr(&o));
        }
        let o = thv(&["registry", "validate", "--strict", "-"], Some(input));
        assert_no_panic(&o);
        assert!(matches!(o.status.code(), Some(0..=2)), "input {i}: {}", stderr(&o));
    }
}

/// Runs `thv ARGS` and waits at most `limit` for it: a run that takes longer is killed and fails the test.
fn thv_within(args: &[&str], limit: std::time::Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_thv"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("thv starts");
    // Drain stdout on a thread, so a big output cannot block the child on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).expect("read stdout");
        bytes
    });
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("thv {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut output = child.wait_with_output().expect("thv finishes");
    output.stdout = reader.join().expect("stdout reader");
    output
}

/// A table costs time in proportion to its input, whatever the width of one cell: a 5 MB server name is
/// cut with an ellipsis (it took seconds as a table before, quadratic in the cell's width).
#[test]
fn a_huge_cell_is_cut_so_a_table_prints_fast() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("io.example/{}", "n".repeat(5 * 1024 * 1024));
    let doc = json!([{"server": {"name": name, "description": "d", "version": "1.0.0"}}]);
    let file = write_temp(dir.path(), "huge-name.json", &serde_json::to_vec(&doc).expect("json"));
    let o = thv_within(&["registry", "validate", "--strict", &file], std::time::Duration::from_secs(60));
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1), "a finding about the name: {}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("io.example/nnnn") && out.contains('…'),
        "the name is shown cut:\n{}",
        &out[..out.len().min(2000)]
    );
    assert!(out.len() < 64 * 1024, "the table holds no 5 MB cell: {} bytes", out.len());
    assert!(out.contains("1 document, 1 server: 0 valid, 1 invalid"), "{}", &out[out.len().saturating_sub(500)..]);
}

#[test]
fn validate_counts_the_real_dump_by_declared_and_current_schema() {
    let Some(path) = shared_file(thv_testdata::REAL_DUMP) else { return };
    let path = path.to_string_lossy().into_owned();
    for (against, invalid) in [("declared", 395), ("2025-12-11", 280)] {
        let o = thv(&["registry", "validate", "--against", against, "-o", "json", &path], None);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let report: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
        assert_eq!(report["servers"], 2_794);
        assert_eq!(report["invalid"], invalid, "--against {against}");
        assert_eq!(report["valid"], 2_794 - invalid);
        let first = &report["findings"][0];
        assert!(first["pointer"].as_str().is_some_and(|p| p.starts_with('/')), "{first}");
        assert!(first["server"].is_string() && first["version"].is_string(), "{first}");
    }
}

/// The README's main command: the example registries sync with no network and are searchable.
#[test]
fn the_example_registries_sync_and_are_searchable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/registries.yaml");
    let config = config.to_str().expect("utf8");
    let database = dir.path().join("example.db");
    let database = database.to_str().expect("utf8");
    let o = thv(&["--config", config, "--database", database, "registry", "sync", "--all", "-o", "json"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let reports: Value = serde_json::from_slice(&o.stdout).expect("JSON reports");
    assert_eq!(reports[0]["counts"]["total"], 3, "the experimental server is filtered out: {reports}");
    assert_eq!(reports[1]["counts"]["total"], 2, "the ToolHive-format catalog is converted: {reports}");
    let o = thv(&["--config", config, "--database", database, "search", "-o", "json"], None);
    let hits: Value = serde_json::from_slice(&o.stdout).expect("JSON hits");
    let names: Vec<&str> = hits.as_array().expect("array").iter().filter_map(|h| h["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "com.example/tickets",
            "io.github.example-platform/notes",
            "io.github.stacklok/fetch-pages",
            "io.github.stacklok/status-page"
        ]
    );
}

/// One HTTP/1.1 GET over a plain TCP connection; returns the status code and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    http_get_with(addr, path, "")
}

/// A GET with extra header lines (each ending in `\r\n`).
fn http_get_with(addr: &str, path: &str, headers: &str) -> (u16, String) {
    http_request(addr, "GET", path, headers)
}

/// One HTTP/1.1 request with extra `headers` (each ending in CRLF) and no body.
fn http_request(addr: &str, method: &str, path: &str, headers: &str) -> (u16, String) {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// `thv registry serve` serves the stored catalogs at once, syncs on schedule, swaps in the new catalogs,
/// logs JSON lines (one per request, without headers or query strings), and stops gracefully on SIGTERM.
#[test]
fn serve_syncs_serves_and_stops_on_sigterm() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/registries.yaml");
    let database = dir.path().join("serve.db");
    let tokens = dir.path().join("tokens");
    let tokens = tokens.to_str().expect("utf8");
    let created = thv(&["registry", "token", "create", "e2e", "--scope", "write", "--token-file", tokens], None);
    assert!(created.status.success(), "{}", stderr(&created));
    let token = String::from_utf8(created.stdout).expect("utf8").trim().to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_thv"))
        .args(["--config", config.to_str().expect("utf8"), "--database", database.to_str().expect("utf8")])
        .args(["registry", "serve", "--listen", "127.0.0.1:0", "--token-file", tokens])
        .env("XDG_CACHE_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("thv starts");
    let mut stderr_lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut logged = Vec::new();
    let addr = loop {
        let line = stderr_lines.next().expect("a line").expect("utf8");
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        logged.push(event.clone());
        if event["message"] == "serving" {
            let address = event["address"].as_str().expect("address");
            break address.trim_start_matches("http://").to_owned();
        }
    };
    // The first syncs run at once; the API switches to their catalogs when they commit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let page = loop {
        let (status, body) = http_get(&addr, "/v0.1/servers?limit=100");
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).expect("JSON page");
        if page["metadata"]["count"] == 5 {
            break page;
        }
        assert!(std::time::Instant::now() < deadline, "the catalogs never appeared: {page}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(page["servers"][0]["server"]["name"], "com.example/tickets", "ordered by name");
    let (status, body) =
        http_get(&addr, "/registry/platform/v0.1/servers/io.github.example-platform%2Fnotes/versions/latest");
    assert_eq!(status, 200, "{body}");
    let record: Value = serde_json::from_str(&body).expect("JSON record");
    assert_eq!(record["server"]["version"], "1.2.0");
    assert_eq!(record["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"], true);
    let (status, _) = http_get(&addr, "/v0.1/servers?limit=101");
    assert_eq!(status, 422);
    let (status, _) = http_get_with(&addr, "/v0.1/servers?limit=1&token=secret-q", "X-Request-Id: e2e-request-1\r\n");
    assert_eq!(status, 200);
    // A token the server does not know is ignored on a read that needs none, and refused on a write.
    let (status, body) = http_get_with(&addr, "/v0.1/servers?limit=1", "Authorization: Bearer secret-x\r\n");
    assert_eq!(status, 200, "{body}");
    let foreign = "Authorization: Bearer secret-x\r\n";
    assert_eq!(http_request(&addr, "POST", "/api/v1/registries/platform/sync", foreign).0, 401);
    // The write token from `thv registry token create` syncs a registry now.
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let (status, body) = http_request(&addr, "POST", "/api/v1/registries/platform/sync", &bearer);
    assert_eq!(status, 200, "{body}");
    let synced: Value = serde_json::from_str(&body).expect("JSON report");
    assert_eq!(synced["requestedBy"], "token:e2e");
    assert_eq!(http_request(&addr, "POST", "/api/v1/registries/platform/sync", "").0, 401);

    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(kill.success());
    let status = child.wait().expect("thv exits");
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");

    for line in stderr_lines {
        let line = line.expect("utf8");
        assert!(!line.to_ascii_lowercase().contains("authorization"), "a header was logged: {line}");
        assert!(!line.contains("secret-") && !line.contains(&token), "a secret was logged: {line}");
        logged.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
    }
    let request = logged
        .iter()
        .find(|e| e["request_id"] == "e2e-request-1")
        .unwrap_or_else(|| panic!("no log line for the request: {logged:?}"));
    assert_eq!(request["level"], "INFO", "{request}");
    assert_eq!(request["method"], "GET", "{request}");
    assert_eq!(request["route"], "/v0.1/servers", "{request}");
    assert_eq!(request["status"], 200, "{request}");
    assert!(request["latency_ms"].as_f64().is_some() && request["bytes"].as_u64() > Some(0), "{request}");
    let synced = logged.iter().filter(|e| e["message"] == "sync finished").count();
    assert!(synced >= 1, "{logged:?}");
    let requests = logged.iter().filter(|e| e["message"] == "request").collect::<Vec<_>>();
    assert!(requests.iter().all(|e| e["request_id"].as_str().is_some_and(|id| !id.is_empty())), "{requests:?}");
    assert!(logged.iter().any(|e| e["message"] == "shutting down"), "{logged:?}");
    assert!(
        logged.iter().any(|e| e["message"] == "manual sync requested" && e["requested_by"] == "token:e2e"),
        "{logged:?}"
    );
}

/// `thv ARGS --help` as a terminal `columns` wide would show it.
fn help(args: &[String], columns: u16) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_thv"))
        .args(args)
        .arg("--help")
        .env("COLUMNS", columns.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("thv starts");
    assert!(out.status.success(), "thv {args:?} --help: {}", stderr(&out));
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The lines of a help section (`Commands:`, `Examples:`) up to the next blank line.
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines().skip_while(|l| *l != title).skip(1).take_while(|l| !l.trim().is_empty()).collect()
}

/// Every command, as the words after `thv`, found through the `Commands:` sections of the help.
fn all_commands() -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut todo = vec![Vec::new()];
    while let Some(command) = todo.pop() {
        for line in section(&help(&command, 200), "Commands:") {
            let name = line.split_whitespace().next().expect("a command name").to_owned();
            if name != "help" {
                let mut sub = command.clone();
                sub.push(name);
                todo.push(sub);
            }
        }
        found.push(command);
    }
    found
}

/// Every example in every command's help is a complete command a reader can copy: on one line, or with
/// `\` continuations, even on an 80-column terminal. (Examples longer than the terminal were wrapped
/// mid-command, so a copied `registry add --git …` example broke.)
#[test]
fn every_help_example_is_a_whole_command_on_an_80_column_terminal() {
    let commands = all_commands();
    assert!(commands.len() > 12, "the commands were found: {commands:?}");
    for command in commands {
        let text = help(&command, 80);
        let examples = section(&text, "Examples:");
        let is_parent = text.contains("\nCommands:\n");
        assert!(is_parent || !examples.is_empty(), "thv {command:?} --help has no examples:\n{text}");
        let mut whole = Vec::new();
        let mut current = String::new();
        for line in &examples {
            assert!(line.chars().count() <= 78, "thv {command:?}: an example line too long for 80 columns: {line:?}");
            if current.is_empty() {
                let starts = ["  thv ", "  curl ", "  TOKEN=$(thv "];
                assert!(
                    starts.iter().any(|s| line.starts_with(s)),
                    "thv {command:?}: a broken example line {line:?}\n{text}"
                );
            } else {
                assert!(line.starts_with("      "), "thv {command:?}: a continuation line is indented: {line:?}");
            }
            current.push_str(line.trim().trim_end_matches('\\'));
            current.push(' ');
            if !line.ends_with(" \\") {
                whole.push(std::mem::take(&mut current));
            }
        }
        assert!(current.is_empty(), "thv {command:?}: the last example ends with a continuation");
        for example in &whole {
            for quote in ['\'', '"'] {
                assert!(example.matches(quote).count() % 2 == 0, "thv {command:?}: unbalanced {quote} in {example:?}");
            }
        }
        let invocation = format!("thv {}", command.join(" "));
        if !is_parent {
            assert!(
                whole.iter().any(|e| e.contains(&format!("{invocation} ")) || e.trim_end() == invocation),
                "thv {command:?} --help has no example of itself:\n{text}"
            );
        }
    }
}
