//! A private PostgreSQL cluster for tests: `initdb` in a temporary directory, a server on a free loopback
//! port, one fresh database per test, everything removed when the test process ends.
//!
//! The server binaries come from Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`, the
//! newest there), from `THV_POSTGRES_BIN` (a directory), or from `PATH`. `initdb` refuses to run as root,
//! so when the tests run as root the cluster runs as the `postgres` OS user (`runuser`). No system service
//! is used and no password of the machine is touched: the cluster has its own superuser `postgres` with a
//! random password, required over TCP (`scram-sha-256`); local socket connections are trusted.
//!
//! The cluster is started by a small shell supervisor whose standard input is a pipe from the test
//! process. When the test process exits, however it exits, the pipe closes and the supervisor stops the
//! server and deletes the directory.
//!
//! TLS is on, with a certificate for `localhost` and `127.0.0.1` signed by a private CA
//! ([`PostgresCluster::ca_pem`]), so clients can test `sslmode=require` and `verify-full`.
//!
//! When no PostgreSQL is installed [`shared_cluster`] returns `None` after a note on stderr (the caller
//! skips), unless `THV_REQUIRE_TOOLS=1`, which makes it panic: `scripts/test.sh` installs PostgreSQL and
//! sets it, so the suite never skips there.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// The cluster's superuser.
pub const SUPERUSER: &str = "postgres";

/// How the server trades durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync`, `synchronous_commit` and `full_page_writes` off: a killed *client* still loses nothing
    /// committed (the server keeps running), and tests run faster.
    Fast,
    /// PostgreSQL's defaults, for benchmarks.
    Default,
}

/// A running private cluster; it stops when the process exits.
pub struct PostgresCluster {
    port: u16,
    password: String,
    socket_dir: PathBuf,
    bin: PathBuf,
    ca_pem: String,
    databases: AtomicU32,
    /// Holding the supervisor's stdin open keeps the cluster alive.
    _supervisor_stdin: ChildStdin,
    _supervisor: Child,
}

/// A database of a [`PostgresCluster`].
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// `postgres://postgres@127.0.0.1:<port>/<name>`, without password.
    pub url: String,
    /// The superuser's password.
    pub password: String,
}

impl TestDatabase {
    /// The URL with the password in it.
    pub fn url_with_password(&self) -> String {
        self.url.replacen(&format!("{SUPERUSER}@"), &format!("{SUPERUSER}:{}@", self.password), 1)
    }
}

static SHARED: OnceLock<Option<PostgresCluster>> = OnceLock::new();

/// The test binary's cluster (fast durability), started on first use; `None` when PostgreSQL is not
/// installed and `THV_REQUIRE_TOOLS` is not `1`.
///
/// # Panics
/// When PostgreSQL is installed but the cluster cannot start, or is missing and `THV_REQUIRE_TOOLS=1`.
pub fn shared_cluster() -> Option<&'static PostgresCluster> {
    SHARED
        .get_or_init(|| {
            let Some(bin) = find_bin_dir() else {
                assert!(
                    std::env::var("THV_REQUIRE_TOOLS").as_deref() != Ok("1"),
                    "PostgreSQL is required (THV_REQUIRE_TOOLS=1) but initdb was not found; install Debian's \
                     `postgresql` package (scripts/test.sh does) or set THV_POSTGRES_BIN"
                );
                eprintln!("skipped: PostgreSQL not found (apt-get install postgresql, or run scripts/test.sh)");
                return None;
            };
            Some(PostgresCluster::start_with(&bin, Durability::Fast).unwrap_or_else(|e| panic!("{e}")))
        })
        .as_ref()
}

/// A fresh database in the test binary's cluster; `None` as for [`shared_cluster`].
pub fn fresh_database() -> Option<TestDatabase> {
    shared_cluster().map(PostgresCluster::create_database)
}

impl PostgresCluster {
    /// Starts a new private cluster with the binaries found as described in the module docs.
    pub fn start(durability: Durability) -> Result<Self, String> {
        let bin = find_bin_dir().ok_or_else(|| {
            "PostgreSQL not found: install Debian's `postgresql` package or set THV_POSTGRES_BIN".to_owned()
        })?;
        Self::start_with(&bin, durability)
    }

