//! placeholder docs
mod error;
mod fields;
mod kinds;
mod log;
mod patch;
mod route;
mod selector;
mod server;
mod store;
mod validate;

pub use error::{ApiError, FieldCause};
pub use kinds::ResourceKind;
pub use log::{Fault, FaultEffect, RequestRecord};
pub use patch::PatchType;
pub use route::Verb;
pub use server::{Builder, FakeApiServer, FakeError, ResponseBody};
pub use validate::{MAX_DATA_BYTES, MAX_OBJECT_BYTES, MAX_REQUEST_BYTES};
