//! What the ToolHive API lists about a server: facts of its latest version, read once when the snapshot is
//! built so that `GET /api/v1/servers` filters without parsing documents.

use serde::Serialize;
use thv_model::filter::{CompiledFilter, ServerFacts, short_name};
use thv_model::upstream::ServerJson;

/// The listed facts of one server's latest version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    /// Display title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// ToolHive tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// ToolHive tags.
    pub tags: Vec<String>,
    /// ToolHive categories.
    pub categories: Vec<String>,
    /// Transport types of packages and remotes.
    pub transports: Vec<String>,
}

impl Listing {
    /// Reads the facts of a document.
    pub fn of(server: &ServerJson) -> Self {
        let facts = ServerFacts::of(server);
        let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Self {
            title: server.title.clone(),
            description: server.description.clone(),
            tier: facts.tier.map(str::to_owned),
            tags: owned(&facts.tags),
            categories: owned(&facts.categories),
            transports: owned(&facts.transports),
        }
    }

    /// Heap bytes of the facts.
    pub fn heap_bytes(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        let list = |items: &Vec<String>| {
            items.capacity() * std::mem::size_of::<String>() + items.iter().map(String::capacity).sum::<usize>()
        };
        text(&self.title)
            + text(&self.description)
            + text(&self.tier)
            + list(&self.tags)
            + list(&self.categories)
            + list(&self.transports)
    }

    /// Whether `filter` keeps the server called `name` with these facts.
    pub fn kept_by(&self, name: &str, filter: &CompiledFilter) -> bool {
        let facts = ServerFacts {
            name,
            short_name: short_name(name),
            tier: self.tier.as_deref(),
            tags: borrowed(&self.tags),
            categories: borrowed(&self.categories),
            transports: borrowed(&self.transports),
        };
        filter.decide_facts(&facts).is_keep()
    }
}

fn borrowed(items: &[String]) -> Vec<&str> {
    items.iter().map(String::as_str).collect()
}
