//! Writing files atomically: every file `thv` writes (configuration, token file, converted catalogs) goes
//! through [`write_atomically`], so a reader never sees half of one and a failed write leaves the old one.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Who may read a file `thv` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// Only its owner (mode 0600): files that hold or guard credentials.
    Owner,
    /// As the file had them when it exists, else as any new file gets them (0666 less the umask).
    AsBefore,
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced and then renamed over
/// `path`, creating the folder when needed.
pub fn write_atomically(path: &Path, bytes: &[u8], readers: Readers) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".thv-").suffix(".tmp");
    #[cfg(unix)]
    let permissions = {
        use std::os::unix::fs::PermissionsExt as _;
        match readers {
            Readers::Owner => std::fs::Permissions::from_mode(0o600),
            Readers::AsBefore => match std::fs::metadata(path) {
                Ok(existing) => existing.permissions(),
                Err(_) => std::fs::Permissions::from_mode(0o666),
            },
        }
    };
    #[cfg(unix)]
    builder.permissions(permissions.clone());
    #[cfg(not(unix))]
    let _ = readers;
    let mut temp = builder.tempfile_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    // The umask applies when the file is created; an existing file's permissions are copied exactly.
    #[cfg(unix)]
    if readers == Readers::AsBefore && path.exists() {
        temp.as_file().set_permissions(permissions).with_context(|| format!("cannot write {}", path.display()))?;
    }
    temp.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    temp.as_file().sync_all().with_context(|| format!("cannot write {}", path.display()))?;
    temp.persist(path).map_err(|e| e.error).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically, or to standard output when `path` is `None` or `-`.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path.filter(|p| p.as_os_str() != "-") {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush()).context("cannot write to standard output")
        }
        Some(path) => write_atomically(path, bytes, Readers::AsBefore),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_creates_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new/folder/file.txt");
        write_atomically(&path, b"one", Readers::AsBefore).expect("write");
        write_atomically(&path, b"two", Readers::AsBefore).expect("replace");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "two");
        let left: Vec<_> = std::fs::read_dir(path.parent().expect("parent")).expect("list").collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept_or_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let shared = dir.path().join("shared.yaml");
        std::fs::write(&shared, "x").expect("write");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        write_atomically(&shared, b"y", Readers::AsBefore).expect("replace");
        assert_eq!(mode(&shared), 0o640);
        let secret = dir.path().join("tokens");
        write_atomically(&secret, b"z", Readers::Owner).expect("write");
        assert_eq!(mode(&secret), 0o600);
    }

    #[test]
    fn a_failed_write_names_the_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A folder where the file should be: the rename fails, and the folder stays.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).expect("mkdir");
        std::fs::write(path.join("inside"), "keep").expect("write");
        let err = write_atomically(&path, b"new", Readers::AsBefore).expect_err("cannot replace a folder");
        assert!(format!("{err:#}").contains("taken"), "{err:#}");
        assert_eq!(std::fs::read_to_string(path.join("inside")).expect("read"), "keep");
    }
}
