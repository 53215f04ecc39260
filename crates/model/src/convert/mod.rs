//! Lossless conversion between ToolHive entries and `server.json` documents.
//!
//! Each direction first maps every field the target format can express (see `to_upstream` and
//! `to_toolhive`, which follow ToolHive's own mapping and improve on it where the reference asks).
//! What the target cannot express is carried as a **residual**: the JSON Merge Patch (RFC 7386) from
//! what the way back would rebuild to the original, stored in a namespaced extension —
//!
//! - ToolHive → `server.json`: `_meta["io.modelcontextprotocol.registry/publisher-provided"]["dev.thv-registry"]["toolhive"]`
//! - `server.json` → ToolHive: `custom_metadata["dev.thv-registry/upstream"]`
//!
//! — together with a fingerprint of what it was computed against. The way back rebuilds the entry,
//! checks the fingerprint and applies the patch, so a round trip gives back the same JSON value. When
//! the converted entry was edited in between, the fingerprint no longer matches and the residual is
//! not applied (the edit wins; a note says what was not restored).

mod fingerprint;
pub mod image;
mod merge_patch;
pub mod names;
mod to_toolhive;
mod to_upstream;

use serde_json::{Map, Value};

pub use merge_patch::NullInTarget;
pub use to_toolhive::Unrepresentable;
pub use to_upstream::{DEFAULT_VERSION, MAX_UPSTREAM_DESCRIPTION};

use crate::toolhive::ServerEntry;
use crate::upstream::{PUBLISHER_PROVIDED_KEY, ServerJson};

/// Publisher namespace of this project inside `publisher-provided`.
pub const THV_NAMESPACE: &str = "dev.thv-registry";
/// Key of the ToolHive residual under [`THV_NAMESPACE`].
const TOOLHIVE_RESIDUAL_KEY: &str = "toolhive";
/// Key of the `server.json` residual inside a ToolHive entry's `custom_metadata`.
pub const UPSTREAM_RESIDUAL_KEY: &str = "dev.thv-registry/upstream";

/// One ToolHive catalog entry: a container server or a remote server.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolHiveEntry {
    /// From the `servers` map.
    Image(ServerEntry),
    /// From the `remote_servers` map.
    Remote(ServerEntry),
}

impl ToolHiveEntry {
    /// Fields both kinds share.
    pub fn entry(&self) -> &ServerEntry {
        match self {
            Self::Image(e) | Self::Remote(e) => e,
        }
    }

    fn entry_mut(&mut self) -> &mut ServerEntry {
        match self {
            Self::Image(e) | Self::Remote(e) => e,
        }
    }

    /// The entry as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self.entry()).unwrap_or_default()
    }

    /// Parses `value` as an entry of the same kind as `self`.
    fn same_kind_from(&self, value: Value) -> Option<Self> {
        let entry = serde_json::from_value(value).ok()?;
        Some(match self {
            Self::Image(_) => Self::Image(entry),
            Self::Remote(_) => Self::Remote(entry),
        })
    }
}

/// A converted document or entry with notes on what its plain form could not show.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted<T> {
    /// The result.
    pub value: T,
    /// What was guessed, changed, or kept only in the residual, in words.
    pub notes: Vec<String>,
    /// Whether converting back gives the original exactly.
    pub lossless: bool,
}

/// A residual as stored: the patch and the fingerprint of what it applies to.
struct Residual {
    base: String,
    patch: Value,
}

impl Residual {
    fn to_value(&self) -> Value {
        serde_json::json!({ "base": self.base, "patch": self.patch })
    }

    fn from_value(v: Value) -> Option<Self> {
        let Value::Object(mut m) = v else { return None };
        let base = m.remove("base")?.as_str()?.to_owned();
        let patch = m.remove("patch")?;
        Some(Self { base, patch })
    }

    /// The patch from `rebuilt` to `original`, or `None` when nothing is missing.
    fn between(rebuilt: &Value, original: &Value) -> Result<Option<Self>, NullInTarget> {
        Ok(merge_patch::diff(rebuilt, original)?.map(|patch| Self { base: fingerprint::fingerprint(rebuilt), patch }))
    }

    /// Applies the patch when `rebuilt` is what it was computed against.
    fn apply_to(&self, rebuilt: &mut Value) -> bool {
        if fingerprint::fingerprint(rebuilt) != self.base {
            return false;
        }
        merge_patch::apply(rebuilt, &self.patch);
        true
    }
}

