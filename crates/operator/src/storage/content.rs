//! What one registry's storage holds, in memory: the state, the catalog and a bounded history of runs and
//! change sets, with the pure steps a commit or a run applies to them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thv_store::{Change, ImportedEntry, RegistryState, ServerVersion, SyncCommit, SyncRun};

/// Runs kept in the storage, newest first; change sets are kept for these runs only.
pub const MAX_RUNS: usize = 10;

/// The latest runs and their change sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct History {
    /// The id the next run gets: ids grow by one and are never reused while the storage exists.
    pub next_run_id: i64,
    /// At most [`MAX_RUNS`] runs, newest first.
    pub runs: Vec<SyncRun>,
    /// Change sets by run id, for runs in `runs` that committed changes.
    pub changes: BTreeMap<i64, Vec<Change>>,
}

impl Default for History {
    fn default() -> Self {
        Self { next_run_id: 1, runs: Vec::new(), changes: BTreeMap::new() }
    }
}

impl History {
    /// Records `run` (its `id` is replaced) with its change set, drops what falls out of the window, and
    /// returns the run's id.
    pub fn record(&mut self, mut run: SyncRun, changes: &[Change]) -> i64 {
        let id = self.next_run_id.max(1);
        self.next_run_id = id.saturating_add(1);
        run.id = id;
        self.runs.insert(0, run);
        self.runs.truncate(MAX_RUNS);
        if !changes.is_empty() {
            self.changes.insert(id, changes.to_vec());
        }
        let oldest_kept = self.runs.last().map_or(id, |r| r.id);
        self.changes.retain(|run_id, _| *run_id >= oldest_kept);
        id
    }

    /// Drops every change set but the newest one; whether anything was dropped. Used only when the storage
    /// would not fit otherwise: the catalog matters more than the change sets of older runs.
    pub fn keep_only_newest_changes(&mut self) -> bool {
        let Some(newest) = self.changes.keys().next_back().copied() else {
            return false;
        };
        let before = self.changes.len();
        self.changes.retain(|id, _| *id == newest);
        self.changes.len() != before
    }
}

/// A registry's catalog keyed by (name, version): iteration is the store's order (byte-wise by name, then
/// version).
pub(crate) type Catalog = BTreeMap<(String, String), ServerVersion>;

/// The catalog as a map, from the stored list.
pub(crate) fn catalog_map(versions: &[ServerVersion]) -> Catalog {
    versions.iter().map(|v| ((v.name.clone(), v.version.clone()), v.clone())).collect()
}

/// Applies a commit's removals, then its upserts (an upsert of a removed identity keeps it, as the SQL
/// backends do).
pub(crate) fn apply_commit(catalog: &mut Catalog, commit: &SyncCommit) {
    for removal in &commit.removals {
        catalog.remove(&(removal.name.clone(), removal.version.clone()));
    }
    for version in &commit.upserts {
        catalog.insert((version.name.clone(), version.version.clone()), version.clone());
    }
}

/// The state, history and (when it changes) catalog a write stores.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    /// The registry's state.
    pub state: Option<RegistryState>,
    /// Runs and change sets.
    pub history: History,
    /// The new catalog, in store order; `None` keeps the stored one byte for byte.
    pub catalog: Option<Vec<ServerVersion>>,
    /// The new imported layer; `None` keeps the stored one byte for byte.
    pub imported: Option<Vec<ImportedEntry>>,
}

#[cfg(test)]
mod tests {
    use thv_store::{ChangeKind, Counts, SyncOutcome};

    use super::*;

    fn run(n: u32) -> SyncRun {
        SyncRun {
            id: 0,
            registry: "r".into(),
            started_at: format!("t{n}"),
            finished_at: format!("t{n}"),
            outcome: SyncOutcome::Success,
            error: None,
            revision: None,
            digest: None,
            counts: Counts::default(),
        }
    }

    fn change(name: &str) -> Change {
        Change { kind: ChangeKind::Added, name: name.into(), version: "1".into() }
    }

    #[test]
    fn history_keeps_the_newest_runs_and_only_their_change_sets() {
        let mut history = History::default();
        let ids: Vec<i64> = (0..15).map(|n| history.record(run(n), &[change(&format!("s{n}"))])).collect();
        assert_eq!(ids, (1..=15).collect::<Vec<_>>());
        assert_eq!(history.runs.len(), MAX_RUNS);
        assert_eq!(history.runs.first().map(|r| r.id), Some(15), "newest first");
        assert_eq!(history.runs.last().map(|r| r.id), Some(6));
        assert_eq!(history.changes.keys().copied().collect::<Vec<_>>(), (6..=15).collect::<Vec<_>>());
        assert!(history.keep_only_newest_changes());
        assert_eq!(history.changes.keys().copied().collect::<Vec<_>>(), vec![15]);
        assert!(!history.keep_only_newest_changes());
        // A run without changes keeps no empty change set.
        let id = history.record(run(99), &[]);
        assert!(!history.changes.contains_key(&id));
    }
}
