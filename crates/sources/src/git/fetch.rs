//! The blocking part of a Git fetch: bring the wanted commit into the cache with as little transfer as the
//! transport allows, then read the catalog file from the commit's tree.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gix::ObjectId;
use gix::protocol::handshake::Ref;
use gix::protocol::transport::client::blocking_io::http;
use gix::remote::Direction;
use gix::remote::fetch::refmap::Source as RemoteSource;
use gix::remote::fetch::{Shallow, Tags};

use super::auth::Credentials;
use super::cache;
use super::failure::Failure;
use super::limits::{Guard, Watch};
use super::read;
use super::url::RepoUrl;
use crate::GitRef;

/// Everything the blocking fetch needs.
#[derive(Debug)]
pub(super) struct Job {
    /// Where to fetch from.
    pub(super) url: RepoUrl,
    /// What to fetch; the remote's default branch when `None`.
    pub(super) reference: Option<GitRef>,
    /// Components of the catalog path inside the repository.
    pub(super) path: Vec<String>,
    /// Credentials for HTTP.
    pub(super) credentials: Option<Credentials>,
    /// The commit of the last successful fetch.
    pub(super) previous_commit: Option<ObjectId>,
    /// Largest catalog file read.
    pub(super) max_file_bytes: u64,
    /// When the fetch must be over.
    pub(super) deadline: Instant,
    /// The cache's git directory.
    pub(super) dir: PathBuf,
    /// What the cache must hold (a digest of the repository URL).
    pub(super) repository_key: String,
    /// The interrupt flag and the pack limit.
    pub(super) guard: Arc<Guard>,
}

/// A commit the fetch settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Resolved {
    /// The commit.
    pub(super) commit: ObjectId,
    /// The branch or tag it was found through (`main`, `v1.0`), `None` for a commit asked for by id.
    pub(super) label: Option<String>,
    /// The catalog's bytes, or `None` when the commit is the previous one.
    pub(super) content: Option<Vec<u8>>,
}

/// Runs the fetch; when a cache that already existed fails in a way a fresh clone may cure, tries once more with
/// a fresh clone.
pub(super) fn run(job: &Job) -> Result<Resolved, Failure> {
    let options = cache::open_options(job.guard.max_pack_bytes());
    let (repo, existed) = cache::open_or_init(&job.dir, &job.repository_key, &options)?;
    match attempt(&repo, job) {
        Err(failure) if existed && failure.may_be_cache_damage() && !job.guard.interrupted() => {
            drop(repo);
            let repo = cache::recreate(&job.dir, &job.repository_key, &options)?;
            attempt(&repo, job)
        }
        outcome => outcome,
    }
}

fn attempt(repo: &gix::Repository, job: &Job) -> Result<Resolved, Failure> {
    match &job.reference {
        Some(GitRef::Commit(id)) => by_commit(repo, job, id),
        other => by_ref(repo, job, &Wanted::new(other.as_ref())?),
    }
}

/// A branch, a tag or the remote's HEAD, as a refspec.
struct Wanted {
    refspec: String,
    what: String,
    label: Option<String>,
}

impl Wanted {
    fn new(reference: Option<&GitRef>) -> Result<Self, Failure> {
        Ok(match reference {
            None => Self {
                refspec: "+HEAD:refs/remotes/origin/HEAD".to_owned(),
                what: "the default branch (HEAD)".to_owned(),
                label: None,
            },
            Some(GitRef::Branch(name)) => Self {
                refspec: format!("+refs/heads/{0}:refs/remotes/origin/{0}", checked_name("branch", name)?),
                what: format!("branch '{name}'"),
                label: Some(name.clone()),
            },
            Some(GitRef::Tag(name)) => Self {
                refspec: format!("+refs/tags/{0}:refs/tags/{0}", checked_name("tag", name)?),
                what: format!("tag '{name}'"),
                label: Some(name.clone()),
            },
            Some(GitRef::Commit(_)) => return Err(Failure::Spec("a commit is not a branch or tag".to_owned())),
        })
    }
}

/// A branch or tag name that is a valid ref name and no refspec pattern.
fn checked_name<'a>(kind: &str, name: &'a str) -> Result<&'a str, Failure> {
    let full = format!("refs/heads/{name}");
    if name.is_empty() || name.contains(['*', ':']) || gix::validate::reference::name(full.as_bytes().into()).is_err() {
        return Err(Failure::Spec(format!("'{name}' is not a valid {kind} name")));
    }
    Ok(name)
}

