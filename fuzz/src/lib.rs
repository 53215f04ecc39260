//! Fixtures shared by the fuzz targets under `fuzz_targets/`: the catalog served by the API target, built from
//! `../shared/data` as a sync builds it, an identity provider on loopback for the token targets, and the
//! reading of a fuzz input as an HTTP request.
//!
//! Every fixture is built once per process; a fuzz target only reads it.

pub mod api;
pub mod catalog;
pub mod provider;
pub mod request;

/// The single-threaded runtime that drives the async code of each input; built once per process.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime for the fuzz target")
    })
}
