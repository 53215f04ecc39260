//! A catalog read from another server speaking the MCP Registry API.
//!
//! A fetch walks `GET {base}/v0.1/servers?limit=100` page by page, following `metadata.nextCursor` until it is
//! absent or empty (falling back to `/v0` when `/v0.1/servers` answers 404), and returns the `{server, _meta}`
//! records as one JSON array, byte for byte as the server sent them, in page order.
//!
//! Between full walks (every `fullResyncInterval`, default 24 h) it asks only for records changed since the
//! last walk started (`updated_since`, which makes the server include deleted records) and returns them as a
//! [`Payload::Delta`]; no changes is [`FetchOutcome::NotModified`]. Each walk records its *start* time, so
//! records updated while it ran are seen again by the next one.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::http::{self, ClientOptions, Get, HttpClient};
use crate::{ApiSpec, FetchOutcome, Fetched, Payload, Source, SourceError, Validators, secret, sha256_revision};

/// Default time between full walks.
pub const DEFAULT_FULL_RESYNC_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// Default time for one walk.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Default largest page body (16 MiB).
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 16 * 1024 * 1024;
/// Default most pages per walk.
pub const DEFAULT_MAX_PAGES: u32 = 10_000;
/// Largest output of one walk (256 MiB, as for file sources).
pub const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
/// Records asked for per page (the API's maximum).
const PAGE_SIZE: &str = "100";
/// Redirects followed per page.
const MAX_REDIRECTS: u32 = 5;

/// Walks a registry API.
#[derive(Debug, Clone)]
pub struct ApiSource {
    spec: ApiSpec,
    base: Url,
    /// The base as messages show it: query values hidden, so page URLs built on it show only ours.
    shown_base: Url,
    shown: String,
    client: HttpClient,
    /// Reads Kubernetes Secret credentials at each fetch.
    credentials: secret::Resolver,
}

/// One page of `GET /servers`; records are kept as raw JSON.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    servers: Vec<&'a RawValue>,
    #[serde(default)]
    metadata: Option<PageMetadata>,
}

#[derive(Deserialize)]
struct PageMetadata {
    #[serde(default, rename = "nextCursor", alias = "next_cursor")]
    next_cursor: Option<String>,
}

/// What a walk asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Everything.
    Full,
    /// Records updated after this instant.
    Since(Timestamp),
}

/// The records of a walk as a JSON array.
struct Walked {
    bytes: Vec<u8>,
    records: usize,
}

impl ApiSource {
    /// A source for `spec`. Fails on a duration out of range, a bad URL, bad headers or an unreadable CA
    /// bundle; secrets are read only when fetching.
    pub fn new(spec: ApiSpec) -> Result<Self, SourceError> {
        spec.check()?;
        let mut base = http::parse_url(&spec.url)?;
        base.set_fragment(None);
        let shown = http::display_url(&base);
        base.path_segments_mut()
            .map_err(|()| SourceError::InvalidSpec(format!("{shown} cannot be a base URL")))?
            .pop_if_empty();
        let client = HttpClient::new(ClientOptions {
            headers: &spec.headers,
            ca_bundle: spec.ca_bundle.as_deref(),
            max_redirects: MAX_REDIRECTS,
            allow_link_local: spec.allow_link_local,
        })?;
        let shown = http::display_url(&base);
        let shown_base = Url::parse(&shown).unwrap_or_else(|_| base.clone());
        Ok(Self { spec, base, shown_base, shown, client, credentials: secret::Resolver::default() })
    }

    /// Full walk, or changes since the last walk when a recent full walk is on record.
    fn plan(&self, previous: Option<&Validators>, start: Timestamp) -> Walk {
        let Some(previous) = previous else { return Walk::Full };
        let parse = |t: Option<&str>| t.and_then(|t| t.parse::<Timestamp>().ok());
        let (Some(since), Some(full)) =
            (parse(previous.api_synced_at.as_deref()), parse(previous.api_full_synced_at.as_deref()))
        else {
            return Walk::Full;
        };
        let interval = self.spec.full_resync_interval.unwrap_or(DEFAULT_FULL_RESYNC_INTERVAL);
        // A negative age (the clock went back) fails the conversion and forces a full walk.
        match Duration::try_from(start.duration_since(full)) {
            Ok(age) if age < interval && since <= start => Walk::Since(since),
            _ => Walk::Full,
        }
    }

    /// `{base}/{prefix}/servers?limit=100[&cursor=…][&version=latest][&updated_since=…]`.
    fn page_url(&self, prefix: &str, cursor: Option<&str>, walk: Walk) -> Result<Url, SourceError> {
        self.page_url_on(&self.base, prefix, cursor, walk)
    }

    /// The page URL as messages show it: the base's query values hidden, the query this source adds kept.
    fn shown_page_url(&self, prefix: &str, cursor: Option<&str>, walk: Walk) -> String {
        self.page_url_on(&self.shown_base, prefix, cursor, walk).map_or_else(|_| self.shown.clone(), String::from)
    }

