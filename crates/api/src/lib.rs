//! The HTTP API of thv-registry: the MCP Registry read API (`/v0.1`, `/v0`) for the aggregate of all
//! registries and per registry (`/registry/{name}/v0.1`, `/registry/{name}/v0`), served from an immutable
//! in-memory [`Snapshot`] that is swapped atomically after each sync ([`AppState::replace`]). The server
//! itself — store, auth, scheduler or read-only replica, listener — is started with [`ServerBuilder`]; its
//! connections (timeouts, a connection cap, graceful shutdown) are served by [`listener::serve`].

pub mod auth;
mod heap;
pub mod listener;
mod listing;
mod metrics;
pub mod openapi;
mod params;
mod problem;
mod reclaim;
mod rendered;
mod routes;
mod search;
pub mod server;
mod snapshot;
mod state;

pub use listing::Listing;
pub use metrics::{Exposition, Metrics, OPENMETRICS_TEXT, PROMETHEUS_TEXT};
pub use openapi::{openapi_document, openapi_json, openapi_yaml};
pub use params::BAD_UPDATED_SINCE;
pub use problem::{ENDPOINT_NOT_FOUND, ErrorDetail, PROBLEM_JSON, Problem};
pub use routes::{HttpOptions, MAX_REQUEST_ID_LEN, RequestId, X_REQUEST_ID, http_layers, router, router_with};
pub use server::{DEFAULT_CATALOG_POLL, ReloadHandle, Server, ServerBuilder, ServerError};
pub use snapshot::{Footprint, OFFICIAL_META, Record, RegistrySnapshot, Snapshot, load_snapshot, reload_snapshot};
pub use state::AppState;
