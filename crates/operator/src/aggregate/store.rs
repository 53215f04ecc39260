//! [`AggregateStore`]: one read-only [`Store`] over the storage ConfigMaps of several registries, each
//! under the name the aggregate API serves it as, so that one `thv_api` server serves them all.
//!
//! Run ids are per storage ConfigMap (each counts from 1), so the same id names runs of several registries.
//! The store gives each member a slot number for as long as it is a member and shows run ids as
//! `slot × 2³² + id`; [`Store::changes`] decodes them back to the member and its own id.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use thv_store::{
    Change, ImportedEntry, Lease, RegistryState, ServerVersion, Store, StoreError, StoreResult, SyncCommit, SyncRun,
};

use crate::storage::ConfigMapStore;

/// Run ids of one member are below this; the aggregate's run ids are `slot × RUN_ID_SPAN + id`.
const RUN_ID_SPAN: i64 = 1 << 32;

/// The read-only store of the aggregate API: the catalogs of its members, by served name.
#[derive(Debug, Default)]
pub struct AggregateStore {
    members: RwLock<Members>,
}

#[derive(Debug, Default)]
struct Members {
    by_name: BTreeMap<String, Member>,
    next_slot: i64,
}

#[derive(Debug, Clone)]
struct Member {
    slot: i64,
    store: Arc<ConfigMapStore>,
}

impl AggregateStore {
    /// Makes `members` (served name, the registry's followed storage) the registries of the store. A member
    /// that stays (the same store under the same name) keeps its slot, so its run ids do not change.
    pub fn set_members(&self, members: Vec<(String, Arc<ConfigMapStore>)>) {
        let mut current = self.members.write().unwrap_or_else(PoisonError::into_inner);
        let mut by_name = BTreeMap::new();
        for (name, store) in members {
            let slot = match current.by_name.get(&name) {
                Some(kept) if Arc::ptr_eq(&kept.store, &store) => kept.slot,
                _ => {
                    current.next_slot += 1;
                    current.next_slot
                }
            };
            by_name.insert(name, Member { slot, store });
        }
        current.by_name = by_name;
    }

    /// The served names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.members.read().unwrap_or_else(PoisonError::into_inner).by_name.keys().cloned().collect()
    }

    fn member(&self, name: &str) -> Option<Member> {
        self.members.read().unwrap_or_else(PoisonError::into_inner).by_name.get(name).cloned()
    }

    fn all(&self) -> Vec<(String, Member)> {
        let members = self.members.read().unwrap_or_else(PoisonError::into_inner);
        members.by_name.iter().map(|(name, member)| (name.clone(), member.clone())).collect()
    }
}

/// The error of every write: the aggregate only reads.
fn read_only(operation: &'static str) -> StoreError {
    StoreError::Query {
        operation,
        message: "the aggregate API reads the registries' storage; only the operator writes it".to_owned(),
    }
}

/// `id` of the member in `slot` as the aggregate shows it (unchanged in the absurd case that it is too large).
fn aggregate_run_id(slot: i64, id: i64) -> i64 {
    if (0..RUN_ID_SPAN).contains(&id) { slot.saturating_mul(RUN_ID_SPAN).saturating_add(id) } else { id }
}

fn renamed_state(name: &str, state: RegistryState) -> RegistryState {
    RegistryState { registry: name.to_owned(), ..state }
}

#[async_trait]
impl Store for AggregateStore {
    async fn registry_state(&self, registry: &str) -> StoreResult<Option<RegistryState>> {
        let Some(member) = self.member(registry) else { return Ok(None) };
        Ok(member.store.registry_state(member.store.registry()).await?.map(|s| renamed_state(registry, s)))
    }

    async fn registry_states(&self) -> StoreResult<Vec<RegistryState>> {
        let mut states = Vec::new();
        for (name, member) in self.all() {
            if let Some(state) = member.store.registry_state(member.store.registry()).await? {
                states.push(renamed_state(&name, state));
            }
        }
        Ok(states)
    }

    async fn catalog(&self, registry: &str) -> StoreResult<Vec<ServerVersion>> {
        let Some(member) = self.member(registry) else { return Ok(Vec::new()) };
        member.store.catalog(member.store.registry()).await
    }

