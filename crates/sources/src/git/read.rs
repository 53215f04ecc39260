//! Reading the catalog file straight from a commit's tree, without checking out a worktree.

use gix::ObjectId;
use gix::object::tree::EntryKind;

use super::failure::Failure;
use super::limits::Guard;

/// The bytes of the blob at `path` in `commit`'s tree, refused when larger than `max_bytes`. `revision` names the
/// commit in errors.
pub(super) fn file(
    repo: &gix::Repository,
    commit: ObjectId,
    revision: &str,
    path: &[String],
    max_bytes: u64,
    guard: &Guard,
) -> Result<Vec<u8>, Failure> {
    let local = |err: gix::Error| if guard.timed_out() { Failure::Timeout } else { Failure::local(&err) };
    let tree = repo.find_commit(commit).and_then(|commit| commit.tree()).map_err(local)?;
    let entry = tree
        .lookup_entry(path.iter().map(String::as_str))
        .map_err(local)?
        .ok_or_else(|| Failure::PathNotFound(revision.to_owned()))?;
    if !matches!(entry.mode().kind(), EntryKind::Blob | EntryKind::BlobExecutable) {
        return Err(Failure::NotAFile(revision.to_owned()));
    }
    let id = entry.object_id();
    if repo.find_header(id).map_err(local)?.size() > max_bytes {
        return Err(Failure::FileTooLarge(max_bytes));
    }
    Ok(repo.find_object(id).map_err(local)?.detach().data)
}

/// Splits a catalog path into tree entry names: `/` separated, `.` and empty parts dropped, `..` refused.
pub(super) fn components(path: &str) -> Option<Vec<String>> {
    let parts: Vec<String> =
        path.split('/').filter(|part| !part.is_empty() && *part != ".").map(ToOwned::to_owned).collect();
    (!parts.is_empty() && parts.iter().all(|part| part != "..")).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_entry_names() {
        assert_eq!(components("registry.json"), Some(vec!["registry.json".to_owned()]));
        assert_eq!(
            components("./catalog//v1/servers.json"),
            Some(vec!["catalog".into(), "v1".into(), "servers.json".into()])
        );
        assert_eq!(components("/abs/x.json"), Some(vec!["abs".into(), "x.json".into()]));
        assert_eq!(components("a/../b"), None);
        assert_eq!(components("./"), None);
        assert_eq!(components(""), None);
    }
}