    fn start_with(bin: &Path, durability: Durability) -> Result<Self, String> {
        let (ca_pem, cert_pem, key_pem) = server_pki()?;
        let password = random_password();
        // A port that was free a moment ago; another process may take it first, so try a few.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            match start_supervisor(bin, port, durability, &password, &cert_pem, &key_pem) {
                Ok((child, stdin, socket_dir)) => {
                    return Ok(Self {
                        port,
                        password,
                        socket_dir,
                        bin: bin.to_owned(),
                        ca_pem,
                        databases: AtomicU32::new(0),
                        _supervisor_stdin: stdin,
                        _supervisor: child,
                    });
                }
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The PEM of the CA that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`, without password.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a new, empty database.
    ///
    /// # Panics
    /// When `createdb` fails.
    pub fn create_database(&self) -> TestDatabase {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("thv_test_{}_{n}", std::process::id());
        self.psql_tool("createdb", &[&name]);
        TestDatabase { url: self.url(&name), password: self.password.clone(), name }
    }

    /// Runs an SQL statement as the superuser in `database` (through `psql` on the local socket), returning
    /// its output.
    ///
    /// # Panics
    /// When it fails.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        self.psql_tool("psql", &["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql])
    }

    fn psql_tool(&self, tool: &str, args: &[&str]) -> String {
        let output = Command::new(self.bin.join(tool))
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string(), "-U", SUPERUSER])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(output.status.success(), "{tool} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The directory of `initdb`, `postgres`, `pg_isready`, `createdb` and `psql`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| ["initdb", "postgres", "pg_isready"].iter().all(|t| dir.join(t).is_file());
    if let Some(dir) = std::env::var_os("THV_POSTGRES_BIN").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("initdb"))
        .find(|initdb| initdb.is_file())
        .and_then(|initdb| std::fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .filter(|dir| has_tools(dir))
}

/// The supervisor: creates the cluster, starts the server, prints `ready <socket dir>`, then waits for its
/// stdin to close and tears everything down. Arguments: bin dir, port, extra server settings.
const SUPERVISOR: &str = r#"
set -eu
bin=$1 port=$2 settings=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/thv-pg-XXXXXX" 2>/dev/null || mktemp -d /tmp/thv-pg-XXXXXX)
trap 'rm -rf "$dir"' EXIT
umask 077
printf '%s\n' "$THV_PG_PASSWORD" >"$dir/pwfile"
printf '%s' "$THV_PG_CERT" >"$dir/server.crt"
printf '%s' "$THV_PG_KEY" >"$dir/server.key"
if ! "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  exit 1
fi
# shellcheck disable=SC2086 # $settings is a list of -c options.
"$bin/postgres" -D "$dir/data" -p "$port" -c listen_addresses=127.0.0.1 -c unix_socket_directories="$dir" \
  -c ssl=on -c ssl_cert_file="$dir/server.crt" -c ssl_key_file="$dir/server.key" -c max_connections=200 \
  $settings </dev/null >"$dir/server.log" 2>&1 &
pid=$!
tries=0
until "$bin/pg_isready" -q -h "$dir" -p "$port"; do
  if ! kill -0 "$pid" 2>/dev/null || [ "$tries" -ge 300 ]; then
    echo "postgres did not start:" >&2
    cat "$dir/server.log" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
  fi
  tries=$((tries + 1))
  sleep 0.1
done
echo "ready $dir"
cat >/dev/null || true
kill -INT "$pid" 2>/dev/null || true
wait "$pid" || true
"#;

fn start_supervisor(
    bin: &Path,
    port: u16,
    durability: Durability,
    password: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<(Child, ChildStdin, PathBuf), String> {
    let settings = match durability {
        Durability::Fast => "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        Durability::Default => "",
    };
    let mut command = if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", SUPERUSER, "--", "sh"]);
        c
    } else {
        Command::new("sh")
    };
    let mut child = command
        .arg("-c")
        .arg(SUPERVISOR)
        .arg("thv-postgres-supervisor")
        .arg(bin)
        .arg(port.to_string())
        .arg(settings)
        .env("THV_PG_PASSWORD", password)
        .env("THV_PG_CERT", cert_pem)
        .env("THV_PG_KEY", key_pem)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the PostgreSQL supervisor (sh, runuser): {e}"))?;
    let stdout = child.stdout.take().ok_or("no supervisor stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("read the supervisor: {e}"))?;
    let Some(dir) = line.trim_end().strip_prefix("ready ") else {
        let output = child.wait_with_output().map_err(|e| format!("wait for the supervisor: {e}"))?;
        return Err(format!(
            "the private PostgreSQL cluster ({}) did not start: {}",
            bin.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    };
    let stdin = child.stdin.take().ok_or("no supervisor stdin")?;
    Ok((child, stdin, PathBuf::from(dir)))
}

/// `/proc/self` belongs to the process's effective user.
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind a loopback port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn random_password() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.write_u32(std::process::id());
    format!("thv-test-{:016x}", hasher.finish())
}

/// A CA (PEM) and a certificate for `localhost` and `127.0.0.1` it signed, with the certificate's key (PEM).
fn server_pki() -> Result<(String, String, String), String> {
    let fail = |e: rcgen::Error| format!("generate the test certificates: {e}");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "thv-registry test PostgreSQL CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(fail)?).map_err(fail)?;
    let key = KeyPair::generate().map_err(fail)?;
    let cert = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .map_err(fail)?
        .signed_by(&key, &ca)
        .map_err(fail)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}
