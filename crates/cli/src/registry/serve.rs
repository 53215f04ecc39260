//! `thv registry serve`: the sync scheduler and the registry API server in one process.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use thv_store::SyncOutcome;
use thv_sync::Scheduler;

use crate::config::{Config, Locations};
use crate::logging::LogFormat;

/// Arguments of `thv registry serve`.
#[derive(Debug, Args)]
#[command(after_help = "Serves the last good catalogs from the database at once, then keeps them fresh: each \
                        registry syncs on its own schedule and the API switches to a new catalog as soon as a \
                        sync commits it. SIGTERM or SIGINT (Ctrl-C) stops the server gracefully.\n\n\
                        Examples:\n  thv registry serve --config examples/registries.yaml --database /tmp/thv.db\n  \
                        curl -s 'http://127.0.0.1:8080/v0.1/servers?limit=2'")]
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
}

/// Runs the command until SIGTERM or SIGINT.
pub async fn run(args: &ServeArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let config = Config::load(&locations.config_path())?;
    let store = crate::store::open(locations).await?;
    let names: Vec<String> = config.registries.iter().map(|r| r.name.clone()).collect();
    let snapshot = thv_api::load_snapshot(store.as_ref(), &names).await.context("loading the stored catalogs")?;
    let state = thv_api::AppState::new(snapshot);
    for name in &names {
        if let Some(registry) = state.snapshot().registry(name) {
            state.metrics().set_servers(name, registry.records().len() as u64);
        }
    }
    state.set_store(Arc::clone(&store));
    state.set_ready(true);
    let scheduler = Scheduler::start(config.registries.clone(), Arc::clone(&store), locations.cache_dir());

    // Record every sync in the metrics, and swap in a new snapshot whenever a sync commits something.
    let mut reports = scheduler.subscribe();
    let reload_state = state.clone();
    let reload_store = Arc::clone(&store);
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
                    match thv_api::load_snapshot(reload_store.as_ref(), &names).await {
                        Ok(snapshot) => reload_state.replace(snapshot),
                        Err(e) => tracing::error!(
                            registry = %report.registry,
                            error = %e,
                            "reloading the catalogs after a sync failed, still serving the previous ones"
                        ),
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
