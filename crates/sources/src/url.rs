//! A catalog at an HTTP(S) URL.
//!
//! One GET per fetch, conditional on the previous `ETag`/`Last-Modified`; a 304 is "not modified" without a
//! body, and so is a 200 whose body hashes to the previous content. Bounded in body size (counted after
//! decompression), total time and redirects.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};

use crate::http::{self, ClientOptions, Get, HttpClient};
use crate::{FetchOutcome, Fetched, Payload, Source, SourceError, UrlSpec, Validators, secret, sha256_revision};

/// Default largest body (64 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Default time for one fetch.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default redirects followed.
pub const DEFAULT_MAX_REDIRECTS: u32 = 5;

/// Fetches a catalog document over HTTP(S).
#[derive(Debug, Clone)]
pub struct UrlSource {
    spec: UrlSpec,
    url: Url,
    shown: String,
    client: HttpClient,
    /// Reads Kubernetes Secret credentials at each fetch.
    credentials: secret::Resolver,
}

impl UrlSource {
    /// A source for `spec`. Fails on a duration out of range, a bad URL, bad headers or an unreadable CA
    /// bundle; secrets are read only when fetching.
    pub fn new(spec: UrlSpec) -> Result<Self, SourceError> {
        spec.check()?;
        let url = http::parse_url(&spec.url)?;
        let client = HttpClient::new(ClientOptions {
            headers: &spec.headers,
            ca_bundle: spec.ca_bundle.as_deref(),
            max_redirects: spec.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS),
            allow_link_local: spec.allow_link_local,
        })?;
        let shown = http::display_url(&url);
        Ok(Self { spec, url, shown, client, credentials: secret::Resolver::default() })
    }

    /// The same source, reading [`AuthSpec::KubernetesSecret`](crate::AuthSpec::KubernetesSecret) credentials
    /// through `resolver` at each fetch (without one, such credentials are refused).
    pub fn with_credentials(mut self, resolver: Option<std::sync::Arc<dyn crate::CredentialResolver>>) -> Self {
        self.credentials = secret::Resolver(resolver);
        self
    }

    async fn fetch_once(&self, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
        let authorization: Option<HeaderValue> = match &self.spec.auth {
            Some(auth) => Some(secret::authorization(auth, self.credentials.get()).await?),
            None => None,
        };
        // Conditional headers only when the previous content's revision is known, so a 304 can report it.
        let previous_revision = previous.and_then(|p| p.content_sha256.as_deref());
        let conditional = previous.filter(|_| previous_revision.is_some());
        let what = format!("response of {}", self.shown);
        let response = self
            .client
            .get(Get {
                url: &self.url,
                shown: &self.shown,
                authorization: authorization.as_ref(),
                if_none_match: conditional.and_then(|p| p.etag.as_deref()),
                if_modified_since: conditional.and_then(|p| p.last_modified.as_deref()),
                accept: None,
                max_bytes: self.spec.max_bytes.unwrap_or(DEFAULT_MAX_BYTES),
                what: &what,
            })
            .await?;
        match (response.status, conditional, previous_revision) {
            (StatusCode::NOT_MODIFIED, Some(previous), Some(revision)) => {
                let validators = Validators {
                    etag: response.etag.or_else(|| previous.etag.clone()),
                    last_modified: response.last_modified.or_else(|| previous.last_modified.clone()),
                    content_sha256: Some(revision.to_owned()),
                    ..Validators::default()
                };
                Ok(FetchOutcome::NotModified { revision: revision.to_owned(), validators })
            }
            (status, _, _) if status.is_success() => {
                let revision = sha256_revision(&response.body);
                let validators = Validators {
                    etag: response.etag,
                    last_modified: response.last_modified,
                    content_sha256: Some(revision.clone()),
                    ..Validators::default()
                };
                if previous_revision == Some(revision.as_str()) {
                    return Ok(FetchOutcome::NotModified { revision, validators });
                }
                Ok(FetchOutcome::Fetched(Fetched { payload: Payload::Full(response.body), revision, validators }))
            }
            (status, _, _) => Err(http::status_error(&self.shown, status)),
        }
    }
}

#[async_trait]
impl Source for UrlSource {
    fn describe(&self) -> String {
        format!("url {}", self.shown)
    }

    async fn fetch(&self, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
        let limit = self.spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
        tokio::time::timeout(limit, self.fetch_once(previous)).await.unwrap_or_else(|_| {
            Err(SourceError::Timeout { what: format!("fetching {}", self.shown), seconds: http::whole_seconds(limit) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> UrlSpec {
        UrlSpec::new(url)
    }

    #[test]
    fn bad_urls_are_invalid_specs_without_credentials() {
        for bad in ["not a url", "ftp://example.com/r.json", "file:///etc/passwd"] {
            let err = UrlSource::new(spec(bad)).expect_err(bad);
            assert!(matches!(err, SourceError::InvalidSpec(_)), "{bad}: {err}");
        }
        let err = UrlSource::new(spec("ftp://user:hunter2@example.com/r.json")).expect_err("ftp");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = UrlSource::new(spec("http://user:hunter2@exa mple.com/")).expect_err("space");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn describe_hides_userinfo() {
        let source = UrlSource::new(spec("https://user:hunter2@example.com/r.json")).expect("source");
        assert_eq!(source.describe(), "url https://example.com/r.json");
    }

    #[test]
    fn bad_headers_and_ca_bundles_are_invalid_specs() {
        let mut s = spec("https://example.com/r.json");
        s.headers.insert("X-Key".into(), "line\nbreak-secret".into());
        let err = UrlSource::new(s).expect_err("bad header");
        assert!(!err.to_string().contains("secret"), "{err}");
        let mut s = spec("https://example.com/r.json");
        s.ca_bundle = Some("/nonexistent/ca.pem".into());
        assert!(UrlSource::new(s).expect_err("missing bundle").to_string().contains("/nonexistent/ca.pem"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").expect("write");
        let mut s = spec("https://example.com/r.json");
        s.ca_bundle = Some(path);
        assert!(matches!(UrlSource::new(s), Err(SourceError::InvalidSpec(_))));
    }
}
