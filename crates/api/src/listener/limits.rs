//! The connection limits of a listener ([`ConnectionLimits`]) and the default connection cap, derived from
//! the process's open-file limit so that the process never runs out of file descriptors.

use std::time::Duration;

/// How long a client may take to send a request's head, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may wait for its next request, or a response make no progress, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest default connection cap, however high the open-file limit.
pub const MAX_DEFAULT_CONNECTIONS: usize = 10_000;

/// Connections accepted past the cap and served one request each with [`RESERVED_HEADER_READ_TIMEOUT`],
/// so that probes and scrapes still answer while the regular slots are taken.
pub const RESERVED_SLOTS: usize = 8;

/// The header-read timeout of a connection in a reserved slot (or the listener's own, when shorter).
pub const RESERVED_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);

/// Refused connections answered 503 at once (the others are closed without an answer).
pub const SHEDDING_SLOTS: usize = 64;

/// The fewest file descriptors kept for everything but connections: the database, sources, watches, logs.
pub const FD_HEADROOM_MIN: u64 = 256;

/// How a listener treats its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's head: from the connection's start for its first
    /// request, from the request's first byte for the next ones. Past it the connection is closed.
    pub header_read_timeout: Duration,
    /// How long a connection may wait for its next request, and how long a response may make no progress
    /// (a client that stops reading). Past it the connection is closed.
    pub idle_timeout: Duration,
    /// Connections served at once. Past it, [`RESERVED_SLOTS`] more are served one request each; further
    /// ones are answered 503 with `Retry-After` and closed.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    /// [`DEFAULT_HEADER_READ_TIMEOUT`], [`DEFAULT_IDLE_TIMEOUT`] and [`default_max_connections`].
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

/// The soft open-file limit of this process (`RLIMIT_NOFILE`), `None` when unlimited or unknown.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The default connection cap under this process's open-file limit ([`max_connections_for`]).
pub fn default_max_connections() -> usize {
    max_connections_for(open_file_limit())
}

/// The connection cap for a soft open-file limit of `soft`: `soft - max(256, soft / 4) - 8 - 64` (the
/// headroom for other descriptors, the reserved and the shedding slots), between 1 and
/// [`MAX_DEFAULT_CONNECTIONS`]; [`MAX_DEFAULT_CONNECTIONS`] when there is no limit.
pub fn max_connections_for(soft: Option<u64>) -> usize {
    let Some(soft) = soft else {
        return MAX_DEFAULT_CONNECTIONS;
    };
    let kept = (soft / 4).max(FD_HEADROOM_MIN) + (RESERVED_SLOTS + SHEDDING_SLOTS) as u64;
    usize::try_from(soft.saturating_sub(kept)).unwrap_or(usize::MAX).clamp(1, MAX_DEFAULT_CONNECTIONS)
}

/// Why `max_connections` may run this process out of file descriptors under a soft limit of `soft`: the
/// connections, reserved and shedding slots plus [`FD_HEADROOM_MIN`] exceed it.
pub fn fd_limit_warning(max_connections: usize, soft: Option<u64>) -> Option<String> {
    let soft = soft?;
    let needed = (max_connections + RESERVED_SLOTS + SHEDDING_SLOTS) as u64 + FD_HEADROOM_MIN;
    (needed > soft).then(|| {
        format!(
            "{max_connections} connections (plus {RESERVED_SLOTS} reserved and {SHEDDING_SLOTS} shedding slots \
             and {FD_HEADROOM_MIN} descriptors for the rest) exceed the open-file limit of {soft}: accepting may \
             fail with EMFILE; lower the connection cap or raise the limit (ulimit -n)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{MAX_DEFAULT_CONNECTIONS, fd_limit_warning, max_connections_for};

    #[test]
    fn the_default_cap_leaves_room_under_the_open_file_limit() {
        // A quarter, at least 256, stays for the rest of the process, plus the reserved and shedding slots.
        assert_eq!(max_connections_for(Some(1024)), 1024 - 256 - 72);
        assert_eq!(max_connections_for(Some(4096)), 4096 - 1024 - 72);
        assert_eq!(max_connections_for(Some(20_000)), MAX_DEFAULT_CONNECTIONS);
        assert_eq!(max_connections_for(Some(1 << 20)), MAX_DEFAULT_CONNECTIONS);
        assert_eq!(max_connections_for(None), MAX_DEFAULT_CONNECTIONS);
        assert_eq!(max_connections_for(Some(100)), 1, "never zero");
        for soft in [1024, 4096, 13_000, 20_000, 1 << 20] {
            assert_eq!(fd_limit_warning(max_connections_for(Some(soft)), Some(soft)), None, "{soft}");
        }
    }

    #[test]
    fn a_cap_above_the_limit_is_named() {
        let warning = fd_limit_warning(5000, Some(1024)).expect("warned");
        assert!(warning.contains("5000 connections") && warning.contains("1024"), "{warning}");
        assert_eq!(fd_limit_warning(5000, None), None);
    }
}
