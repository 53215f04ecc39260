//! `thv registry serve`: the sync scheduler and the registry API server in one process. Only the arguments
//! live here; the server is [`thv_api::ServerBuilder`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use thv_api::ServerBuilder;
use thv_api::auth::{AuthConfig, DEFAULT_REFRESH_GAP, OidcConfig, OidcVerifier, TokenSource};

use crate::config::{Config, Locations};
use crate::logging::LogFormat;
use crate::registry::connections::ConnectionArgs;
use crate::registry::token::default_token_file;

/// Arguments of `thv registry serve`.
#[derive(Debug, Args)]
#[command(after_help = "Serves the last good catalogs from the database at once, then keeps them fresh: each \
                        registry syncs on its own schedule and the API switches to a new catalog as soon as a \
                        sync commits it. SIGTERM or SIGINT (Ctrl-C) stops the server gracefully.\n\n\
                        Several replicas may serve one PostgreSQL database: one at a time syncs each registry \
                        (a lease in the database), and every replica serves each commit within moments \
                        (docs/storage.md#replicas). The password comes from THV_DATABASE_PASSWORD_FILE, \
                        PGPASSWORD or ~/.pgpass.\n\n\
                        Examples:\n  thv registry serve --config examples/registries.yaml --database /tmp/thv.db\n  \
                        curl -s 'http://127.0.0.1:8080/v0.1/servers?limit=2'\n  \
                        curl -s 'http://127.0.0.1:8080/api/v1/servers?tier=Official'\n  \
                        TOKEN=$(thv registry token create ci --scope write)\n  \
                        curl -s -X POST -H \"Authorization: Bearer $TOKEN\" \\\n      \
                        http://127.0.0.1:8080/api/v1/registries/platform/sync\n  \
                        thv --database postgres://thv@db.internal/registry registry serve \\\n      \
                        --listen 0.0.0.0:8080 --replica-id \"$HOSTNAME\"\n\n\
                        Routes, auth and headers: docs/api.md; the OpenAPI document is served at /openapi.yaml.")]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "THV_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Log format on stderr: one JSON object per line, or text. The level comes from THV_LOG (else
    /// RUST_LOG), e.g. `info`, `warn`, `thv::http=off`; default info.
    #[arg(long, env = "THV_LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,
    /// How long a request may take before it is answered 503 (e.g. 30s, 500ms).
    #[arg(long, env = "THV_REQUEST_TIMEOUT", value_parser = humantime::parse_duration, default_value = "30s")]
    pub request_timeout: Duration,
    /// This replica's id when several serve one database: the holder named in sync leases and the
    /// `replica` label of `thv_sync_lease_held` [default: HOSTNAME:PID].
    #[arg(long, env = "THV_REPLICA_ID", value_name = "ID", value_parser = parse_replica_id)]
    pub replica_id: Option<String>,
    /// How often the database's catalog versions are compared with the served ones: the fallback for
    /// PostgreSQL change notifications, and how a commit by another process on one SQLite file is seen.
    #[arg(long, env = "THV_CATALOG_POLL_INTERVAL", value_name = "DURATION", value_parser = humantime::parse_duration,
        default_value = "30s")]
    pub catalog_poll_interval: Duration,
    #[command(flatten)]
    pub connections: ConnectionArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// Who may call the API.
#[derive(Debug, Args)]
#[command(next_help_heading = "Authentication")]
pub struct AuthArgs {
    /// Require a bearer token for reads too (writes always need one).
    #[arg(long, env = "THV_REQUIRE_AUTH_FOR_READS")]
    pub require_auth_for_reads: bool,
    /// Token file made by `thv registry token create` [default: $XDG_CONFIG_HOME/thv/tokens]. Watched: a
    /// file created, edited or deleted while the server runs applies within 2 s.
    #[arg(long, env = "THV_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Accept OIDC JWTs from this issuer (its discovery document names the keys).
    #[arg(long, env = "THV_OIDC_ISSUER", value_name = "URL", requires = "oidc_audience")]
    pub oidc_issuer: Option<String>,
    /// The audience OIDC tokens must carry.
    #[arg(long, env = "THV_OIDC_AUDIENCE", value_name = "AUD", requires = "oidc_issuer")]
    pub oidc_audience: Option<String>,
    /// The provider's JWKS URL, when it has no discovery document.
    #[arg(long, env = "THV_OIDC_JWKS_URL", value_name = "URL", requires = "oidc_issuer")]
    pub oidc_jwks_url: Option<String>,
    /// The scope, role or group that allows writes (found in scope, scp, roles, groups or permissions).
    #[arg(long, env = "THV_OIDC_WRITE_SCOPE", default_value = "registry:write", requires = "oidc_issuer")]
    pub oidc_write_scope: String,
}

impl AuthArgs {
    /// The server's authentication settings.
    fn load(&self) -> anyhow::Result<AuthConfig> {
        let path = self.token_file.clone().unwrap_or_else(default_token_file);
        let tokens = Arc::new(TokenSource::watch(&path)?);
        if tokens.is_empty() {
            tracing::info!(path = %path.display(), "no API token yet; the token file is watched for new ones");
        }
        let oidc = match (&self.oidc_issuer, &self.oidc_audience) {
            (Some(issuer), Some(audience)) => Some(Arc::new(OidcVerifier::new(OidcConfig {
                issuer: issuer.clone(),
                audience: audience.clone(),
                jwks_url: self.oidc_jwks_url.clone(),
                write_scope: self.oidc_write_scope.clone(),
                refresh_gap: DEFAULT_REFRESH_GAP,
            })?)),
            _ => None,
        };
        Ok(AuthConfig { anonymous_reads: !self.require_auth_for_reads, tokens: Some(tokens), oidc })
    }
}

/// Runs the command until SIGTERM or SIGINT.
pub async fn run(args: &ServeArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let config = Config::load(&locations.config_file()?)?;
    let auth = args.auth.load()?;
    let store = crate::store::open(locations).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let options = thv_api::HttpOptions { request_timeout: args.request_timeout, ..thv_api::HttpOptions::default() };
    let replica_id = args.replica_id.clone().unwrap_or_else(thv_sync::default_replica_id);
    let server = ServerBuilder::new(store, config.registries)
        .auth(auth)
        .http_options(options)
        .connection_limits(args.connections.limits())
        .replica_id(replica_id)
        .catalog_poll_interval(args.catalog_poll_interval)
        .scheduler(locations.cache_dir())
        .start()
        .await?;
    server.run(listener, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

fn parse_replica_id(text: &str) -> Result<String, String> {
    thv_sync::check_replica_id(text).map(|()| text.to_owned())
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::ServeArgs;

    #[derive(Debug, Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    #[test]
    fn oidc_options_need_an_issuer() {
        for option in [["--oidc-jwks-url", "https://idp.example/keys"], ["--oidc-write-scope", "admin"]] {
            let error = Serve::try_parse_from(["serve", option[0], option[1]]).expect_err(option[0]);
            assert!(error.to_string().contains("--oidc-issuer"), "{option:?}: {error}");
        }
        let parsed = Serve::try_parse_from([
            "serve",
            "--oidc-issuer",
            "https://idp.example",
            "--oidc-audience",
            "thv",
            "--oidc-jwks-url",
            "https://idp.example/keys",
        ])
        .expect("with an issuer");
        assert_eq!(parsed.args.auth.oidc_jwks_url.as_deref(), Some("https://idp.example/keys"));
        assert!(Serve::try_parse_from(["serve"]).is_ok(), "the write scope's default needs no issuer");
    }
}
