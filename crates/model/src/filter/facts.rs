//! The facts a filter looks at, read once per server version.

use serde_json::{Map, Value};

use crate::names::short_name;
use crate::toolhive::stacklok_map;
use crate::upstream::ServerJson;

/// What a filter knows about one server version. Borrowed from the document; built once per server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerFacts<'a> {
    /// Full name (`io.github.stacklok/fetch`), `""` when absent.
    pub name: &'a str,
    /// The part after the single `/`; `None` when the name has no `/` or several.
    pub short_name: Option<&'a str>,
    /// ToolHive tier, as written.
    pub tier: Option<&'a str>,
    /// ToolHive tags, as written.
    pub tags: Vec<&'a str>,
    /// ToolHive categories (`custom_metadata.category` then `custom_metadata.categories`), as written.
    pub categories: Vec<&'a str>,
    /// Distinct transport types of packages, then of remotes, as written.
    pub transports: Vec<&'a str>,
}

impl<'a> ServerFacts<'a> {
    /// Reads the facts of a document.
    ///
    /// The ToolHive extension is the one [`find_extension(server, None)`](crate::toolhive::find_extension)
    /// picks, read leniently without copying it: a field of the wrong type counts as absent
    /// (where `find_extension` would reject the whole extension).
    pub fn of(server: &'a ServerJson) -> Self {
        Self::read(server, Needs { extension: true, transports: true })
    }

    /// Reads the name and what `needs` asks for; the other facts stay empty.
    pub(crate) fn read(server: &'a ServerJson, needs: Needs) -> Self {
        let name = server.name_str();
        let mut facts = Self { name, short_name: short_name(name), ..Self::default() };
        if needs.transports {
            facts.read_transports(server);
        }
        if needs.extension {
            facts.read_extension(server);
        }
        facts
    }

    fn read_transports(&mut self, server: &'a ServerJson) {
        for kind in server
            .packages()
            .iter()
            .filter_map(|p| p.transport_type())
            .chain(server.remotes().iter().filter_map(|r| r.kind.as_ref()))
        {
            let kind = kind.as_str();
            if !self.transports.contains(&kind) {
                self.transports.push(kind);
            }
        }
    }

    fn read_extension(&mut self, server: &'a ServerJson) {
        let Some(ext) = extension(server) else {
            return;
        };
        self.tier = ext.get("tier").and_then(Value::as_str);
        self.tags = strings(ext.get("tags"));
        if let Some(custom) = ext.get("custom_metadata").and_then(Value::as_object) {
            self.categories.extend(custom.get("category").and_then(Value::as_str));
            self.categories.extend(strings(custom.get("categories")));
        }
    }
}

/// Which optional facts a compiled filter looks at; the name is always read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Tier, tags and categories (ToolHive's extension).
    pub(crate) extension: bool,
    /// Transport types.
    pub(crate) transports: bool,
}

/// The string items of a JSON array; other items and non-arrays are ignored.
fn strings(value: Option<&Value>) -> Vec<&str> {
    value.and_then(Value::as_array).map(|items| items.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// ToolHive's extension object, chosen by the same keys as `find_extension(server, None)`: a remote
/// URL, then a package identifier, then the only entry.
fn extension(server: &ServerJson) -> Option<&Map<String, Value>> {
    let map = stacklok_map(server)?;
    let mut keys = server
        .remotes()
        .iter()
        .filter_map(|r| r.url.as_deref())
        .chain(server.packages().iter().filter_map(|p| p.identifier.as_deref()));
    if let Some(entry) = keys.find_map(|key| map.get(key)) {
        return entry.as_object();
    }
    if map.len() == 1 {
        return map.values().next()?.as_object();
    }
    None
}
