//! The ToolHive API's registry routes: status (`GET /api/v1/registries`, `GET /api/v1/registries/{registry}`),
//! recent change sets (`GET /api/v1/registries/{registry}/changes`) and manual syncs
//! (`POST /api/v1/registries/{registry}/sync`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use thv_store::{Change, Counts, RegistryState, Store, SyncOutcome, SyncRun};
use thv_sync::{RegistrySpec, RegistryStatus, SyncPolicy, ValidationPolicy};

use super::servers::json;
use crate::auth::Caller;
use crate::params::RawQuery as Query;
use crate::problem::Problem;
use crate::state::AppState;

/// How long `POST …/sync` waits for the sync by default before answering 202, in seconds.
const DEFAULT_WAIT_SECONDS: u64 = 20;
/// The longest wait a client may ask for.
const MAX_WAIT_SECONDS: u64 = 25;
/// Change sets listed by default, and at most.
const DEFAULT_CHANGE_SETS: u64 = 10;
const MAX_CHANGE_SETS: u64 = 100;
/// Runs looked at to find change sets.
const RUNS_SCANNED: u32 = 1000;

/// Where a registry's catalog comes from, without credentials.
#[derive(Debug, Serialize)]
struct SourceView {
    #[serde(rename = "type")]
    kind: &'static str,
    location: String,
}

/// A registry as `GET /api/v1/registries` describes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RegistryView<'a> {
    name: &'a str,
    source: SourceView,
    format: Value,
    sync_policy: &'a SyncPolicy,
    #[serde(skip_serializing_if = "Value::is_null")]
    filter: Value,
    validation: &'a ValidationPolicy,
    /// `pending`, `ready`, `failing` or `stalled` ([`RegistryStatus`]).
    status: RegistryStatus,
    last_sync_time: Option<&'a str>,
    last_attempt_time: Option<&'a str>,
    failed_attempts: u32,
    last_error: Option<&'a str>,
    revision: Option<&'a str>,
    digest: Option<&'a str>,
    /// Server versions served.
    server_count: u64,
    /// Distinct server names served.
    server_names: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    recent_runs: Option<Vec<SyncRun>>,
}

fn view<'a>(app: &AppState, spec: &'a RegistrySpec, state: Option<&'a RegistryState>) -> RegistryView<'a> {
    let names = app.snapshot().registry(&spec.name).map_or(0, |s| s.name_count());
    RegistryView {
        name: &spec.name,
        source: SourceView { kind: spec.source.kind(), location: spec.source.location() },
        format: serde_json::to_value(spec.format).unwrap_or(Value::Null),
        sync_policy: &spec.sync_policy,
        filter: if spec.filter.is_empty() {
            Value::Null
        } else {
            serde_json::to_value(&spec.filter).unwrap_or_default()
        },
        validation: &spec.validation,
        status: RegistryStatus::of(state),
        last_sync_time: state.and_then(|s| s.last_success_at.as_deref()),
        last_attempt_time: state.and_then(|s| s.last_attempt_at.as_deref()),
        failed_attempts: state.map_or(0, |s| s.failed_attempts),
        last_error: state.and_then(|s| s.last_error.as_deref()),
        revision: state.and_then(|s| s.revision.as_deref()),
        digest: state.and_then(|s| s.content_digest.as_deref()),
        server_count: state.map_or(0, |s| s.server_count),
        server_names: names,
        recent_runs: None,
    }
}

fn store_of(state: &AppState) -> Result<&Arc<dyn Store>, Problem> {
    state.store().ok_or_else(|| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "This server has no database to read."))
}

fn spec_of(state: &AppState, name: &str) -> Result<RegistrySpec, Problem> {
    state.registries().iter().find(|spec| spec.name == name).cloned().ok_or_else(|| Problem::unknown_registry(name))
}

fn store_failed(e: thv_store::StoreError) -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, format!("The database failed: {e}"))
}

fn to_json(body: &impl Serialize) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => json(text),
        Err(e) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `GET /api/v1/registries`: every configured registry with its sync status.