    async fn commit_sync(&self, _commit: &SyncCommit) -> StoreResult<i64> {
        Err(read_only("commit_sync"))
    }

    async fn record_run(&self, _run: &SyncRun, _state: Option<&RegistryState>) -> StoreResult<i64> {
        Err(read_only("record_run"))
    }

    async fn runs(&self, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
        let Some(member) = self.member(registry) else { return Ok(Vec::new()) };
        let runs = member.store.runs(member.store.registry(), limit).await?;
        Ok(runs
            .into_iter()
            .map(|run| SyncRun { id: aggregate_run_id(member.slot, run.id), registry: registry.to_owned(), ..run })
            .collect())
    }

    async fn changes(&self, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
        match self.member(registry) {
            Some(member) if run_id / RUN_ID_SPAN == member.slot => {
                member.store.changes(member.store.registry(), run_id % RUN_ID_SPAN).await
            }
            _ => Ok(Vec::new()),
        }
    }

    async fn imported(&self, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
        let Some(member) = self.member(registry) else { return Ok(Vec::new()) };
        member.store.imported(member.store.registry()).await
    }

    async fn commit_import(&self, _commit: &SyncCommit, _layer: &[ImportedEntry]) -> StoreResult<i64> {
        Err(read_only("commit_import"))
    }

    async fn remove_registry(&self, _registry: &str) -> StoreResult<()> {
        Err(read_only("remove_registry"))
    }

    async fn commit_sync_leased(&self, _commit: &SyncCommit, _holder: &str) -> StoreResult<i64> {
        Err(read_only("commit_sync"))
    }

    async fn record_run_leased(
        &self,
        _run: &SyncRun,
        _state: Option<&RegistryState>,
        _holder: &str,
    ) -> StoreResult<i64> {
        Err(read_only("record_run"))
    }

    async fn acquire_lease(&self, _registry: &str, _holder: &str, _ttl: Duration) -> StoreResult<Lease> {
        Err(read_only("acquire_lease"))
    }

    async fn release_lease(&self, _registry: &str, _holder: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        let mut versions = Vec::new();
        for (name, member) in self.all() {
            for (_, version) in member.store.catalog_versions().await? {
                versions.push((name.clone(), aggregate_run_id(member.slot, version)));
            }
        }
        Ok(versions)
    }

    async fn request_sync(&self, _registry: &str, _requested_by: &str) -> StoreResult<i64> {
        Err(read_only("request_sync"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_of_different_members_never_collide_and_decode_back() {
        let (a, b) = (aggregate_run_id(1, 7), aggregate_run_id(2, 7));
        assert_ne!(a, b);
        assert_eq!((a / RUN_ID_SPAN, a % RUN_ID_SPAN), (1, 7));
        assert_eq!((b / RUN_ID_SPAN, b % RUN_ID_SPAN), (2, 7));
    }

    #[tokio::test]
    async fn a_member_that_stays_keeps_its_slot_and_a_replaced_one_gets_a_new_one() {
        let store = AggregateStore::default();
        let a = Arc::new(ConfigMapStore::follower("ns", "a"));
        let b = Arc::new(ConfigMapStore::follower("ns", "b"));
        store.set_members(vec![("a".into(), Arc::clone(&a)), ("b".into(), Arc::clone(&b))]);
        let slot_of = |name: &str| store.member(name).map(|m| m.slot);
        let (slot_a, slot_b) = (slot_of("a"), slot_of("b"));
        assert_ne!(slot_a, slot_b);
        let b_again = Arc::new(ConfigMapStore::follower("ns", "b"));
        store.set_members(vec![("a".into(), a), ("b".into(), b_again)]);
        assert_eq!(slot_of("a"), slot_a);
        assert_ne!(slot_of("b"), slot_b, "a new store (the registry was recreated) is a new member");
        assert_eq!(store.names(), ["a", "b"]);
        let err = store.remove_registry("a").await.expect_err("read-only");
        assert!(err.to_string().contains("only the operator writes"), "{err}");
    }
}
