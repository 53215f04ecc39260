//! A catalog file in a Git repository, fetched with gix (pure Rust) into a clone cached between syncs.
//!
//! Each fetch opens the registry's cached bare repository, asks the remote only for the wanted branch, tag or
//! commit at depth 1 (so later fetches transfer only what changed), and reads the catalog from the commit's tree.
//! The revision is `<branch or tag>@sha1:<commit>` as in Flux (`sha1:<commit>` for a commit asked for by id), and
//! the commit id is the validator: an unchanged commit is [`FetchOutcome::NotModified`] and costs one ref listing.
//!
//! Limits: the whole fetch is bounded in time (`timeout`, default 120 s) and the received pack in size
//! (`maxBytes`, default 256 MiB); the catalog file itself may be at most 64 MiB. Credentials are read from their
//! secret references at every fetch and given to gix only through a callback; errors never contain them.

mod auth;
mod cache;
mod failure;
mod fetch;
mod limits;
mod read;
mod url;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use self::auth::Credentials;
use self::fetch::{Job, Resolved};
use self::limits::Guard;
use self::url::RepoUrl;
use crate::{
    FetchOutcome, Fetched, GitRef, GitSpec, Payload, Source, SourceContext, SourceError, Validators, sha256_revision,
};

/// Default total time of one fetch.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Default largest pack received in one fetch (256 MiB).
const DEFAULT_MAX_PACK_BYTES: u64 = 256 * 1024 * 1024;
/// Largest catalog file read from a commit (64 MiB).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a catalog file from a Git repository over `https://`, `http://` or `file://`.
///
/// `file://` repositories are served by gix through the `git-upload-pack` program, which must then be installed.
/// Credentials go to `http://` remotes too, as with `git` itself, and so travel unencrypted there: use `https://`
/// wherever a password or token is involved.
#[derive(Debug, Clone)]
pub struct GitSource {
    spec: GitSpec,
    url: RepoUrl,
    path: Vec<String>,
    dir: PathBuf,
    /// Reads Kubernetes Secret credentials at each fetch.
    credentials: crate::secret::Resolver,
}

impl GitSource {
    /// A source for `spec` whose clone is cached under `ctx.cache_dir/<registry>/`.
    ///
    /// Fails on a timeout out of range, when the URL is not `https://`, `http://` or `file://`, or when the path is
    /// empty or leaves the repository.
    pub fn new(spec: GitSpec, ctx: &SourceContext) -> Result<Self, SourceError> {
        spec.check()?;
        // gix's HTTP transport builds reqwest clients, which need a rustls provider installed.
        crate::http::ensure_crypto_provider();
        let url = RepoUrl::parse(&spec.repository)?;
        let path = read::components(spec.path_or_default()).ok_or_else(|| {
            SourceError::InvalidSpec(format!(
                "git {}: '{}' is not a file path inside the repository",
                url.display,
                spec.path_or_default()
            ))
        })?;
        let credentials = crate::secret::Resolver(ctx.credentials.clone());
        Ok(Self { dir: cache::git_dir(ctx), url, path, spec, credentials })
    }

    /// The directory of the cached clone.
    pub fn cache_dir(&self) -> &std::path::Path {
        &self.dir
    }

    fn timeout(&self) -> Duration {
        self.spec.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The reference as shown in errors.
    fn reference_label(&self) -> String {
        match &self.spec.reference {
            None => "HEAD".to_owned(),
            Some(GitRef::Commit(id)) => format!("commit {id}"),
            Some(reference) => reference.name().to_owned(),
        }
    }

    /// The credentials of this fetch: the spec's, read now, else those embedded in the URL.
    async fn credentials(&self) -> Result<Option<Credentials>, SourceError> {
        match &self.spec.auth {
            Some(auth) => Ok(Some(Credentials::from(crate::secret::resolve(auth, self.credentials.get()).await?))),
            None => Ok(self.url.embedded.clone()),
        }
    }

    fn job(&self, previous: Option<&Validators>, guard: Arc<Guard>, credentials: Option<Credentials>) -> Job {
        let previous_commit =
            previous.and_then(|p| p.commit.as_deref()).and_then(|hex| gix::ObjectId::from_hex(hex.as_bytes()).ok());
        Job {
            url: self.url.clone(),
            reference: self.spec.reference.clone(),
            path: self.path.clone(),
            credentials,
            previous_commit,
            max_file_bytes: MAX_FILE_BYTES,
            deadline: Instant::now() + self.timeout(),
            dir: self.dir.clone(),
            repository_key: sha256_revision(self.spec.repository.as_bytes()),
            guard,
        }
    }

    fn outcome(resolved: Resolved, previous: Option<&Validators>) -> FetchOutcome {
        let revision = fetch::revision(resolved.label.as_deref(), resolved.commit);
        let mut validators = Validators { commit: Some(resolved.commit.to_string()), ..Validators::default() };
        match resolved.content {
            None => {
                validators.content_sha256 = previous.and_then(|p| p.content_sha256.clone());
                FetchOutcome::NotModified { revision, validators }
            }
            Some(bytes) => {
                validators.content_sha256 = Some(sha256_revision(&bytes));
                FetchOutcome::Fetched(Fetched { payload: Payload::Full(bytes), revision, validators })
            }
        }
    }
}

#[async_trait]
impl Source for GitSource {
    fn describe(&self) -> String {
        let reference = self.spec.reference.as_ref().map(|r| format!("@{}", r.name())).unwrap_or_default();
        format!("git {}{reference}:{}", self.url.display, self.path.join("/"))
    }

    async fn fetch(&self, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
        let timeout = self.timeout();
        let guard = Guard::new(self.spec.max_bytes.unwrap_or(DEFAULT_MAX_PACK_BYTES));
        let credentials = self.credentials().await?;
        let job = self.job(previous, guard.clone(), credentials);
        let mut secrets: Vec<String> = job.credentials.iter().map(|c| c.secret().to_owned()).collect();
        secrets.extend(self.url.hidden.iter().cloned());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let lock = cache::lock(&self.dir);
        let work = async move {
            // Held by the blocking task until it ends, even when this future is dropped on timeout.
            let permit = lock.lock_owned().await;
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                fetch::run(&job)
            })
            .await
        };
        let result = match tokio::time::timeout(timeout, work).await {
            Err(_elapsed) => {
                guard.time_out();
                Err(failure::Failure::Timeout)
            }
            Ok(Err(join)) => Err(failure::Failure::cache(format!("the fetch task ended abnormally: {join}"))),
            Ok(Ok(result)) => result,
        };
        result.map(|resolved| Self::outcome(resolved, previous)).map_err(|failure| {
            failure.scrub(&secrets).into_source_error(
                &self.url.display,
                &self.reference_label(),
                &self.path.join("/"),
                timeout.as_secs(),
            )
        })
    }
}
