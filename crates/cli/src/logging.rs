//! Structured logs on stderr with `tracing`: JSON lines or human-readable text, the level from `THV_LOG`
//! (else `RUST_LOG`, else `info`). `thv registry serve` logs this way; the other commands print their own
//! messages and only let warnings through.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the event's fields.
    Json,
    /// One human-readable line per event.
    Text,
}

/// The filter from `THV_LOG`, else `RUST_LOG`, else `default` (invalid directives are skipped).
fn filter(default: LevelFilter) -> EnvFilter {
    let directives = std::env::var("THV_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_default();
    EnvFilter::builder().with_default_directive(default.into()).parse_lossy(directives)
}

/// Installs the global subscriber writing `format` to stderr at `default` level unless the environment
/// says otherwise. A second call does nothing.
pub fn init(format: LogFormat, default: LevelFilter) {
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter(default));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
