//! The filter as plain data: what users write in configs and CRDs.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::compiled::CompiledFilter;
use super::fold::fold;

/// Which servers to keep: `exclude` wins, then every non-empty `include` list must match.
///
/// See the [module documentation](crate::filter) for the exact rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// Servers must match every non-empty list here (one value per list suffices).
    #[serde(default, skip_serializing_if = "Criteria::is_empty")]
    pub include: Criteria,
    /// Servers matching any value of any list here are dropped.
    #[serde(default, skip_serializing_if = "Criteria::is_empty")]
    pub exclude: Criteria,
}

/// One side of a filter: a list of values per kind of fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Criteria {
    /// Name globs (`*`, `?`), case-sensitive; without `/` they also match the short name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// ToolHive tags, case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// ToolHive tiers (`Official`, `Community`), case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<String>,
    /// Transport types (`stdio`, `streamable-http`, `sse`), case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
    /// Categories from ToolHive's `custom_metadata`, case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

/// The kinds of facts a filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CriterionKind {
    /// Server name globs.
    Names,
    /// ToolHive tags.
    Tags,
    /// ToolHive tier.
    Tiers,
    /// Package and remote transport types.
    Transports,
    /// ToolHive categories.
    Categories,
}

impl CriterionKind {
    /// Every kind, in the order filters check them.
    pub const ALL: [Self; 5] = [Self::Names, Self::Tags, Self::Tiers, Self::Transports, Self::Categories];

    /// The field name in configs (`names`, `tags`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Names => "names",
            Self::Tags => "tags",
            Self::Tiers => "tiers",
            Self::Transports => "transports",
            Self::Categories => "categories",
        }
    }

    /// Whether values of this kind compare case-insensitively (all but names).
    pub fn is_case_insensitive(self) -> bool {
        self != Self::Names
    }
}

impl fmt::Display for CriterionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filter value that cannot be what the user meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// An empty or blank value, which would match nothing (or, as a name glob, only nameless servers).
    #[error("filter.{side}.{kind}[{index}] is empty; remove it or write a value")]
    Empty {
        /// `include` or `exclude`.
        side: &'static str,
        /// The list it is in.
        kind: CriterionKind,
        /// Its position in the list.
        index: usize,
    },
    /// A value with leading or trailing whitespace, which would never match.
    #[error("filter.{side}.{kind}[{index}] {value:?} has surrounding whitespace; remove it")]
    Whitespace {
        /// `include` or `exclude`.
        side: &'static str,
        /// The list it is in.
        kind: CriterionKind,
        /// Its position in the list.
        index: usize,
        /// The value as written.
        value: String,
    },
}

impl Criteria {
    /// Whether every list is empty.
    pub fn is_empty(&self) -> bool {
        CriterionKind::ALL.iter().all(|&k| self.values(k).is_empty())
    }

    /// The list of one kind.
    pub fn values(&self, kind: CriterionKind) -> &[String] {
        match kind {
            CriterionKind::Names => &self.names,
            CriterionKind::Tags => &self.tags,
            CriterionKind::Tiers => &self.tiers,
            CriterionKind::Transports => &self.transports,
            CriterionKind::Categories => &self.categories,
        }
    }

    fn values_mut(&mut self, kind: CriterionKind) -> &mut Vec<String> {
        match kind {
            CriterionKind::Names => &mut self.names,
            CriterionKind::Tags => &mut self.tags,
            CriterionKind::Tiers => &mut self.tiers,
            CriterionKind::Transports => &mut self.transports,
            CriterionKind::Categories => &mut self.categories,
        }
    }

    /// The same criteria with case-insensitive values lower-cased and every list sorted and deduplicated.
    pub fn normalized(&self) -> Self {
        let mut out = self.clone();
        for kind in CriterionKind::ALL {
            let list = out.values_mut(kind);
            if kind.is_case_insensitive() {
                for v in list.iter_mut() {
                    *v = fold(v);
                }
            }
            list.sort_unstable();
            list.dedup();
        }
        out
    }

    fn validate(&self, side: &'static str) -> Result<(), FilterError> {
        for kind in CriterionKind::ALL {
            for (index, value) in self.values(kind).iter().enumerate() {
                if value.trim().is_empty() {
                    return Err(FilterError::Empty { side, kind, index });
                }
                if value.trim() != value {
                    return Err(FilterError::Whitespace { side, kind, index, value: value.clone() });
                }
            }
        }
        Ok(())
    }
}

impl Filter {
    /// Whether the filter keeps everything (no include and no exclude values).
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Compiles the filter for repeated matching. Never fails: every string is a valid glob.
    pub fn compile(&self) -> CompiledFilter {
        CompiledFilter::new(self)
    }

    /// Rejects values that cannot be what the user meant: empty or blank values, and values with
    /// surrounding whitespace. [`Filter::compile`] accepts them anyway.
    pub fn validate(&self) -> Result<(), FilterError> {
        self.include.validate("include")?;
        self.exclude.validate("exclude")
    }

    /// The same filter in normal form: case-insensitive values lower-cased, lists sorted and
    /// deduplicated. Two filters with the same normal form keep the same servers.
    pub fn normalized(&self) -> Self {
        Self { include: self.include.normalized(), exclude: self.exclude.normalized() }
    }

    /// SHA-256 (lower-case hex, no prefix) of the canonical JSON of the [normal form](Filter::normalized).
    ///
    /// Stable across releases and independent of list order, duplicates and the case of
    /// case-insensitive values, so a changed digest means a changed filter (and forces a rebuild).
    pub fn digest(&self) -> String {
        crate::digest::sha256_hex_of(&self.normalized())
    }
}