    fn page_url_on(&self, base: &Url, prefix: &str, cursor: Option<&str>, walk: Walk) -> Result<Url, SourceError> {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| SourceError::InvalidSpec(format!("{} cannot be a base URL", self.shown)))?
            .extend([prefix, "servers"]);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", PAGE_SIZE);
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
            if self.spec.latest_only {
                query.append_pair("version", "latest");
            }
            if let Walk::Since(since) = walk {
                query.append_pair("updated_since", &since.to_string());
            }
        }
        Ok(url)
    }

    /// Walks every page.
    async fn walk(&self, walk: Walk, authorization: Option<&HeaderValue>) -> Result<Walked, SourceError> {
        let max_pages = self.spec.max_pages.unwrap_or(DEFAULT_MAX_PAGES);
        let max_page_bytes = self.spec.max_page_bytes.unwrap_or(DEFAULT_MAX_PAGE_BYTES);
        let mut prefix = "v0.1";
        let mut cursor: Option<String> = None;
        let mut pages: u32 = 0;
        let mut out = Walked { bytes: b"[".to_vec(), records: 0 };
        loop {
            if pages >= max_pages {
                return Err(SourceError::BadContent {
                    what: format!("registry API {}", self.shown),
                    message: format!("the listing did not end within {max_pages} pages (maxPages)"),
                });
            }
            let url = self.page_url(prefix, cursor.as_deref(), walk)?;
            let shown = self.shown_page_url(prefix, cursor.as_deref(), walk);
            let what = format!("page {shown}");
            let response = self
                .client
                .get(Get {
                    url: &url,
                    shown: &shown,
                    authorization,
                    if_none_match: None,
                    if_modified_since: None,
                    accept: Some("application/json"),
                    max_bytes: max_page_bytes,
                    what: &what,
                })
                .await?;
            if response.status == StatusCode::NOT_FOUND && pages == 0 && prefix == "v0.1" {
                prefix = "v0";
                continue;
            }
            if !response.status.is_success() {
                return Err(http::status_error(&shown, response.status));
            }
            pages += 1;
            let next = append_page(&mut out, &response.body, &shown)?;
            if out.bytes.len() as u64 > MAX_TOTAL_BYTES {
                return Err(SourceError::TooLarge {
                    what: format!("the records of registry API {}", self.shown),
                    limit: MAX_TOTAL_BYTES,
                });
            }
            match next {
                Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                    return Err(SourceError::BadContent {
                        what: shown,
                        message: format!("nextCursor {next:?} repeats the cursor of the request"),
                    });
                }
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        out.bytes.push(b']');
        Ok(out)
    }

    /// The same source, reading [`AuthSpec::KubernetesSecret`](crate::AuthSpec::KubernetesSecret) credentials
    /// through `resolver` at each fetch (without one, such credentials are refused).
    pub fn with_credentials(mut self, resolver: Option<std::sync::Arc<dyn crate::CredentialResolver>>) -> Self {
        self.credentials = secret::Resolver(resolver);
        self
    }

    async fn fetch_once(&self, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
        let start = now();
        let walk = self.plan(previous, start);
        let authorization = match &self.spec.auth {
            Some(auth) => Some(secret::authorization(auth, self.credentials.get()).await?),
            None => None,
        };
        let walked = self.walk(walk, authorization.as_ref()).await?;
        let revision = sha256_revision(&walked.bytes);
        let started = start.to_string();
        match walk {
            Walk::Full => {
                let validators = Validators {
                    api_synced_at: Some(started.clone()),
                    api_full_synced_at: Some(started),
                    content_sha256: Some(revision.clone()),
                    ..Validators::default()
                };
                // Comparable only when the previous output was a full walk with no delta after it.
                let previous_full = previous
                    .filter(|p| p.api_synced_at.is_some() && p.api_synced_at == p.api_full_synced_at)
                    .and_then(|p| p.content_sha256.as_deref());
                if previous_full == Some(revision.as_str()) {
                    return Ok(FetchOutcome::NotModified { revision, validators });
                }
                Ok(FetchOutcome::Fetched(Fetched { payload: Payload::Full(walked.bytes), revision, validators }))
            }
            Walk::Since(_) => {
                let previous = previous.cloned().unwrap_or_default();
                if walked.records == 0 {
                    let revision = previous.content_sha256.clone().unwrap_or(revision);
                    let validators = Validators {
                        api_synced_at: Some(started),
                        api_full_synced_at: previous.api_full_synced_at,
                        content_sha256: Some(revision.clone()),
                        ..Validators::default()
                    };
                    return Ok(FetchOutcome::NotModified { revision, validators });
                }
                let validators = Validators {
                    api_synced_at: Some(started),
                    api_full_synced_at: previous.api_full_synced_at,
                    content_sha256: Some(revision.clone()),
                    ..Validators::default()
                };
                Ok(FetchOutcome::Fetched(Fetched { payload: Payload::Delta(walked.bytes), revision, validators }))
            }
        }
    }
}

