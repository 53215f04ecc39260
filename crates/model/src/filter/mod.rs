//! Catalog filters: which servers of a source a registry keeps.
//!
//! A [`Filter`] is plain data (it appears in YAML configs and the `MCPRegistry` CRD). It is compiled once
//! into a [`CompiledFilter`], which decides per server version from the [`ServerFacts`] of its
//! `server.json`.
//!
//! # Semantics
//!
//! 1. **Exclude wins.** A server matching *any* value of *any* exclude list is dropped.
//! 2. Then every **non-empty** include list must be matched by at least one of its values: AND across
//!    kinds, OR within one kind. An empty include list places no condition.
//! 3. **Names** are globs: `*` matches any run of characters, including `/`; `?` matches one character.
//!    They are matched case-sensitively against the full name (`io.github.stacklok/fetch`); a pattern
//!    without `/` is also tried against the short name (`fetch`, the part after the single `/`).
//! 4. **Tags, tiers, transports, categories** are exact, case-insensitive comparisons.
//!    - tags and tier come from ToolHive's extension (`_meta` → publisher-provided →
//!      `io.github.stacklok`), found as [`find_extension`](crate::toolhive::find_extension) finds it;
//!    - categories come from the extension's `custom_metadata.category` (a string) and
//!      `custom_metadata.categories` (an array of strings);
//!    - transports are every package transport `type` and every remote `type`.
//!
//!    A server without a tier never matches a tier value, so an include `tiers` list drops it and an
//!    exclude `tiers` list keeps it. The same holds for servers without tags or categories.
//!
//! See `docs/filters.md` for examples.

mod apply;
mod compiled;
mod facts;
mod fold;
mod glob;
mod spec;

pub use crate::names::short_name;
pub use apply::{DropReason, Dropped, FilterOutcome};
pub use compiled::{CompiledFilter, Decision};
pub use facts::ServerFacts;
pub use spec::{Criteria, CriterionKind, Filter, FilterError};
