//! Structured logs on stderr with `tracing`: JSON lines or human-readable text, the level from `THV_LOG`
//! (else `RUST_LOG`, else `info`). `thv registry serve` logs this way; the other commands print their own
//! messages and only let warnings through.
//!
//! Per-request lines (target `thv::http`) are buffered and written in batches at least every
//! [`FLUSH_EVERY`], so a request's log line costs its formatting, not a write system call; every other
//! event is written out at once. A closed stderr (the reader of a pipe gone, as with `| head -1`) drops the
//! logs instead of failing: the process keeps running without them ([`LossyStderr`]).

use std::io::{self, BufWriter, Stderr, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use clap::ValueEnum;
use tracing::Metadata;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How long a buffered request line may wait before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the event's fields.
    Json,
    /// One human-readable line per event.
    Text,
}

/// Stderr that never fails: once a write fails (stderr closed, a broken pipe), every later line is dropped.
/// Otherwise the logging library reports the failed write with `eprintln!`, which panics on a closed stderr.
#[derive(Debug)]
struct LossyStderr {
    stderr: Stderr,
    closed: bool,
}

impl LossyStderr {
    fn new() -> Self {
        Self { stderr: io::stderr(), closed: false }
    }

    /// Whether `error` may pass: an interrupted write is retried by the caller; any other failure closes.
    fn interrupted(&mut self, error: io::Error) -> io::Result<()> {
        if error.kind() == io::ErrorKind::Interrupted {
            return Err(error);
        }
        self.closed = true;
        Ok(())
    }
}

impl Write for LossyStderr {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if !self.closed {
            match self.stderr.write(bytes) {
                Ok(written) => return Ok(written),
                Err(error) => self.interrupted(error)?,
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.closed
            && let Err(error) = self.stderr.flush()
        {
            self.interrupted(error)?;
        }
        Ok(())
    }
}

/// Stderr behind a buffer shared by the subscriber, the flusher thread and the [`LogGuard`].
#[derive(Clone)]
struct SharedStderr(Arc<Mutex<BufWriter<LossyStderr>>>);

impl SharedStderr {
    fn lock(&self) -> MutexGuard<'_, BufWriter<LossyStderr>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer of one event: buffered, and flushed after the event unless it is a request line.
struct EventWriter<'a> {
    stderr: &'a SharedStderr,
    flush: bool,
}

impl Write for EventWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut out = self.stderr.lock();
        let written = out.write(bytes)?;
        if self.flush {
            out.flush()?;
        }
        Ok(written)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut out = self.stderr.lock();
        out.write_all(bytes)?;
        if self.flush { out.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stderr.lock().flush()
    }
}

impl<'a> MakeWriter<'a> for SharedStderr {
    type Writer = EventWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter { stderr: self, flush: true }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        EventWriter { stderr: self, flush: meta.target() != "thv::http" }
    }
}

/// Writes out buffered lines when dropped: keep it until the end of `main`.
pub struct LogGuard(SharedStderr);

impl Drop for LogGuard {
    fn drop(&mut self) {
        let _ = self.0.lock().flush();
    }
}

/// The filter from `THV_LOG`, else `RUST_LOG`, else `default` (invalid directives are skipped).
fn filter(default: LevelFilter) -> EnvFilter {
    let mut directives = std::env::var("THV_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_default();
    // The commands that print their own messages (warnings only) report a failed Kubernetes request
    // themselves, in one line: kube's own ERROR event for it would say it twice.
    if default == LevelFilter::WARN && directives.is_empty() {
        directives = "kube_client=off".to_owned();
    }
    EnvFilter::builder().with_default_directive(default.into()).parse_lossy(directives)
}

/// Installs the global subscriber writing `format` to stderr at `default` level unless the environment
/// says otherwise, with a thread that writes buffered lines out every [`FLUSH_EVERY`]. A second call
/// installs nothing.
pub fn init(format: LogFormat, default: LevelFilter) -> LogGuard {
    let stderr = SharedStderr(Arc::new(Mutex::new(BufWriter::with_capacity(64 * 1024, LossyStderr::new()))));
    let builder = tracing_subscriber::fmt().with_writer(stderr.clone()).with_env_filter(filter(default));
    let installed = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
    if installed.is_ok() {
        let flusher = stderr.clone();
        let _ = std::thread::Builder::new().name("thv-log-flush".to_owned()).spawn(move || {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                let _ = flusher.lock().flush();
            }
        });
    }
    LogGuard(stderr)
}
