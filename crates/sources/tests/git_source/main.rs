//! The Git source against real repositories, over `file://` and over smart HTTP with basic authentication.
//!
//! Needs the `git` command line (to create repositories, to serve them with `git http-backend`, and for gix's
//! `file://` transport, which runs `git-upload-pack`).

mod fixture;
mod server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thv_sources::{
    AuthSpec, FetchOutcome, Fetched, GitRef, GitSource, GitSpec, Payload, SecretRef, Source, SourceContext,
    SourceError, Validators,
};

use fixture::{Repo, Workspace};
use server::{GitHttp, Mode};

const USER: &str = "reader";
const PASSWORD: &str = "correct-horse-battery";

fn spec(repository: String, reference: Option<GitRef>) -> GitSpec {
    GitSpec { repository, reference, path: None, auth: None, max_bytes: None, timeout: Some(Duration::from_secs(30)) }
}

fn source(ws: &Workspace, registry: &str, spec: GitSpec) -> GitSource {
    GitSource::new(spec, &SourceContext::new(ws.cache(), registry.to_owned())).expect("valid spec")
}

async fn fetched(source: &GitSource, previous: Option<&Validators>) -> Fetched {
    match source.fetch(previous).await {
        Ok(FetchOutcome::Fetched(fetched)) => fetched,
        other => panic!("expected content from {}, got {other:?}", source.describe()),
    }
}

fn text(fetched: &Fetched) -> &str {
    let Payload::Full(bytes) = &fetched.payload else { panic!("git sources return whole documents") };
    std::str::from_utf8(bytes).expect("utf-8")
}

fn secret_file(ws: &Workspace, name: &str, value: &str) -> SecretRef {
    let path = ws.home().join(name);
    std::fs::write(&path, format!("{value}\n")).expect("write secret");
    SecretRef::File(path)
}

fn basic(ws: &Workspace, password: &str) -> Option<AuthSpec> {
    Some(AuthSpec::Basic { username: USER.to_owned(), password: secret_file(ws, "password", password) })
}

