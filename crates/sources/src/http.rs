//! The HTTP client shared by the URL and registry-API sources.
//!
//! One `reqwest` client per source: rustls with the `ring` provider and the platform's trust store (plus an
//! optional PEM bundle), gzip, a redirect policy that counts hops and re-checks every target against the address
//! policy, a resolver that refuses link-local and metadata addresses, and no `Referer`. [`HttpClient::get`]
//! reads at most a given number of (decompressed) body bytes while streaming, so a large or gzip-bomb response
//! stops early. Failures become [`SourceError`]s that name the URL without its userinfo or query values
//! ([`redact_url`]) and never include header values.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};

use crate::address::{self, GuardedResolver, Refused};
use crate::{SourceError, redact_url};

/// The `User-Agent` sent with every request.
const USER_AGENT: &str = concat!("thv-registry/", env!("CARGO_PKG_VERSION"));

/// Most bytes reserved up front from a `Content-Length`.
const RESERVE_LIMIT: u64 = 8 * 1024 * 1024;

/// How to build an [`HttpClient`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientOptions<'a> {
    /// Extra headers sent with every request.
    pub headers: &'a BTreeMap<String, String>,
    /// PEM file of extra CA certificates.
    pub ca_bundle: Option<&'a Path>,
    /// Redirects followed per request.
    pub max_redirects: u32,
    /// Allow link-local and metadata addresses.
    pub allow_link_local: bool,
}

/// One GET.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Get<'a> {
    /// Where.
    pub url: &'a Url,
    /// The URL as errors show it (without secrets: [`display_url`], or built on a redacted base).
    pub shown: &'a str,
    /// `Authorization` header (sensitive).
    pub authorization: Option<&'a HeaderValue>,
    /// `If-None-Match` value.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since` value.
    pub if_modified_since: Option<&'a str>,
    /// `Accept` value, if not the default.
    pub accept: Option<&'static str>,
    /// Largest body read, after decompression.
    pub max_bytes: u64,
    /// What the body is, for [`SourceError::TooLarge`] (e.g. `response of https://…`).
    pub what: &'a str,
}

/// A response. The body is read only for 2xx statuses; it is empty otherwise.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// Status code.
    pub status: StatusCode,
    /// `ETag`, if sent.
    pub etag: Option<String>,
    /// `Last-Modified`, if sent.
    pub last_modified: Option<String>,
    /// The body (2xx only).
    pub body: Vec<u8>,
}

/// A configured client.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    headers: HeaderMap,
    allow_link_local: bool,
}

/// Redirects beyond the limit; found again in the error chain by [`request_error`].
#[derive(Debug, thiserror::Error)]
#[error("more than {0} redirects")]
struct TooManyRedirects(u32);