fn by_ref(repo: &gix::Repository, job: &Job, wanted: &Wanted) -> Result<Resolved, Failure> {
    let remote = remote(repo, job, [wanted.refspec.as_str()])?;
    let prepare = prepare_fetch(&remote, job)?;
    let Some(mapping) = prepare.ref_map().mappings.first() else {
        return Err(Failure::RefNotFound(wanted.what.clone()));
    };
    let (advertised, label) = match &mapping.remote {
        RemoteSource::Ref(Ref::Unborn { .. }) => return Err(Failure::EmptyRemote),
        RemoteSource::Ref(Ref::Symbolic { target, object, .. }) => {
            let target = target.to_string();
            let name = target.strip_prefix("refs/heads/").unwrap_or(&target).to_owned();
            (*object, wanted.label.clone().or(Some(name)))
        }
        RemoteSource::Ref(Ref::Peeled { object, .. } | Ref::Direct { object, .. }) | RemoteSource::ObjectId(object) => {
            (*object, wanted.label.clone().or_else(|| Some("HEAD".to_owned())))
        }
    };
    if job.previous_commit == Some(advertised) {
        return Ok(Resolved { commit: advertised, label, content: None });
    }
    let tip = mapping.remote.as_id().map_or(advertised, ToOwned::to_owned);
    receive(prepare, job, Shallow::DepthAtRemote(NonZeroU32::MIN))?;
    let commit = peel_to_commit(repo, tip)?;
    finish(repo, job, commit, label)
}

fn by_commit(repo: &gix::Repository, job: &Job, written: &str) -> Result<Resolved, Failure> {
    let hex = written.trim().to_ascii_lowercase();
    let full_len = repo.object_hash().len_in_hex();
    if hex.len() < 4 || hex.len() > full_len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Failure::Spec(format!("'{written}' is not a commit id")));
    }
    let not_found = || Failure::RefNotFound(format!("commit {written}"));
    let id = if hex.len() == full_len {
        let id =
            ObjectId::from_hex(hex.as_bytes()).map_err(|_| Failure::Spec(format!("'{written}' is not a commit id")))?;
        if job.previous_commit == Some(id) {
            return Ok(Resolved { commit: id, label: None, content: None });
        }
        if !repo.has_object(id) {
            match fetch_commit(repo, job, id) {
                Err(
                    failure @ (Failure::Timeout
                    | Failure::PackTooLarge(_)
                    | Failure::ObjectTooLarge(_)
                    | Failure::Unauthorized(_)),
                ) => {
                    return Err(failure);
                }
                _ if repo.has_object(id) => {}
                _ => fetch_everything(repo, job)?,
            }
        }
        if !repo.has_object(id) {
            return Err(not_found());
        }
        id
    } else {
        let prefix =
            gix::hash::Prefix::from_hex(&hex).map_err(|_| Failure::Spec(format!("'{written}' is not a commit id")))?;
        let lookup =
            |repo: &gix::Repository| repo.objects.lookup_prefix(prefix, None).map_err(|err| Failure::local(&err));
        let found = match lookup(repo)? {
            Some(found) => found,
            None => {
                fetch_everything(repo, job)?;
                lookup(repo)?.ok_or_else(not_found)?
            }
        };
        found.map_err(|()| Failure::Spec(format!("the commit id prefix '{written}' is ambiguous")))?
    };
    let commit = peel_to_commit(repo, id)?;
    finish(repo, job, commit, None)
}

/// Asks for one commit by id at depth 1; servers speaking protocol v2 (and v0 ones allowing it) hand it out.
fn fetch_commit(repo: &gix::Repository, job: &Job, id: ObjectId) -> Result<(), Failure> {
    let remote = remote(repo, job, [format!("+{id}:refs/remotes/origin/thv-commit")])?;
    let prepare = prepare_fetch(&remote, job)?;
    receive(prepare, job, Shallow::DepthAtRemote(NonZeroU32::MIN))
}