fn pack_files(dir: &Path) -> Vec<PathBuf> {
    let mut packs: Vec<PathBuf> = std::fs::read_dir(dir.join("objects/pack"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    packs.retain(|p| p.extension().is_some_and(|e| e == "pack"));
    packs.sort();
    packs
}

/// A repository whose default branch is `trunk`: an annotated tag `v1` and a lightweight tag `v1-light` on the
/// first commit, a second commit on `trunk`, and a branch `dev` with its own catalog.
struct History {
    repo: Repo,
    first: String,
    second: String,
    dev: String,
}

fn history(ws: &Workspace, name: &str) -> History {
    let repo = ws.repo(name, "trunk");
    let first = repo.commit(&[("registry.json", b"{\"v\":1}"), ("catalog/servers.json", b"[\"sub\"]")], "first");
    repo.tag("v1", Some("release 1"));
    repo.tag("v1-light", None);
    let second = repo.commit(&[("registry.json", b"{\"v\":2}")], "second");
    repo.checkout("dev");
    let dev = repo.commit(&[("registry.json", b"{\"v\":\"dev\"}")], "dev");
    repo.checkout("trunk");
    History { repo, first, second, dev }
}

#[tokio::test]
async fn file_urls_resolve_default_branch_branches_tags_and_commits() {
    let ws = Workspace::new();
    let h = history(&ws, "catalog");
    let url = h.repo.file_url();
    let cases: Vec<(Option<GitRef>, String, &str)> = vec![
        (None, format!("trunk@sha1:{}", h.second), "{\"v\":2}"),
        (Some(GitRef::Branch("dev".into())), format!("dev@sha1:{}", h.dev), "{\"v\":\"dev\"}"),
        (Some(GitRef::Tag("v1".into())), format!("v1@sha1:{}", h.first), "{\"v\":1}"),
        (Some(GitRef::Tag("v1-light".into())), format!("v1-light@sha1:{}", h.first), "{\"v\":1}"),
        (Some(GitRef::Commit(h.first.clone())), format!("sha1:{}", h.first), "{\"v\":1}"),
        (Some(GitRef::Commit(h.dev[..8].to_owned())), format!("sha1:{}", h.dev), "{\"v\":\"dev\"}"),
    ];
    for (i, (reference, revision, content)) in cases.into_iter().enumerate() {
        let source = source(&ws, &format!("r{i}"), spec(url.clone(), reference));
        let got = fetched(&source, None).await;
        assert_eq!(got.revision, revision, "{}", source.describe());
        assert_eq!(text(&got), content, "{}", source.describe());
        let commit = revision.rsplit(':').next().expect("commit");
        assert_eq!(got.validators.commit.as_deref(), Some(commit));
        assert!(got.validators.content_sha256.is_some());
        let again = source.fetch(Some(&got.validators)).await.expect("second fetch");
        assert_eq!(again, FetchOutcome::NotModified { revision, validators: got.validators.clone() });
    }
}

#[tokio::test]
async fn the_path_may_point_into_a_subfolder() {
    let ws = Workspace::new();
    let h = history(&ws, "catalog");
    let mut spec = spec(h.repo.file_url(), Some(GitRef::Tag("v1".into())));
    spec.path = Some("./catalog/servers.json".into());
    let got = fetched(&source(&ws, "sub", spec), None).await;
    assert_eq!(text(&got), "[\"sub\"]");
}

#[tokio::test]
async fn http_fetches_are_incremental_and_reuse_the_cache() {
    let ws = Workspace::new();
    let repo = ws.repo("catalog", "main");
    repo.commit(&[("registry.json", b"{\"v\":1}"), ("big.bin", &[7u8; 20_000])], "first");
    let server = GitHttp::start(ws.repos(), ws.home(), USER, PASSWORD, Mode::Serve).await;
    let mut spec = spec(server.url("catalog"), Some(GitRef::Branch("main".into())));
    spec.auth = basic(&ws, PASSWORD);
    let source = source(&ws, "team/catalog", spec);

    let first = fetched(&source, None).await;
    assert_eq!(text(&first), "{\"v\":1}");
    let cache = source.cache_dir().to_path_buf();
    assert!(cache.starts_with(ws.cache()), "{}", cache.display());
    let first_packs = pack_files(&cache);
    assert_eq!(first_packs.len(), 1, "one pack after the clone");
    let shallow = std::fs::read_to_string(cache.join("shallow")).expect("a shallow clone");
    assert_eq!(shallow.trim(), first.validators.commit.as_deref().expect("commit"));

    let unchanged = source.fetch(Some(&first.validators)).await.expect("unchanged");
    assert!(matches!(unchanged, FetchOutcome::NotModified { ref revision, .. } if *revision == first.revision));

    let second_commit = repo.commit(&[("registry.json", b"{\"v\":2}")], "second");
    let second = fetched(&source, Some(&first.validators)).await;
    assert_eq!(text(&second), "{\"v\":2}");
    assert_eq!(second.revision, format!("main@sha1:{second_commit}"));
    let second_packs = pack_files(&cache);
    assert_eq!(second_packs.len(), 2, "the second fetch added a pack to the same clone");
    assert!(first_packs.iter().all(|p| second_packs.contains(p)), "the first pack is still there: no re-clone");
    let new_pack = second_packs.iter().find(|p| !first_packs.contains(p)).expect("new pack");
    let new_size = std::fs::metadata(new_pack).expect("pack").len();
    assert!(new_size < 2_000, "the incremental pack holds only the change ({new_size} bytes)");

    // The repository vanishes from the server: a clear error, and the cache is kept for when it returns.
    std::fs::rename(&repo.bare, ws.repos().join("moved.git")).expect("move the repository away");
    let err = source.fetch(Some(&second.validators)).await.expect_err("gone");
    assert!(err.to_string().contains("404"), "{err}");
    assert_eq!(pack_files(&cache), second_packs, "a remote failure does not wipe the cache");
}

#[tokio::test]
async fn bearer_tokens_are_sent_as_the_password() {
    let ws = Workspace::new();
    let repo = ws.repo("catalog", "main");
    repo.commit(&[("registry.json", b"[]")], "first");
    let server = GitHttp::start(ws.repos(), ws.home(), "x-access-token", "tok-123", Mode::Serve).await;
    let mut spec = spec(server.url("catalog"), None);
    spec.auth = Some(AuthSpec::Bearer { token: secret_file(&ws, "token", "tok-123") });
    let got = fetched(&source(&ws, "bearer", spec), None).await;
    assert_eq!(text(&got), "[]");
    assert!(got.revision.starts_with("main@sha1:"), "{}", got.revision);
}

/// A credential resolver whose password can be rotated, standing in for the operator's Secret reader.
struct Rotating(std::sync::Mutex<String>);

#[async_trait::async_trait]
impl thv_sources::CredentialResolver for Rotating {
    async fn resolve(
        &self,
        secret: &thv_sources::KubernetesSecretAuth,
    ) -> Result<thv_sources::Credentials, SourceError> {
        assert_eq!(secret.password_key.as_deref(), Some("password"));
        let password = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        Ok(thv_sources::Credentials::Basic { username: USER.to_owned(), password: format!("{password}\n") })
    }
}

#[tokio::test]
async fn kubernetes_secret_credentials_are_resolved_at_each_fetch() {
    let ws = Workspace::new();
    let repo = ws.repo("catalog", "main");
    repo.commit(&[("registry.json", b"[]")], "first");
    let server = GitHttp::start(ws.repos(), ws.home(), USER, PASSWORD, Mode::Serve).await;
    let mut spec = spec(server.url("catalog"), None);
    spec.auth = Some(AuthSpec::KubernetesSecret(thv_sources::KubernetesSecretAuth {
        name: "git-creds".into(),
        token_key: None,
        username_key: Some("username".into()),
        password_key: Some("password".into()),
    }));
    // Without a resolver (outside the operator) such credentials are refused.
    let err = source(&ws, "none", spec.clone()).fetch(None).await.expect_err("no resolver");
    assert!(err.to_string().contains("only be read by the operator"), "{err}");

    let resolver = std::sync::Arc::new(Rotating(std::sync::Mutex::new("stale-password-0815".into())));
    let ctx = SourceContext::new(ws.cache(), "rotating").with_credentials(resolver.clone());
    let source = GitSource::new(spec, &ctx).expect("valid spec");
    let err = source.fetch(None).await.expect_err("stale password");
    assert!(matches!(err, SourceError::Unauthorized { status: 401, .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("stale-password-0815"), "{err:?}");
    // The Secret is rotated: the next fetch uses the new value, with no new source.
    *resolver.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = PASSWORD.to_owned();
    assert_eq!(text(&fetched(&source, None).await), "[]");
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_auth_errors_without_secrets() {
    let ws = Workspace::new();
    let repo = ws.repo("catalog", "main");
    repo.commit(&[("registry.json", b"[]")], "first");
    let server = GitHttp::start(ws.repos(), ws.home(), USER, PASSWORD, Mode::Serve).await;

    let wrong = "wrong-password-4711";
    let mut with_wrong = spec(server.url("catalog"), None);
    with_wrong.auth = basic(&ws, wrong);
    let err = source(&ws, "wrong", with_wrong).fetch(None).await.expect_err("wrong password");
    assert!(matches!(err, SourceError::Unauthorized { status: 401, .. }), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(wrong), "{text}");
        assert!(text.contains(&server.url("catalog")), "{text}");
    }

    let in_url = server.url("catalog").replace("http://", &format!("http://{USER}:{wrong}@"));
    let err = source(&ws, "in-url", spec(in_url, None)).fetch(None).await.expect_err("wrong password in URL");
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(wrong), "{err:?}");

    let err = source(&ws, "none", spec(server.url("catalog"), None)).fetch(None).await.expect_err("no credentials");
    assert!(matches!(err, SourceError::Unauthorized { status: 401, .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn missing_paths_refs_and_repositories_are_named() {
    let ws = Workspace::new();
    let h = history(&ws, "catalog");
    let url = h.repo.file_url();

    let mut missing_path = spec(url.clone(), Some(GitRef::Branch("dev".into())));
    missing_path.path = Some("servers/none.json".into());
    let err = source(&ws, "a", missing_path).fetch(None).await.expect_err("missing path");
    let message = err.to_string();
    for part in [url.as_str(), "servers/none.json", "dev"] {
        assert!(message.contains(part), "{message} names {part}");
    }
    assert!(matches!(err, SourceError::NotFound { .. }) && !err.is_retryable(), "{err:?}");

    let mut directory = spec(url.clone(), None);
    directory.path = Some("catalog".into());
    let err = source(&ws, "b", directory).fetch(None).await.expect_err("a directory");
    assert!(err.to_string().contains("is not a file"), "{err}");

    for (reference, named) in [
        (GitRef::Branch("no-such-branch".into()), "branch 'no-such-branch'"),
        (GitRef::Tag("v9".into()), "tag 'v9'"),
        (GitRef::Commit("0123456789abcdef0123456789abcdef01234567".into()), "commit 0123456789"),
        (GitRef::Commit("abcdef0".into()), "commit abcdef0"),
    ] {
        let err = source(&ws, "c", spec(url.clone(), Some(reference))).fetch(None).await.expect_err(named);
        let message = err.to_string();
        assert!(message.contains(named) && message.contains(&url), "{message}");
        assert!(!err.is_retryable(), "a missing {named} waits for a fix: {err:?}");
    }

    let err = source(&ws, "d", spec(url.clone(), Some(GitRef::Branch("bad:name*".into())))).fetch(None).await;
    assert!(matches!(err, Err(SourceError::InvalidSpec(_))), "{err:?}");

    let absent = format!("file://{}", ws.repos().join("absent.git").display());
    let err = source(&ws, "e", spec(absent.clone(), None)).fetch(None).await.expect_err("no repository");
    assert!(err.to_string().contains(&absent), "{err}");
}

#[tokio::test]
async fn a_stalled_server_times_out() {
    let ws = Workspace::new();
    let server = GitHttp::start(ws.repos(), ws.home(), USER, PASSWORD, Mode::Stall).await;
    let mut spec = spec(server.url("catalog"), None);
    spec.timeout = Some(Duration::from_millis(700));
    let started = Instant::now();
    let err = source(&ws, "stall", spec).fetch(None).await.expect_err("stalled");
    assert!(matches!(err, SourceError::Timeout { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(server.requests() >= 1);
}

#[tokio::test]
async fn packs_above_the_limit_are_refused() {
    let ws = Workspace::new();
    let repo = ws.repo("catalog", "main");
    // Incompressible content, so the pack is about as large as the file.
    let mut state = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    repo.commit(&[("registry.json", b"[]"), ("noise.bin", &noise)], "big");
    let mut limited = spec(repo.file_url(), None);
    limited.max_bytes = Some(16 * 1024);
    let err = source(&ws, "big", limited.clone()).fetch(None).await.expect_err("too large");
    assert!(matches!(err, SourceError::TooLarge { limit: 16_384, .. }), "{err:?}");

    // A small pack that inflates to an object above the limit is refused as well.
    repo.git(&["rm", "-q", "noise.bin"]);
    repo.commit(&[("zeros.bin", &[0u8; 256 * 1024])], "compressible");
    let err = source(&ws, "zeros", limited).fetch(None).await.expect_err("object too large");
    assert!(matches!(err, SourceError::TooLarge { limit: 16_384, .. }), "{err:?}");
    assert!(err.to_string().contains("an object"), "{err}");
}

#[tokio::test]
async fn a_corrupt_cache_is_recloned() {
    let ws = Workspace::new();
    let h = history(&ws, "catalog");
    let source = source(&ws, "corrupt", spec(h.repo.file_url(), None));
    let first = fetched(&source, None).await;
    let cache = source.cache_dir().to_path_buf();

    // Damaged objects: every pack truncated.
    for pack in pack_files(&cache) {
        std::fs::write(&pack, b"PACK").expect("truncate");
    }
    let again = fetched(&source, None).await;
    assert_eq!(again.payload, first.payload);

    // A cache that is no repository at all.
    std::fs::write(cache.join("HEAD"), b"garbage").expect("corrupt HEAD");
    std::fs::remove_dir_all(cache.join("refs")).expect("remove refs");
    let again = fetched(&source, None).await;
    assert_eq!(again.payload, first.payload);
}

#[tokio::test]
async fn unsupported_urls_and_paths_are_spec_errors() {
    let ws = Workspace::new();
    let ctx = SourceContext::new(ws.cache(), "x");
    let err = GitSource::new(spec("ssh://git@example.com/r.git".into(), None), &ctx).expect_err("ssh");
    assert!(matches!(err, SourceError::InvalidSpec(_)), "{err:?}");
    let mut escaping = spec("https://example.com/r.git".into(), None);
    escaping.path = Some("../etc/passwd".into());
    assert!(matches!(GitSource::new(escaping, &ctx), Err(SourceError::InvalidSpec(_))));
    let built = thv_sources::build(&thv_sources::SourceSpec::Git(spec("https://example.com/r.git".into(), None)), &ctx)
        .expect("git sources are built");
    assert_eq!(built.describe(), "git https://example.com/r.git:registry.json");
    // A timeout that would overflow the clock is refused when the source is built, not a panic on fetch.
    let mut huge = spec("https://example.com/r.git".into(), None);
    huge.timeout = Some(Duration::from_secs(400_000_000_000 * 31_557_600));
    let err = GitSource::new(huge, &ctx).expect_err("huge timeout");
    assert!(matches!(&err, SourceError::InvalidSpec(m) if m.starts_with("source.git.timeout: ")), "{err:?}");
}

#[tokio::test]
async fn catalog_files_above_64_mib_are_refused() {
    let ws = Workspace::new();
    let repo = ws.repo("catalog", "main");
    let big = vec![b' '; 64 * 1024 * 1024 + 1];
    repo.commit(&[("registry.json", &big)], "huge but compressible");
    let err = source(&ws, "huge", spec(repo.file_url(), None)).fetch(None).await.expect_err("too large");
    assert!(matches!(err, SourceError::TooLarge { limit: 67_108_864, .. }), "{err:?}");
    assert!(err.to_string().contains("registry.json"), "{err}");
}