#[utoipa::path(
    get,
    path = "/api/v1/registries",
    operation_id = "listRegistries",
    tag = "registries",
    summary = "List registries and their sync status",
    responses(
        (status = 200, description = "The configured registries.", body = crate::openapi::toolhive_schemas::RegistryList),
        (status = 503, description = "The database is not available.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(State(app): State<AppState>) -> Response {
    async {
        let states = store_of(&app)?.registry_states().await.map_err(store_failed)?;
        let specs = app.registries();
        let views: Vec<RegistryView<'_>> =
            specs.iter().map(|spec| view(&app, spec, states.iter().find(|s| s.registry == spec.name))).collect();
        Ok::<_, Problem>(to_json(&serde_json::json!({"registries": views, "count": views.len()})))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/v1/registries/{registry}`: one registry's status and its last ten sync runs.
#[utoipa::path(
    get,
    path = "/api/v1/registries/{registry}",
    operation_id = "getRegistry",
    tag = "registries",
    summary = "One registry's status and recent sync runs",
    params(("registry" = String, Path, description = "Registry name.")),
    responses(
        (status = 200, description = "The registry.", body = crate::openapi::toolhive_schemas::RegistryStatus),
        (status = 404, description = "The registry is unknown.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not available.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(State(app): State<AppState>, Path(name): Path<String>) -> Response {
    async {
        let spec = spec_of(&app, &name)?;
        let store = store_of(&app)?;
        let state = store.registry_state(&name).await.map_err(store_failed)?;
        let runs = store.runs(&name, 10).await.map_err(store_failed)?;
        let mut shown = view(&app, &spec, state.as_ref());
        shown.recent_runs = Some(runs);
        Ok::<_, Problem>(to_json(&shown))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// One change set of `GET /api/v1/registries/{registry}/changes`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangeSet {
    run_id: i64,
    started_at: String,
    finished_at: String,
    revision: Option<String>,
    digest: Option<String>,
    counts: Counts,
    changes: Vec<Change>,
}

/// `GET /api/v1/registries/{registry}/changes?limit=N`: the change sets of the last N syncs that changed the
/// catalog (newest first; N 1–100, default 10).
#[utoipa::path(
    get,
    path = "/api/v1/registries/{registry}/changes",
    operation_id = "listRegistryChanges",
    tag = "registries",
    summary = "Change sets of recent syncs",
    params(
        ("registry" = String, Path, description = "Registry name."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many change sets (default 10)."),
    ),
    responses(
        (status = 200, description = "The change sets, newest first.", body = crate::openapi::toolhive_schemas::ChangeSets),
        (status = 404, description = "The registry is unknown.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not available.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn changes(State(app): State<AppState>, Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    async {
        spec_of(&app, &name)?;
        let limit = Query::parse(query.as_deref()).bounded("limit", DEFAULT_CHANGE_SETS, 1..=MAX_CHANGE_SETS)?;
        let store = store_of(&app)?;
        let runs = store.runs(&name, RUNS_SCANNED).await.map_err(store_failed)?;
        let mut sets = Vec::new();
        for run in runs
            .into_iter()
            .filter(|r| r.outcome == SyncOutcome::Success)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            let changes = store.changes(&name, run.id).await.map_err(store_failed)?;
            sets.push(ChangeSet {
                run_id: run.id,
                started_at: run.started_at,
                finished_at: run.finished_at,
                revision: run.revision,
                digest: run.digest,
                counts: run.counts,
                changes,
            });
        }
        Ok::<_, Problem>(to_json(&serde_json::json!({"registry": name, "changeSets": sets})))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/v1/registries/{registry}/sync?wait=SECONDS`: syncs the registry now. Answers 200 with the sync
/// report when it finishes within `wait` (default 20, at most 25; 0 = do not wait) — once the new catalog
/// is being served —, 502 when it failed (the last good catalog is still served), or 202 while it is still
/// running.
#[utoipa::path(
    post,
    path = "/api/v1/registries/{registry}/sync",
    operation_id = "syncRegistry",
    tag = "registries",
    summary = "Sync a registry now",
    description = "Needs a bearer token with the write scope. Waits for the sync up to `wait` seconds.",
    params(
        ("registry" = String, Path, description = "Registry name."),
        ("wait" = Option<i64>, Query, minimum = 0, maximum = 25, description = "Seconds to wait for the sync (default 20; 0 = do not wait)."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The sync finished (`success` or `unchanged`); its catalog is being served.",
            body = crate::openapi::toolhive_schemas::SyncDone),
        (status = 202, description = "The sync is still running.", body = crate::openapi::toolhive_schemas::SyncRunning,
            headers(("location" = String, description = "The registry's status URL."))),
        (status = 401, description = "No token, or the token was refused (`WWW-Authenticate: Bearer`).", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the write scope.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The registry is unknown.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`wait` out of range.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The sync failed; the last good catalog is still served.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 503, description = "This server runs no syncs, is stopping, or cannot reach the identity provider to \
            check an OIDC token.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sync(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    caller: Option<axum::Extension<Caller>>,
) -> Response {
    async {
        spec_of(&app, &name)?;
        let wait = Duration::from_secs(Query::parse(query.as_deref()).bounded(
            "wait",
            DEFAULT_WAIT_SECONDS,
            0..=MAX_WAIT_SECONDS,
        )?);
        let scheduler = app
            .scheduler()
            .ok_or_else(|| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "This server does not run syncs."))?;
        let report = scheduler
            .trigger(&name)
            .await
            .ok_or_else(|| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "The scheduler is stopping."))?;
        let by = caller.map(|axum::Extension(c)| c.subject).unwrap_or_else(|| "anonymous".to_owned());
        tracing::info!(registry = %name, requested_by = %by, "manual sync requested");
        // `wait=0` answers 202 at once, even if a quick sync already finished.
        let finished = if wait.is_zero() { Err(()) } else { tokio::time::timeout(wait, report).await.map_err(|_| ()) };
        match finished {
            Ok(Ok(report)) if report.outcome == SyncOutcome::Failed => Err(Problem::new(
                StatusCode::BAD_GATEWAY,
                format!(
                    "The sync of {name} failed; the last good catalog is still served: {}",
                    report.error.as_deref().unwrap_or("unknown error")
                ),
            )),
            Ok(Ok(report)) => {
                // Serve the new catalog before answering, so that the caller's next read sees it.
                if report.outcome == SyncOutcome::Success {
                    app.reload().await.map_err(store_failed)?;
                }
                Ok(to_json(&serde_json::json!({"requestedBy": by, "report": report})))
            }
            Ok(Err(_)) => Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "The scheduler stopped during the sync.")),
            Err(_) => {
                let mut response = (
                    StatusCode::ACCEPTED,
                    serde_json::json!({"registry": name, "status": "running", "requestedBy": by}).to_string(),
                )
                    .into_response();
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/registries/{name}")) {
                    headers.insert(header::LOCATION, location);
                }
                Ok(response)
            }
        }
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}
