//! `thv registry serve`: the sync scheduler and the registry API server in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use thv_api::auth::{AuthConfig, DEFAULT_REFRESH_GAP, OidcConfig, OidcVerifier, TokenSource};
use thv_store::SyncOutcome;
use thv_sync::Scheduler;

use crate::config::{Config, Locations};
use crate::logging::LogFormat;
use crate::registry::token::default_token_file;

/// Arguments of `thv registry serve`.
#[derive(Debug, Args)]
#[command(after_help = "Serves the last good catalogs from the database at once, then keeps them fresh: each \
                        registry syncs on its own schedule and the API switches to a new catalog as soon as a \
                        sync commits it. SIGTERM or SIGINT (Ctrl-C) stops the server gracefully.\n\n\
                        Examples:\n  thv registry serve --config examples/registries.yaml --database /tmp/thv.db\n  \
                        curl -s 'http://127.0.0.1:8080/v0.1/servers?limit=2'\n  \
                        curl -s 'http://127.0.0.1:8080/api/v1/servers?tier=Official'\n  \
                        TOKEN=$(thv registry token create ci --scope write)\n  \
                        curl -s -X POST -H \"Authorization: Bearer $TOKEN\" \\\n      \
                        http://127.0.0.1:8080/api/v1/registries/platform/sync\n\n\
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
    /// Token file made by `thv registry token create` [default: $XDG_CONFIG_HOME/thv/tokens, when it exists].
    #[arg(long, env = "THV_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Accept OIDC JWTs from this issuer (its discovery document names the keys).
    #[arg(long, env = "THV_OIDC_ISSUER", value_name = "URL", requires = "oidc_audience")]
    pub oidc_issuer: Option<String>,
    /// The audience OIDC tokens must carry.
    #[arg(long, env = "THV_OIDC_AUDIENCE", value_name = "AUD", requires = "oidc_issuer")]
    pub oidc_audience: Option<String>,
    /// The provider's JWKS URL, when it has no discovery document.
    #[arg(long, env = "THV_OIDC_JWKS_URL", value_name = "URL")]
    pub oidc_jwks_url: Option<String>,
    /// The scope, role or group that allows writes (found in scope, scp, roles, groups or permissions).
    #[arg(long, env = "THV_OIDC_WRITE_SCOPE", default_value = "registry:write")]
    pub oidc_write_scope: String,
}

impl AuthArgs {
    /// The server's authentication settings.
    fn load(&self) -> anyhow::Result<AuthConfig> {
        let token_file = self.token_file.clone().or_else(|| Some(default_token_file()).filter(|p| p.is_file()));
        let tokens = token_file.map(|path| TokenSource::watch(&path).map(Arc::new)).transpose()?;
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
        Ok(AuthConfig { anonymous_reads: !self.require_auth_for_reads, tokens, oidc })
    }
}

/// Runs the command until SIGTERM or SIGINT.
pub async fn run(args: &ServeArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let config = Config::load(&locations.config_file()?)?;
    let auth = args.auth.load()?;
    let store = crate::store::open(locations).await?;
    let state = thv_api::AppState::new(thv_api::Snapshot::default());
    state.set_store(Arc::clone(&store));
    state.set_registries(config.registries.clone());
    state.set_auth(auth);
    state.reload().await.context("loading the stored catalogs")?;
    for spec in &config.registries {
        if let Some(registry) = state.snapshot().registry(&spec.name) {
            state.metrics().set_servers(&spec.name, registry.records().len() as u64);
        }
    }
    let scheduler = Scheduler::start(config.registries.clone(), Arc::clone(&store), locations.cache_dir());
    state.set_scheduler(scheduler.handle());
    state.set_ready(true);

    // Record every sync in the metrics, and swap in a new snapshot whenever a sync commits something.
    let mut reports = scheduler.subscribe();
    let reload_state = state.clone();
    let reloader = tokio::spawn(async move {
        loop {
            let received = reports.recv().await;
            if let Ok(report) = &received {
                if report.outcome != SyncOutcome::Failed {
                    tracing::info!(
                        registry = %report.registry,
                        outcome = report.outcome.as_str(),
                        duration_ms = millis(report.duration),
                        servers = report.counts.total,
                        "sync finished"
                    );
                }
                reload_state.metrics().record_sync(
                    &report.registry,
                    report.outcome.as_str(),
                    report.duration.as_secs_f64(),
                    report.counts.total,
                    jiff::Timestamp::now().as_second(),
                );
            }
            match received {
                Ok(report) if report.outcome == SyncOutcome::Success => {
                    if let Err(e) = reload_state.reload().await {
                        tracing::error!(
                            registry = %report.registry,
                            error = %e,
                            "reloading the catalogs after a sync failed, still serving the previous ones"
                        );
                    }
                }
                Ok(report) if report.outcome == SyncOutcome::Failed => tracing::warn!(
                    registry = %report.registry,
                    outcome = report.outcome.as_str(),
                    duration_ms = millis(report.duration),
                    error = report.error.as_deref().unwrap_or(""),
                    "sync failed, still serving the registry's last good catalog"
                ),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = format!("http://{}", listener.local_addr()?);
    tracing::info!(registries = config.registries.len(), %address, "serving");
    let options = thv_api::HttpOptions { request_timeout: args.request_timeout, ..thv_api::HttpOptions::default() };
    axum::serve(listener, thv_api::router_with(state, options)).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("shutting down");
    scheduler.stop().await;
    reloader.abort();
    Ok(ExitCode::SUCCESS)
}

/// `duration` in whole milliseconds, for log fields.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
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
