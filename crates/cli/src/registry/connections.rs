//! The connection flags of `thv registry serve`: the timeouts and the cap of [`thv_api::listener`].

use std::time::Duration;

use clap::Args;
use thv_api::listener::{ConnectionLimits, default_max_connections};

/// How the listener treats connections.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connections")]
pub struct ConnectionArgs {
    /// How long a client may take to send a request's head (from the connection's start, or from the first
    /// byte of a keep-alive connection's next request); then the connection is closed.
    #[arg(long, env = "THV_HEADER_READ_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request, and a response make no progress;
    /// then the connection is closed.
    #[arg(long, env = "THV_IDLE_TIMEOUT", value_parser = humantime::parse_duration, default_value = "60s")]
    pub idle_timeout: Duration,
    /// Connections served at once; past it 8 reserved slots serve one request each (probes, scrapes) and
    /// further connections get 503 with Retry-After [default: the open-file limit minus max(256, a quarter
    /// of it) minus 72, at most 10000].
    #[arg(long, env = "THV_MAX_CONNECTIONS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
}

impl ConnectionArgs {
    /// The listener's limits.
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections.map_or_else(default_max_connections, |n| n as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::ConnectionArgs;

    #[derive(Debug, Parser)]
    struct Serve {
        #[command(flatten)]
        args: ConnectionArgs,
    }

    #[test]
    fn the_flags_become_the_listener_limits() {
        let limits = Serve::try_parse_from(["serve"]).expect("defaults").args.limits();
        assert_eq!(
            (limits.header_read_timeout, limits.idle_timeout),
            (Duration::from_secs(10), Duration::from_secs(60))
        );
        assert_eq!(limits.max_connections, thv_api::listener::default_max_connections());
        let parsed = Serve::try_parse_from([
            "serve",
            "--header-read-timeout",
            "2s",
            "--idle-timeout",
            "500ms",
            "--max-connections",
            "300",
        ])
        .expect("flags");
        let limits = parsed.args.limits();
        assert_eq!(limits.header_read_timeout, Duration::from_secs(2));
        assert_eq!(limits.idle_timeout, Duration::from_millis(500));
        assert_eq!(limits.max_connections, 300);
        let error = Serve::try_parse_from(["serve", "--max-connections", "0"]).expect_err("zero");
        assert!(error.to_string().contains("--max-connections"), "{error}");
    }
}
