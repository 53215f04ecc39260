//! `thv registry serve`: the sync scheduler and the registry API server in one process.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use thv_store::SyncOutcome;
use thv_sync::Scheduler;

use crate::config::{Config, Locations};

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
                        Err(e) => eprintln!("error: reloading catalogs after a sync of {}: {e}", report.registry),
                    }
                }
                Ok(report) if report.outcome == SyncOutcome::Failed => eprintln!(
                    "warning: sync of {} failed, still serving its last good catalog: {}",
                    report.registry,
                    report.error.as_deref().unwrap_or("")
                ),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!("serving {} registries on http://{}", config.registries.len(), listener.local_addr()?);
    axum::serve(listener, thv_api::router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    eprintln!("shutting down");
    scheduler.stop().await;
    reloader.abort();
    Ok(ExitCode::SUCCESS)
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