/// Appends a page's records to `out` and returns its non-empty `nextCursor`.
fn append_page(out: &mut Walked, body: &[u8], url: &str) -> Result<Option<String>, SourceError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let page: Page<'_> = serde_json::from_slice(body).map_err(|e| SourceError::BadContent {
        what: url.to_owned(),
        message: format!("not a registry API page (a JSON object with a `servers` array): {e}"),
    })?;
    for record in page.servers {
        if out.records > 0 {
            out.bytes.push(b',');
        }
        out.bytes.extend_from_slice(record.get().as_bytes());
        out.records += 1;
    }
    Ok(page.metadata.and_then(|m| m.next_cursor).filter(|c| !c.is_empty()))
}

/// Now, to the microsecond (the precision registries store).
fn now() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
}

#[async_trait]
impl Source for ApiSource {
    fn describe(&self) -> String {
        format!("registryApi {}", self.shown)
    }

    async fn fetch(&self, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
        let limit = self.spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
        tokio::time::timeout(limit, self.fetch_once(previous)).await.unwrap_or_else(|_| {
            Err(SourceError::Timeout {
                what: format!("walking registry API {}", self.shown),
                seconds: http::whole_seconds(limit),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> ApiSpec {
        ApiSpec::new(url)
    }

    #[test]
    fn page_urls_encode_the_cursor_and_keep_the_base_path() {
        let mut s = spec("https://user:pw@example.com/registry/corp/");
        s.latest_only = true;
        let source = ApiSource::new(s).expect("source");
        let since: Timestamp = "2025-12-18T10:00:00.5Z".parse().expect("ts");
        let url = source.page_url("v0.1", Some("io.github.a/b:1.0.0+build"), Walk::Since(since)).expect("url");
        assert_eq!(url.path(), "/registry/corp/v0.1/servers");
        assert_eq!(
            url.query(),
            Some(
                "limit=100&cursor=io.github.a%2Fb%3A1.0.0%2Bbuild&version=latest&updated_since=2025-12-18T10%3A00%3A00.5Z"
            )
        );
        assert_eq!(source.describe(), "registryApi https://example.com/registry/corp");
    }

    #[test]
    fn shown_page_urls_hide_the_base_query_and_keep_ours() {
        let source = ApiSource::new(spec("https://example.com/r?token=S3CRET")).expect("source");
        assert_eq!(source.describe(), "registryApi https://example.com/r?token=***");
        let real = source.page_url("v0.1", Some("a/b:1"), Walk::Full).expect("url");
        assert_eq!(real.query(), Some("token=S3CRET&limit=100&cursor=a%2Fb%3A1"));
        let shown = source.shown_page_url("v0.1", Some("a/b:1"), Walk::Full);
        assert_eq!(shown, "https://example.com/r/v0.1/servers?token=***&limit=100&cursor=a%2Fb%3A1");
    }

    #[test]
    fn walks_are_incremental_only_after_a_recent_full_walk() {
        let source = ApiSource::new(spec("https://example.com")).expect("source");
        let start: Timestamp = "2025-12-18T12:00:00Z".parse().expect("ts");
        let validators = |synced: &str, full: &str| Validators {
            api_synced_at: Some(synced.into()),
            api_full_synced_at: Some(full.into()),
            ..Validators::default()
        };
        assert_eq!(source.plan(None, start), Walk::Full);
        assert_eq!(source.plan(Some(&Validators::default()), start), Walk::Full);
        let recent = validators("2025-12-18T11:00:00Z", "2025-12-18T01:00:00Z");
        assert_eq!(source.plan(Some(&recent), start), Walk::Since("2025-12-18T11:00:00Z".parse().expect("ts")));
        let stale = validators("2025-12-18T11:00:00Z", "2025-12-17T11:00:00Z");
        assert_eq!(source.plan(Some(&stale), start), Walk::Full);
        let future = validators("2025-12-18T13:00:00Z", "2025-12-18T11:00:00Z");
        assert_eq!(source.plan(Some(&future), start), Walk::Full);
        let garbage = validators("yesterday", "2025-12-18T11:00:00Z");
        assert_eq!(source.plan(Some(&garbage), start), Walk::Full);
    }

    #[test]
    fn pages_must_be_objects_with_a_servers_array() {
        let mut out = Walked { bytes: b"[".to_vec(), records: 0 };
        for bad in [&b"[]"[..], b"{}", b"{\"servers\": {}}", b"<html>", b""] {
            let err = append_page(&mut out, bad, "https://example.com/v0.1/servers").expect_err("bad page");
            assert!(matches!(err, SourceError::BadContent { .. }), "{err}");
            assert!(err.to_string().contains("https://example.com/v0.1/servers"), "{err}");
        }
        let next = append_page(
            &mut out,
            b"\xEF\xBB\xBF{\"servers\": [{\"a\": 1}, {\"b\": 2.50}], \"metadata\": {\"nextCursor\": \"\"}}",
            "u",
        )
        .expect("page");
        assert_eq!(next, None);
        assert_eq!(out.bytes, b"[{\"a\": 1},{\"b\": 2.50}");
        assert_eq!(out.records, 2);
    }
}
