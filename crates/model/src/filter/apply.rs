//! Applying a compiled filter to a catalog, recording what it dropped and why.

use std::fmt;

use super::compiled::{CompiledFilter, Decision};
use super::spec::CriterionKind;
use crate::catalog::Catalog;
use crate::upstream::ServerResponse;

/// The result of filtering a catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterOutcome {
    /// The catalog with only the kept entries, in their original order. File-level information
    /// (groups included) is unchanged.
    pub kept: Catalog,
    /// The dropped server versions, in their original order.
    pub dropped: Vec<Dropped>,
}

/// One server version a filter dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Full name, `""` when absent.
    pub name: String,
    /// Version, `""` when absent.
    pub version: String,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// Why a filter dropped a server version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// An exclude value matched.
    Excluded {
        /// The list it is in.
        kind: CriterionKind,
        /// The value as written in the filter.
        value: String,
    },
    /// A non-empty include list had no matching value.
    NotIncluded {
        /// The first such list.
        kind: CriterionKind,
    },
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Excluded { kind, value } => write!(f, "excluded by {kind} value {value:?}"),
            Self::NotIncluded { kind } => write!(f, "matches no include {kind} value"),
        }
    }
}

impl DropReason {
    fn from_decision(decision: Decision<'_>) -> Option<Self> {
        match decision {
            Decision::Keep => None,
            Decision::Excluded { kind, value } => Some(Self::Excluded { kind, value: value.to_owned() }),
            Decision::NotIncluded { kind } => Some(Self::NotIncluded { kind }),
        }
    }
}

impl FilterOutcome {
    /// Distinct names with at least one dropped version, sorted. Other versions of such a name may
    /// have been kept (facts such as tags can differ between versions).
    pub fn dropped_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.dropped.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

impl CompiledFilter {
    /// Splits entries into kept ones (original order) and dropped ones with their reasons.
    pub fn partition(&self, entries: Vec<ServerResponse>) -> (Vec<ServerResponse>, Vec<Dropped>) {
        if self.is_empty() {
            return (entries, Vec::new());
        }
        let mut kept = Vec::with_capacity(entries.len());
        let mut dropped = Vec::new();
        for entry in entries {
            match DropReason::from_decision(self.decide(&entry.server)) {
                None => kept.push(entry),
                Some(reason) => dropped.push(Dropped {
                    name: entry.server.name_str().to_owned(),
                    version: entry.server.version_str().to_owned(),
                    reason,
                }),
            }
        }
        (kept, dropped)
    }

    /// Filters a catalog: the kept entries with the file-level information, and what was dropped.
    pub fn apply(&self, catalog: Catalog) -> FilterOutcome {
        let (entries, dropped) = self.partition(catalog.entries);
        FilterOutcome { kept: Catalog { info: catalog.info, entries }, dropped }
    }
}
