//! Real Git repositories made with the `git` command line, isolated from the developer's configuration.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary place for repositories, a `HOME` and the source caches.
pub struct Workspace {
    root: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        for dir in ["home", "repos", "work", "cache"] {
            std::fs::create_dir_all(root.path().join(dir)).expect("mkdir");
        }
        Self { root }
    }

    /// Where bare repositories live (the `GIT_PROJECT_ROOT` of the HTTP server).
    pub fn repos(&self) -> PathBuf {
        self.root.path().join("repos")
    }

    /// The cache directory handed to sources.
    pub fn cache(&self) -> PathBuf {
        self.root.path().join("cache")
    }

    /// The isolated `HOME`.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// A new repository whose default branch is `default_branch`: a bare one to fetch from and a working one to
    /// commit in.
    pub fn repo(&self, name: &str, default_branch: &str) -> Repo {
        let bare = self.repos().join(format!("{name}.git"));
        let work = self.root.path().join("work").join(name);
        let repo = Repo { home: self.home(), bare, work };
        let bare_arg = repo.bare.display().to_string();
        let work_arg = repo.work.display().to_string();
        repo.git_in(&self.repos(), &["init", "-q", "--bare", "-b", default_branch, &bare_arg]);
        repo.git_in(&self.repos(), &["init", "-q", "-b", default_branch, &work_arg]);
        repo.git(&["remote", "add", "origin", &bare_arg]);
        repo
    }
}

/// A repository: a working copy and the bare repository it publishes to.
pub struct Repo {
    home: PathBuf,
    /// The bare repository sources fetch from.
    pub bare: PathBuf,
    work: PathBuf,
}

impl Repo {
    /// `file://` URL of the bare repository.
    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// Writes `files`, commits them on the current branch, publishes every branch and tag, and returns the commit.
    pub fn commit(&self, files: &[(&str, &[u8])], message: &str) -> String {
        for (path, content) in files {
            let path = self.work.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.publish();
        self.git(&["rev-parse", "HEAD"])
    }

    /// Switches to `branch`, creating it at the current commit if needed.
    pub fn checkout(&self, branch: &str) {
        self.git(&["checkout", "-q", "-B", branch]);
    }

    /// Tags the current commit (annotated when `message` is given) and publishes the tag.
    pub fn tag(&self, name: &str, message: Option<&str>) {
        match message {
            Some(message) => self.git(&["tag", "-a", name, "-m", message]),
            None => self.git(&["tag", name]),
        };
        self.publish();
    }

    fn publish(&self) {
        self.git(&["push", "-q", "--force", "origin", "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"]);
    }

    /// Runs git in the working copy and returns its trimmed output.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.work, args)
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let output =
            git_command(&self.home).args(args).current_dir(dir).output().expect("the git command line is needed");
        assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

/// `git` with no system or user configuration and a fixed identity.
pub fn git_command(home: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    command
}
