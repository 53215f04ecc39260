//! A filter prepared for matching many servers: globs built and values case-folded once.

use super::facts::{Needs, ServerFacts};
use super::fold::{eq_folded, fold};
use super::glob::Glob;
use super::spec::{Criteria, CriterionKind, Filter};
use crate::upstream::ServerJson;

/// A [`Filter`] ready to match servers. Build it with [`Filter::compile`] and reuse it.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    include: CompiledCriteria,
    exclude: CompiledCriteria,
    /// The facts worth reading for this filter.
    needs: Needs,
}

/// What a filter decided about one server version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'f> {
    /// The server passes.
    Keep,
    /// An exclude value matched.
    Excluded {
        /// The list it is in.
        kind: CriterionKind,
        /// The value as written in the filter.
        value: &'f str,
    },
    /// A non-empty include list had no matching value.
    NotIncluded {
        /// The first such list.
        kind: CriterionKind,
    },
}

impl Decision<'_> {
    /// Whether the server passes.
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }
}

#[derive(Debug, Clone, Default)]
struct CompiledCriteria {
    names: Vec<NameGlob>,
    tags: Vec<Exact>,
    tiers: Vec<Exact>,
    transports: Vec<Exact>,
    categories: Vec<Exact>,
}

#[derive(Debug, Clone)]
struct NameGlob {
    source: String,
    glob: Glob,
    /// The pattern has no `/`, so it is also tried against the short name.
    short_too: bool,
}

#[derive(Debug, Clone)]
struct Exact {
    source: String,
    folded: String,
}

impl NameGlob {
    fn matches(&self, facts: &ServerFacts<'_>) -> bool {
        self.glob.matches(facts.name) || (self.short_too && facts.short_name.is_some_and(|s| self.glob.matches(s)))
    }
}

impl Exact {
    fn new(source: &str) -> Self {
        Self { source: source.to_owned(), folded: fold(source) }
    }

    fn matches_any(&self, candidates: &[&str]) -> bool {
        candidates.iter().any(|c| eq_folded(c, &self.folded))
    }
}

impl CompiledCriteria {
    fn new(criteria: &Criteria) -> Self {
        let exact = |values: &[String]| values.iter().map(|v| Exact::new(v)).collect();
        Self {
            names: criteria
                .names
                .iter()
                .map(|p| NameGlob { source: p.clone(), glob: Glob::new(p), short_too: !p.contains('/') })
                .collect(),
            tags: exact(&criteria.tags),
            tiers: exact(&criteria.tiers),
            transports: exact(&criteria.transports),
            categories: exact(&criteria.categories),
        }
    }

    fn is_empty(&self) -> bool {
        self.names.is_empty()
            && self.tags.is_empty()
            && self.tiers.is_empty()
            && self.transports.is_empty()
            && self.categories.is_empty()
    }

    /// The first value of `kind` that the facts match, if any. `None` also when the list is empty.
    fn first_match<'f>(&'f self, kind: CriterionKind, facts: &ServerFacts<'_>) -> Option<&'f str> {
        let exact = |list: &'f [Exact], candidates: &[&str]| {
            list.iter().find(|e| e.matches_any(candidates)).map(|e| e.source.as_str())
        };
        match kind {
            CriterionKind::Names => self.names.iter().find(|g| g.matches(facts)).map(|g| g.source.as_str()),
            CriterionKind::Tags => exact(&self.tags, &facts.tags),
            CriterionKind::Tiers => exact(&self.tiers, facts.tier.as_slice()),
            CriterionKind::Transports => exact(&self.transports, &facts.transports),
            CriterionKind::Categories => exact(&self.categories, &facts.categories),
        }
    }

    fn has(&self, kind: CriterionKind) -> bool {
        match kind {
            CriterionKind::Names => !self.names.is_empty(),
            CriterionKind::Tags => !self.tags.is_empty(),
            CriterionKind::Tiers => !self.tiers.is_empty(),
            CriterionKind::Transports => !self.transports.is_empty(),
            CriterionKind::Categories => !self.categories.is_empty(),
        }
    }
}

impl CompiledFilter {
    /// Compiles a filter; same as [`Filter::compile`].
    pub fn new(filter: &Filter) -> Self {
        let include = CompiledCriteria::new(&filter.include);
        let exclude = CompiledCriteria::new(&filter.exclude);
        let uses = |kind| include.has(kind) || exclude.has(kind);
        let needs = Needs {
            extension: uses(CriterionKind::Tags) || uses(CriterionKind::Tiers) || uses(CriterionKind::Categories),
            transports: uses(CriterionKind::Transports),
        };
        Self { include, exclude, needs }
    }

    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether the filter keeps this server version.
    pub fn matches(&self, server: &ServerJson) -> bool {
        self.decide(server).is_keep()
    }

    /// Decides about one server version, saying why it is dropped.
    pub fn decide(&self, server: &ServerJson) -> Decision<'_> {
        if self.is_empty() {
            return Decision::Keep;
        }
        self.decide_facts(&ServerFacts::read(server, self.needs))
    }

    /// Decides from facts already read with [`ServerFacts::of`] (exclude first, then every non-empty
    /// include list).
    pub fn decide_facts(&self, facts: &ServerFacts<'_>) -> Decision<'_> {
        for kind in CriterionKind::ALL {
            if let Some(value) = self.exclude.first_match(kind, facts) {
                return Decision::Excluded { kind, value };
            }
        }
        for kind in CriterionKind::ALL {
            if self.include.has(kind) && self.include.first_match(kind, facts).is_none() {
                return Decision::NotIncluded { kind };
            }
        }
        Decision::Keep
    }
}
