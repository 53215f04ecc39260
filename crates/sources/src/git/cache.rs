//! The per-registry clone kept between syncs: where it lives, opening it, and starting it afresh.
//!
//! The cache is a bare repository at `<cache_dir>/<registry>/git`. A marker file records a digest of the repository
//! URL, so a registry that now points elsewhere starts with a clean clone. A cache that cannot be opened, belongs
//! to another URL, or has gathered too many packs from incremental fetches is removed and created anew.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use super::failure::Failure;
use crate::SourceContext;

/// Name of the file in the git directory that records which repository the cache holds.
const MARKER: &str = "thv-source";

/// Incremental fetches add one pack each; past this many the cache is re-cloned (a shallow clone is small).
const MAX_PACKS: usize = 64;

/// The git directory of a registry's cache.
pub(super) fn git_dir(ctx: &SourceContext) -> PathBuf {
    ctx.cache_dir.join(encode_component(&ctx.registry)).join("git")
}

/// A lock per cache directory, so two fetches in this process never write the same clone at once.
pub(super) fn lock(dir: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);
    let mut locks = LOCKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    locks.entry(dir.to_path_buf()).or_default().clone()
}

/// How repositories in the cache are opened: isolated from the user's and system's git configuration and the
/// environment, with single objects capped at `max_object_bytes` when packs are decoded.
pub(super) fn open_options(max_object_bytes: u64) -> gix::open::Options {
    gix::open::Options::isolated().config_overrides([format!("gitoxide.objects.allocLimit={max_object_bytes}")])
}

/// Opens the cache at `dir` for `repository_key`, or creates it. Returns the repository and whether it existed.
pub(super) fn open_or_init(
    dir: &Path,
    repository_key: &str,
    options: &gix::open::Options,
) -> Result<(gix::Repository, bool), Failure> {
    if dir.exists() {
        if let Some(repo) = try_open(dir, repository_key, options) {
            return Ok((repo, true));
        }
        remove(dir)?;
    }
    Ok((init(dir, repository_key, options)?, false))
}

/// Removes the cache at `dir` and creates an empty one.
pub(super) fn recreate(
    dir: &Path,
    repository_key: &str,
    options: &gix::open::Options,
) -> Result<gix::Repository, Failure> {
    remove(dir)?;
    init(dir, repository_key, options)
}

fn try_open(dir: &Path, repository_key: &str, options: &gix::open::Options) -> Option<gix::Repository> {
    let marker = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    if marker.trim() != repository_key || pack_count(dir) > MAX_PACKS {
        return None;
    }
    let repo = gix::open_opts(dir, options.clone()).ok()?;
    repo.is_bare().then_some(repo)
}

fn init(dir: &Path, repository_key: &str, options: &gix::open::Options) -> Result<gix::Repository, Failure> {
    let failed =
        |err: &dyn std::fmt::Display| Failure::cache(format!("cannot create the cache {}: {err:#}", dir.display()));
    std::fs::create_dir_all(dir).map_err(|err| failed(&err))?;
    let repo = gix::ThreadSafeRepository::init_opts(
        dir,
        gix::create::Kind::Bare,
        gix::create::Options::default(),
        options.clone(),
    )
    .map_err(|err| failed(&err))?
    .to_thread_local();
    std::fs::write(dir.join(MARKER), format!("{repository_key}\n")).map_err(|err| failed(&err))?;
    Ok(repo)
}

fn remove(dir: &Path) -> Result<(), Failure> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(Failure::cache(format!("cannot remove the cache {}: {err}", dir.display())))
        }
        _ => Ok(()),
    }
}

fn pack_count(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("objects").join("pack")).map_or(0, |entries| {
        entries.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|ext| ext == "pack")).count()
    })
}

/// A registry name as one safe path component: bytes outside `[A-Za-z0-9._-]` (and a leading dot) become `%XX`, so
/// distinct names never share a directory and no name escapes the cache.
fn encode_component(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' || (byte == b'.' && i > 0) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.is_empty() { "%".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_become_single_safe_components() {
        assert_eq!(encode_component("team-catalog_1.0"), "team-catalog_1.0");
        assert_eq!(encode_component("ns/name"), "ns%2Fname");
        assert_eq!(encode_component(".."), "%2E.");
        assert_eq!(encode_component("a%2Fb"), "a%252Fb");
        assert_eq!(encode_component(""), "%");
    }

    #[test]
    fn caches_of_another_repository_are_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = dir.path().join("git");
        let options = open_options(1 << 20);
        let (_, existed) = open_or_init(&git, "sha256:a", &options).expect("init");
        assert!(!existed);
        let (_, existed) = open_or_init(&git, "sha256:a", &options).expect("open");
        assert!(existed);
        let (_, existed) = open_or_init(&git, "sha256:b", &options).expect("other url");
        assert!(!existed);
        std::fs::write(git.join("config"), "[core\n garbage = = =").expect("corrupt");
        let (_, existed) = open_or_init(&git, "sha256:b", &options).expect("corrupt cache");
        assert!(!existed);
    }
}
