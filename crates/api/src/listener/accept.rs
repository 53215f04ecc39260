//! Accept errors: each is counted by kind; resource exhaustion (out of file descriptors, of memory) pauses
//! accepting briefly instead of spinning, and is logged at most once per [`LOG_EVERY`] with the number of
//! errors in between.

use std::io;
use std::time::Duration;

use tokio::time::Instant;

/// How long accepting pauses after an error that is not about one connection.
pub(super) const PAUSE: Duration = Duration::from_millis(100);

/// The shortest time between two log lines about accept errors.
pub(super) const LOG_EVERY: Duration = Duration::from_secs(10);

/// The metric label of an accept error.
pub(super) fn label(error: &io::Error) -> &'static str {
    use rustix::io::Errno;
    match error.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::MFILE) => "emfile",
        Some(Errno::NFILE) => "enfile",
        Some(Errno::NOBUFS) => "enobufs",
        Some(Errno::NOMEM) => "enomem",
        Some(Errno::CONNABORTED) => "econnaborted",
        _ => "other",
    }
}

/// Whether the error concerns one connection only (the next accept may succeed at once).
pub(super) fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

/// Rate-limits the accept error log.
#[derive(Debug, Default)]
pub(super) struct ErrorLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl ErrorLog {
    /// Logs `error` unless a line was written less than [`LOG_EVERY`] ago (then counts it for the next).
    pub(super) fn error(&mut self, error: &io::Error) {
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < LOG_EVERY) {
            self.suppressed += 1;
            return;
        }
        tracing::error!(
            error = %error,
            kind = label(error),
            since_last_line = self.suppressed,
            "accepting an HTTP connection failed; retrying"
        );
        self.last = Some(now);
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::{is_per_connection, label};

    #[test]
    fn errors_are_named_by_errno() {
        let errno = |e: rustix::io::Errno| io::Error::from_raw_os_error(e.raw_os_error());
        assert_eq!(label(&errno(rustix::io::Errno::MFILE)), "emfile");
        assert_eq!(label(&errno(rustix::io::Errno::NFILE)), "enfile");
        assert_eq!(label(&errno(rustix::io::Errno::CONNABORTED)), "econnaborted");
        assert_eq!(label(&io::Error::other("x")), "other");
        assert!(is_per_connection(&errno(rustix::io::Errno::CONNABORTED)));
        assert!(!is_per_connection(&errno(rustix::io::Errno::MFILE)));
    }
}