/// Installs the `ring` rustls provider as the process default unless one is already installed.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing a provider is fine: any provider works.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl HttpClient {
    /// Builds a client; fails on bad header names or values and unreadable CA bundles.
    pub fn new(options: ClientOptions<'_>) -> Result<Self, SourceError> {
        ensure_crypto_provider();
        let headers = header_map(options.headers)?;
        let allow_link_local = options.allow_link_local;
        let max_redirects = options.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` starts with the original URL, so it holds one entry per hop taken so far.
            if attempt.previous().len() > max_redirects as usize {
                return attempt.error(TooManyRedirects(max_redirects));
            }
            match address::check_url(attempt.url(), allow_link_local) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        });
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .gzip(true)
            .referer(false)
            .redirect(policy)
            .tls_backend_rustls();
        if !allow_link_local {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        if let Some(path) = options.ca_bundle {
            builder = builder.tls_certs_merge(read_ca_bundle(path)?);
        }
        let client = builder
            .build()
            .map_err(|e| SourceError::InvalidSpec(format!("cannot set up the HTTP client: {}", error_text(e))))?;
        Ok(Self { client, headers, allow_link_local })
    }

    /// Sends a GET and reads a 2xx body up to `max_bytes`.
    pub async fn get(&self, get: Get<'_>) -> Result<Response, SourceError> {
        let shown = get.shown;
        address::check_url(get.url, self.allow_link_local).map_err(forbidden)?;
        let mut headers = self.headers.clone();
        if let Some(accept) = get.accept.filter(|_| !headers.contains_key(header::ACCEPT)) {
            headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        }
        if let Some(auth) = get.authorization {
            headers.insert(header::AUTHORIZATION, auth.clone());
        }
        for (name, value) in
            [(header::IF_NONE_MATCH, get.if_none_match), (header::IF_MODIFIED_SINCE, get.if_modified_since)]
        {
            // Validators come from a previous response; one that is no longer a valid header is just not sent.
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, value);
            }
        }
        let request = self.client.get(get.url.clone()).headers(headers);
        let mut response = request.send().await.map_err(|e| request_error(shown, e))?;
        let status = response.status();
        let text = |name: HeaderName| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let etag = text(header::ETAG);
        let last_modified = text(header::LAST_MODIFIED);
        let mut body = Vec::new();
        if status.is_success() {
            if let Some(length) = response.content_length() {
                if length > get.max_bytes {
                    return Err(SourceError::TooLarge { what: get.what.to_owned(), limit: get.max_bytes });
                }
                // The length is the server's claim: reserve for it, but not more than a few MiB up front.
                body.reserve(usize::try_from(length.min(RESERVE_LIMIT)).unwrap_or(0));
            }
            while let Some(chunk) = response.chunk().await.map_err(|e| request_error(shown, e))? {
                if (body.len() + chunk.len()) as u64 > get.max_bytes {
                    return Err(SourceError::TooLarge { what: get.what.to_owned(), limit: get.max_bytes });
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Response { status, etag, last_modified, body })
    }
}

/// The spec's extra headers. Values are not repeated in errors (they may be API keys); credentials from the
/// spec's `auth` replace an `Authorization` header given here.
fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, SourceError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| SourceError::InvalidSpec(format!("header name {name:?} is not a valid HTTP header name")))?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            SourceError::InvalidSpec(format!("the value of header {name} contains characters not allowed in HTTP"))
        })?;
        // Custom headers often carry API keys: keep them out of `Debug` output.
        value.set_sensitive(true);
        map.append(header, value);
    }
    Ok(map)
}

/// Reads a PEM bundle; at least one certificate is required.
fn read_ca_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, SourceError> {
    let pem = std::fs::read(path)
        .map_err(|e| SourceError::InvalidSpec(format!("cannot read CA bundle {}: {e}", path.display())))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        SourceError::InvalidSpec(format!("CA bundle {} is not valid PEM: {}", path.display(), error_text(e)))
    })?;
    if certs.is_empty() {
        return Err(SourceError::InvalidSpec(format!("CA bundle {} holds no certificates", path.display())));
    }
    Ok(certs)
}

/// The error for a non-success status of the URL shown as `url`: 401/403 are [`SourceError::Unauthorized`].
pub(crate) fn status_error(url: &str, status: StatusCode) -> SourceError {
    let url = url.to_owned();
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SourceError::Unauthorized { url, status: status.as_u16() },
        _ => SourceError::HttpStatus { url, status: status.as_u16() },
    }
}

/// Parses a spec's URL: absolute, `http` or `https`.
pub(crate) fn parse_url(raw: &str) -> Result<Url, SourceError> {
    let url = Url::parse(raw).map_err(|e| SourceError::InvalidSpec(format!("bad URL {}: {e}", redact_url(raw))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SourceError::InvalidSpec(format!("{} is not an http or https URL", display_url(&url))));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(SourceError::InvalidSpec(format!("{} has no host", display_url(&url))));
    }
    Ok(url)
}

/// The URL as shown in messages: without user name and password, query values hidden ([`redact_url`]).
pub(crate) fn display_url(url: &Url) -> String {
    redact_url(url.as_str())
}

fn forbidden(refused: Refused) -> SourceError {
    let reason = format!("{} (set allowLinkLocal if this is intended)", refused.reason);
    SourceError::ForbiddenAddress { host: refused.host, reason }
}

/// A time limit in whole seconds, rounded up so sub-second limits do not read as 0 s.
pub(crate) fn whole_seconds(limit: std::time::Duration) -> u64 {
    limit.as_secs() + u64::from(limit.subsec_nanos() > 0)
}

/// Maps a `reqwest` failure: refused addresses, redirect loops, and the rest of the network.
pub(crate) fn request_error(url: &str, err: reqwest::Error) -> SourceError {
    let err = err.without_url();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return forbidden(refused.clone());
        }
        if let Some(TooManyRedirects(n)) = e.downcast_ref::<TooManyRedirects>() {
            return SourceError::Network { url: url.to_owned(), message: format!("more than {n} redirects") };
        }
        cause = e.source();
    }
    let mut message = error_text(err);
    if message.contains("invalid peer certificate") {
        message.push_str(" (for a server with a private CA, set caBundle to its PEM file)");
    }
    SourceError::Network { url: url.to_owned(), message }
}

/// The error and its causes, `: `-separated, without the request URL (which may hold userinfo).
fn error_text(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut parts = vec![err.to_string()];
    let mut cause = std::error::Error::source(&err);
    while let Some(e) = cause {
        let text = e.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        cause = e.source();
    }
    parts.join(": ")
}