/// Fetches every branch and tag with full history, for commits not reachable by id or given abbreviated.
fn fetch_everything(repo: &gix::Repository, job: &Job) -> Result<(), Failure> {
    let remote = remote(repo, job, ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"])?;
    let prepare = prepare_fetch(&remote, job)?;
    let is_shallow = repo.is_shallow().map_err(|err| Failure::local(&err))?;
    let shallow = match NonZeroU32::new(i32::MAX.unsigned_abs()) {
        Some(all) if is_shallow => Shallow::DepthAtRemote(all),
        _ => Shallow::NoChange,
    };
    receive(prepare, job, shallow)
}

fn finish(repo: &gix::Repository, job: &Job, commit: ObjectId, label: Option<String>) -> Result<Resolved, Failure> {
    if job.previous_commit == Some(commit) {
        return Ok(Resolved { commit, label, content: None });
    }
    let revision = revision(label.as_deref(), commit);
    let content = read::file(repo, commit, &revision, &job.path, job.max_file_bytes, &job.guard)?;
    Ok(Resolved { commit, label, content: Some(content) })
}

/// `<branch or tag>@sha1:<commit>`, or `sha1:<commit>` for a commit asked for by id, as Flux writes revisions.
pub(super) fn revision(label: Option<&str>, commit: ObjectId) -> String {
    match label {
        Some(label) => format!("{label}@sha1:{commit}"),
        None => format!("sha1:{commit}"),
    }
}

fn peel_to_commit(repo: &gix::Repository, id: ObjectId) -> Result<ObjectId, Failure> {
    repo.find_object(id)
        .and_then(gix::Object::peel_to_commit)
        .map(|commit| commit.id)
        .map_err(|err| Failure::local(&err))
}

/// An anonymous remote for the job's URL with `refspecs`, fetching no other tags.
fn remote<'repo, S: AsRef<str>>(
    repo: &'repo gix::Repository,
    job: &Job,
    refspecs: impl IntoIterator<Item = S>,
) -> Result<gix::Remote<'repo>, Failure> {
    let local = |err: gix::Error| Failure::Spec(format!("{err:#}"));
    let refspecs: Vec<String> = refspecs.into_iter().map(|s| s.as_ref().to_owned()).collect();
    repo.remote_at(job.url.url.clone())
        .map_err(local)?
        .with_fetch_tags(Tags::None)
        .with_refspecs(refspecs.iter().map(String::as_str), Direction::Fetch)
        .map_err(local)
}

type Transport = Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>;

/// Connects with the job's credentials and limits, and lists the refs the refspecs ask for.
fn prepare_fetch<'remote, 'repo>(
    remote: &'remote gix::Remote<'repo>,
    job: &Job,
) -> Result<gix::remote::fetch::Prepare<'remote, 'repo, Transport>, Failure> {
    let failed = |err: gix::Error| Failure::from_gix(&err, &job.guard, false);
    let mut connection = remote
        .connect(Direction::Fetch)
        .map_err(failed)?
        .with_credentials(Credentials::callback(job.credentials.clone()));
    if let Some(options) = http_options(job) {
        connection = connection.with_transport_options(Box::new(options));
    }
    connection.prepare_fetch(Watch::new(job.guard.clone()), gix::remote::ref_map::Options::default()).map_err(failed)
}

fn receive(
    prepare: gix::remote::fetch::Prepare<'_, '_, Transport>,
    job: &Job,
    shallow: Shallow,
) -> Result<(), Failure> {
    prepare
        .with_shallow(shallow)
        .receive(Watch::new(job.guard.clone()), job.guard.flag())
        .map(drop)
        .map_err(|err| Failure::from_gix(&err, &job.guard, true))
}

/// HTTP options: a request timeout that ends with the job's deadline (so a stalled server cannot keep the blocking
/// thread), a connect timeout, and our user agent. `None` for `file://`.
fn http_options(job: &Job) -> Option<http::Options> {
    if !matches!(job.url.url.scheme, gix::url::Scheme::Http | gix::url::Scheme::Https) {
        return None;
    }
    let remaining = job.deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
    let backend = http::reqwest::Options {
        configure_client: Some(Box::new(move |builder| Ok(builder.timeout(remaining)))),
        configure_request: None,
    };
    Some(http::Options {
        user_agent: Some(concat!("thv-registry/", env!("CARGO_PKG_VERSION")).to_owned()),
        connect_timeout: Some(remaining.min(Duration::from_secs(30))),
        backend: Some(Arc::new(Mutex::new(backend))),
        ..http::Options::default()
    })
}
