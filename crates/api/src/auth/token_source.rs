//! The token file as the server sees it: read at start, and read again when it changes (checked at most
//! every [`RECHECK`]), so that `thv registry token create|revoke` take effect without a restart.
//!
//! The path is watched, not the file: a file that does not exist (yet) holds no token, and is used as soon
//! as it is created. A changed file that no longer parses is not applied: the server keeps the tokens it
//! had, so a bad edit never locks everybody out nor lets anybody in. A deleted file revokes every token.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime};

use super::Caller;
use super::tokens::{TokenFileError, TokenSet};

/// How often the file is looked at, at most.
pub const RECHECK: Duration = Duration::from_secs(2);

/// What identifies a version of the file without reading it.
type Stamp = Option<(SystemTime, u64)>;

#[derive(Debug)]
struct Loaded {
    set: TokenSet,
    stamp: Stamp,
    checked: Instant,
    /// Why the file on disk is not in use (its last change did not parse).
    problem: Option<String>,
}

/// Tokens from a file that is watched for changes, or a fixed set.
#[derive(Debug)]
pub struct TokenSource {
    path: Option<PathBuf>,
    loaded: RwLock<Loaded>,
}

fn stamp_of(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl TokenSource {
    /// A set that never changes.
    pub fn fixed(set: TokenSet) -> Self {
        Self { path: None, loaded: RwLock::new(Loaded { set, stamp: None, checked: Instant::now(), problem: None }) }
    }

    /// Reads `path` and watches it from then on. A missing file is no token until it is created; a file
    /// that cannot be read or does not parse is an error.
    pub fn watch(path: &Path) -> Result<Self, TokenFileError> {
        let stamp = stamp_of(path);
        let set = match TokenSet::load(path) {
            Err(TokenFileError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                TokenSet::default()
            }
            loaded => loaded?,
        };
        let loaded = Loaded { set, stamp, checked: Instant::now(), problem: None };
        Ok(Self { path: Some(path.to_owned()), loaded: RwLock::new(loaded) })
    }

    /// The watched file (`None` for a fixed set).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Number of tokens in use.
    pub fn len(&self) -> usize {
        self.loaded.read().map_or(0, |loaded| loaded.set.len())
    }

    /// Whether no token is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The caller `token` identifies, after re-reading the file if it changed.
    pub fn check(&self, token: &str) -> Option<Caller> {
        self.refresh_if_due();
        self.loaded.read().ok()?.set.check(token)
    }

    /// Why the file's current content is not in use, if it is not.
    pub fn problem(&self) -> Option<String> {
        self.loaded.read().ok()?.problem.clone()
    }

    fn refresh_if_due(&self) {
        let Some(path) = &self.path else { return };
        if self.loaded.read().is_ok_and(|l| l.checked.elapsed() < RECHECK) {
            return;
        }
        let Ok(mut loaded) = self.loaded.write() else { return };
        if loaded.checked.elapsed() < RECHECK {
            return; // Another request just looked.
        }
        loaded.checked = Instant::now();
        let stamp = stamp_of(path);
        if stamp == loaded.stamp {
            return;
        }
        loaded.stamp = stamp;
        if stamp.is_none() {
            if !loaded.set.is_empty() {
                tracing::info!(path = %path.display(), "token file removed; every token is revoked");
            }
            loaded.set = TokenSet::default();
            loaded.problem = None;
            return;
        }
        match TokenSet::load(path) {
            Ok(set) => {
                tracing::info!(path = %path.display(), tokens = set.len(), "token file reloaded");
                loaded.set = set;
                loaded.problem = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the changed token file is not applied; the tokens in use stay");
                loaded.problem = Some(e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Scopes;
    use super::super::tokens::generate_token;
    use super::*;

    /// Waits out the recheck interval and makes sure the file's stamp changes.
    fn rewrite(path: &Path, text: &str) {
        std::thread::sleep(RECHECK + Duration::from_millis(50));
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn changes_apply_bad_edits_do_not_and_deletion_revokes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        let (first, first_line) = generate_token("first", Scopes { read: true, write: false }).unwrap();
        let (second, second_line) = generate_token("second-token", Scopes { read: true, write: true }).unwrap();
        std::fs::write(&path, format!("{first_line}\n")).unwrap();
        let source = TokenSource::watch(&path).unwrap();
        assert!(source.check(&first).is_some());
        assert!(source.check(&second).is_none());

        rewrite(&path, &format!("{first_line}\n{second_line}\n"));
        assert!(source.check(&second).is_some(), "a created token works without a restart");

        rewrite(&path, "garbage line\n");
        assert!(source.check(&second).is_some(), "a broken file keeps the tokens in use");
        assert!(source.problem().unwrap().contains(":1:"));

        rewrite(&path, &format!("{second_line}\n"));
        assert!(source.check(&first).is_none(), "a revoked token stops working");
        assert!(source.check(&second).is_some());
        assert!(source.problem().is_none());

        std::thread::sleep(RECHECK + Duration::from_millis(50));
        std::fs::remove_file(&path).unwrap();
        assert!(source.check(&second).is_none(), "a deleted file revokes everything");
    }

    #[test]
    fn a_file_created_after_start_is_used() {
        let dir = tempfile::tempdir().unwrap();
        // Not even its directory exists yet, as with the default path on a fresh machine.
        let path = dir.path().join("thv/tokens");
        let source = TokenSource::watch(&path).unwrap();
        let (token, line) = generate_token("late", Scopes { read: true, write: true }).unwrap();
        assert!(source.check(&token).is_none());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{line}\n")).unwrap();
        std::thread::sleep(RECHECK + Duration::from_millis(50));
        assert_eq!(source.check(&token).map(|c| c.subject).as_deref(), Some("token:late"));
        std::thread::sleep(RECHECK + Duration::from_millis(50));
        std::fs::remove_file(&path).unwrap();
        assert!(source.check(&token).is_none(), "deleted again: revoked");
    }

    #[test]
    fn an_unreadable_path_is_an_error_at_start() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be.
        let error = TokenSource::watch(dir.path()).unwrap_err();
        assert!(error.to_string().contains(&dir.path().display().to_string()), "{error}");
    }
}
