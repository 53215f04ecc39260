//! What every backend refuses before it writes anything: a run and a state of different registries, a
//! commit whose run is not a success, and text no backend can store alike.
//!
//! So that the backends never disagree on what a commit keeps, both refuse what one of them cannot do
//! alike, with an error naming the record and the field: a NUL character in text (PostgreSQL cannot store
//! one; SQLite can), and the same (name, version) upserted twice in one commit (PostgreSQL refuses to
//! update a row twice in one statement; SQLite would keep the last). Every backend, in this crate or outside
//! it, calls [`commit`] and [`run`] before it writes.

use crate::{
    Change, ImportedEntry, RegistryState, ServerVersion, StoreError, StoreResult, SyncCommit, SyncOutcome, SyncRun,
};

/// Checks a commit before it is written; the error names the record and the field.
pub fn commit(commit: &SyncCommit) -> StoreResult<()> {
    const OPERATION: &str = "commit_sync";
    run(&commit.run, Some(&commit.state), OPERATION)?;
    // A committed run is what a catalog version counts (`Store::catalog_versions`).
    if commit.run.outcome != SyncOutcome::Success {
        return Err(StoreError::Query {
            operation: OPERATION,
            message: format!(
                "a commit's run must have the outcome success, not {}; nothing was written",
                commit.run.outcome.as_str()
            ),
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(commit.upserts.len());
    for version in &commit.upserts {
        server_version(version, OPERATION)?;
        if !seen.insert((version.name.as_str(), version.version.as_str())) {
            return Err(StoreError::Query {
                operation: OPERATION,
                message: format!(
                    "server {:?} version {:?} is upserted twice in one commit; nothing was written",
                    version.name, version.version
                ),
            });
        }
    }
    for removal in &commit.removals {
        let what = || format!("removal of server {:?} version {:?}", removal.name, removal.version);
        text(&removal.name, "name", &what, OPERATION)?;
        text(&removal.version, "version", &what, OPERATION)?;
    }
    for change in &commit.changes {
        change_text(change, OPERATION)?;
    }
    Ok(())
}

/// Checks an imported layer before it is written with a commit: text fields without NUL characters, each
/// (name, version) once.
pub fn layer(layer: &[ImportedEntry]) -> StoreResult<()> {
    const OPERATION: &str = "commit_import";
    let mut seen = std::collections::HashSet::with_capacity(layer.len());
    for entry in layer {
        let what = || format!("imported entry for server {:?} version {:?}", entry.name, entry.version);
        text(&entry.name, "name", &what, OPERATION)?;
        text(&entry.version, "version", &what, OPERATION)?;
        text(&entry.imported_at, "importedAt", &what, OPERATION)?;
        text(entry.record.as_str(), "record", &what, OPERATION)?;
        if !seen.insert((entry.name.as_str(), entry.version.as_str())) {
            return Err(StoreError::Query {
                operation: OPERATION,
                message: format!("{} is in the layer twice; nothing was written", what()),
            });
        }
    }
    Ok(())
}

/// Checks a run and, when given, a state before they are written (`operation` names the caller in the
/// error, e.g. `record_run`).
pub fn run(run: &SyncRun, state: Option<&RegistryState>, operation: &'static str) -> StoreResult<()> {
    if let Some(state) = state.filter(|state| state.registry != run.registry) {
        return Err(StoreError::Query {
            operation,
            message: format!(
                "the run is for registry {:?} but the state is for registry {:?}; nothing was written",
                run.registry, state.registry
            ),
        });
    }
    let what = || format!("sync run of registry {:?}", run.registry);
    for (field, value) in [
        ("registry", Some(&run.registry)),
        ("startedAt", Some(&run.started_at)),
        ("finishedAt", Some(&run.finished_at)),
        ("error", run.error.as_ref()),
        ("revision", run.revision.as_ref()),
        ("digest", run.digest.as_ref()),
    ] {
        if let Some(value) = value {
            text(value, field, &what, operation)?;
        }
    }
    if let Some(state) = state {
        registry_state(state, operation)?;
    }
    Ok(())
}

fn registry_state(state: &RegistryState, operation: &'static str) -> StoreResult<()> {
    let what = || format!("state of registry {:?}", state.registry);
    for (field, value) in [
        ("specDigest", &state.spec_digest),
        ("filterDigest", &state.filter_digest),
        ("revision", &state.revision),
        ("contentDigest", &state.content_digest),
        ("lastSuccessAt", &state.last_success_at),
        ("lastAttemptAt", &state.last_attempt_at),
        ("lastError", &state.last_error),
    ] {
        if let Some(value) = value {
            text(value, field, &what, operation)?;
        }
    }
    Ok(())
}

fn server_version(v: &ServerVersion, operation: &'static str) -> StoreResult<()> {
    let what = || format!("server {:?} version {:?}", v.name, v.version);
    for (field, value) in [
        ("name", Some(&v.name)),
        ("version", Some(&v.version)),
        ("digest", Some(&v.digest)),
        ("status", Some(&v.status)),
        ("statusChangedAt", v.status_changed_at.as_ref()),
        ("statusMessage", v.status_message.as_ref()),
        ("publishedAt", Some(&v.published_at)),
        ("updatedAt", Some(&v.updated_at)),
    ] {
        if let Some(value) = value {
            text(value, field, &what, operation)?;
        }
    }
    Ok(())
}

fn change_text(change: &Change, operation: &'static str) -> StoreResult<()> {
    let what = || format!("change set entry for server {:?} version {:?}", change.name, change.version);
    text(&change.name, "name", &what, operation)?;
    text(&change.version, "version", &what, operation)
}

/// Refuses a NUL character in `value`, naming the record (`what`) and the field.
fn text(value: &str, field: &str, what: &dyn Fn() -> String, operation: &'static str) -> StoreResult<()> {
    if value.contains('\0') {
        return Err(StoreError::Query {
            operation,
            message: format!(
                "{}: field {field} contains a NUL character, which cannot be stored; nothing was written",
                what()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_refused_naming_the_record_and_field() {
        let run = SyncRun {
            id: 0,
            registry: "reg".into(),
            started_at: "s".into(),
            finished_at: "f".into(),
            outcome: crate::SyncOutcome::Failed,
            error: Some("bad\0byte".into()),
            revision: None,
            digest: None,
            counts: Default::default(),
        };
        let err = super::run(&run, None, "record_run").unwrap_err().to_string();
        assert!(err.contains("registry \"reg\"") && err.contains("field error"), "{err}");
        let mut fine = run.clone();
        fine.error = Some("bad byte".into());
        super::run(&fine, None, "record_run").unwrap();
    }
}