/// Converts a ToolHive entry (with its map key) to a `server.json` document.
pub fn toolhive_to_upstream(key: &str, entry: &ToolHiveEntry) -> Converted<ServerJson> {
    let mut clean = entry.clone();
    let upstream_residual = take_upstream_residual(&mut clean);
    let mut notes = Vec::new();
    let mut server = to_upstream::entry_to_server(key, &clean, &mut notes);
    let mut lossless = true;

    let rebuilt = to_toolhive::server_to_entry(&server, &mut Vec::new()).map(|e| e.to_value());
    match rebuilt.map(|r| Residual::between(&r, &clean.to_value())) {
        Ok(Ok(Some(residual))) => put_toolhive_residual(&mut server, &residual),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => {
            notes.push(format!("not every ToolHive field can be restored: {e}"));
            lossless = false;
        }
        Err(e) => {
            notes.push(format!("the ToolHive entry cannot be rebuilt: {e}"));
            lossless = false;
        }
    }

    if let Some(residual) = upstream_residual {
        let mut value = serde_json::to_value(&server).unwrap_or_default();
        let patched = residual.apply_to(&mut value).then(|| serde_json::from_value::<ServerJson>(value).ok()).flatten();
        match patched {
            Some(restored) => server = restored,
            None => notes.push(
                "the entry was edited after conversion from server.json; details only server.json can hold were not restored"
                    .to_owned(),
            ),
        }
    }
    Converted { value: server, notes, lossless }
}

/// Converts a `server.json` document to a ToolHive entry.
pub fn upstream_to_toolhive(server: &ServerJson) -> Result<Converted<ToolHiveEntry>, Unrepresentable> {
    let mut clean = server.clone();
    let toolhive_residual = take_toolhive_residual(&mut clean);
    if clean.is_snake_case_shape() {
        return Err(Unrepresentable::SnakeCase);
    }
    let mut notes = Vec::new();
    let mut entry = to_toolhive::server_to_entry(&clean, &mut notes)?;

    if let Some(residual) = toolhive_residual {
        let mut value = entry.to_value();
        match residual.apply_to(&mut value).then(|| entry.same_kind_from(value)).flatten() {
            Some(restored) => entry = restored,
            None => notes.push(
                "the document was edited after conversion from ToolHive; details only ToolHive can hold were not restored"
                    .to_owned(),
            ),
        }
    }

    let mut lossless = true;
    let rebuilt = toolhive_to_upstream(server.name_str(), &entry);
    let original = serde_json::to_value(server).unwrap_or_default();
    match Residual::between(&serde_json::to_value(&rebuilt.value).unwrap_or_default(), &original) {
        Ok(Some(residual)) => put_upstream_residual(&mut entry, &residual),
        Ok(None) => {}
        Err(e) => {
            notes.push(format!("not every server.json field can be restored: {e}"));
            lossless = false;
        }
    }
    Ok(Converted { value: entry, notes, lossless })
}

fn put_toolhive_residual(server: &mut ServerJson, residual: &Residual) {
    let meta = server.meta.get_or_insert_with(Map::new);
    let provided = meta.entry(PUBLISHER_PROVIDED_KEY).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(provided) = provided {
        let mut ours = Map::new();
        ours.insert(TOOLHIVE_RESIDUAL_KEY.to_owned(), residual.to_value());
        provided.insert(THV_NAMESPACE.to_owned(), Value::Object(ours));
    }
}

/// Removes this project's namespace from `publisher-provided` (and containers it leaves empty) and
/// returns the ToolHive residual it held.
fn take_toolhive_residual(server: &mut ServerJson) -> Option<Residual> {
    let meta = server.meta.as_mut()?;
    let provided = meta.get_mut(PUBLISHER_PROVIDED_KEY)?.as_object_mut()?;
    let ours = provided.shift_remove(THV_NAMESPACE)?;
    if provided.is_empty() {
        meta.shift_remove(PUBLISHER_PROVIDED_KEY);
    }
    if meta.is_empty() {
        server.meta = None;
    }
    let Value::Object(mut ours) = ours else {
        return None;
    };
    Residual::from_value(ours.remove(TOOLHIVE_RESIDUAL_KEY)?)
}

fn put_upstream_residual(entry: &mut ToolHiveEntry, residual: &Residual) {
    entry
        .entry_mut()
        .custom_metadata
        .get_or_insert_with(Map::new)
        .insert(UPSTREAM_RESIDUAL_KEY.to_owned(), residual.to_value());
}

fn take_upstream_residual(entry: &mut ToolHiveEntry) -> Option<Residual> {
    let base = entry.entry_mut();
    let custom = base.custom_metadata.as_mut()?;
    let residual = custom.shift_remove(UPSTREAM_RESIDUAL_KEY)?;
    if custom.is_empty() {
        base.custom_metadata = None;
    }
    Residual::from_value(residual)
}
