//! JSON bodies rendered once, with their entity tag, so that answering with one is a reference-count
//! increment: the records of a snapshot and the list pages cached in it ([`PageCache`]).
//!
//! The tag is the one [`crate::routes::conditional::etag`] would compute from the body; that layer uses a
//! tag already on the response instead of hashing the body again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;

use crate::routes::conditional::tag_of;

/// A `200 application/json` body and its strong entity tag.
#[derive(Debug, Clone)]
pub struct Rendered {
    body: Bytes,
    etag: HeaderValue,
}

impl Rendered {
    /// Tags `body`.
    pub fn new(body: impl Into<Bytes>) -> Self {
        let body = body.into();
        let etag = HeaderValue::from_bytes(&tag_of(&body)).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        Self { body, etag }
    }

    /// Heap bytes of the body and the tag.
    pub fn heap_bytes(&self) -> usize {
        self.body.len() + self.etag.len()
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The `200 application/json` response, tagged.
    pub fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::ETAG, self.etag.clone());
        response
    }
}

/// The most pages one registry's snapshot (or the aggregate) keeps.
const MAX_PAGES: usize = 1024;
/// The most page bytes a whole [`crate::Snapshot`] keeps, over all its registries and the aggregate.
pub const MAX_PAGE_BYTES: usize = 16 << 20;

/// Bytes of cached pages, shared by the page caches of one snapshot (at most [`MAX_PAGE_BYTES`]).
pub type PageBudget = Arc<AtomicUsize>;

/// List pages of one registry's snapshot, by query string: the snapshot never changes, so neither does the
/// page a query gets. Filled as clients ask, up to [`MAX_PAGES`] pages and the snapshot's byte budget; once
/// full, other queries are rendered per request (as before the cache), so made-up queries cannot grow
/// memory.
#[derive(Debug, Default)]
pub struct PageCache {
    pages: RwLock<HashMap<Box<str>, Rendered>>,
    bytes: PageBudget,
}

impl PageCache {
    /// An empty cache drawing on `budget`.
    pub fn with_budget(budget: PageBudget) -> Self {
        Self { pages: RwLock::default(), bytes: budget }
    }

    /// The page of `query`, if it was rendered.
    pub fn get(&self, query: &str) -> Option<Rendered> {
        self.pages.read().ok()?.get(query).cloned()
    }

    /// Keeps `page` as the answer to `query`, unless the cache is full.
    pub fn insert(&self, query: &str, page: &Rendered) {
        let size = page.body.len() + query.len();
        if self.bytes.load(Ordering::Relaxed) + size > MAX_PAGE_BYTES {
            return;
        }
        let Ok(mut pages) = self.pages.write() else { return };
        if pages.len() >= MAX_PAGES || pages.contains_key(query) {
            return;
        }
        pages.insert(query.into(), page.clone());
        self.bytes.fetch_add(size, Ordering::Relaxed);
    }

    /// Number of pages kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.pages.read().map_or(0, |pages| pages.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_the_bodys() {
        let page = Rendered::new(Bytes::from_static(b"{\"a\":1}"));
        let response = page.response();
        assert_eq!(response.headers()[header::ETAG].as_bytes(), tag_of(b"{\"a\":1}"));
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = PageCache::default();
        let page = Rendered::new(Bytes::from(vec![b' '; 1024]));
        for i in 0..MAX_PAGES + 10 {
            cache.insert(&format!("cursor={i}"), &page);
        }
        assert_eq!(cache.len(), MAX_PAGES);
        assert!(cache.get("cursor=0").is_some() && cache.get(&format!("cursor={MAX_PAGES}")).is_none());

        // Two caches on one budget share it.
        let budget = PageBudget::default();
        let (one, two) = (PageCache::with_budget(Arc::clone(&budget)), PageCache::with_budget(budget));
        let large = Rendered::new(Bytes::from(vec![b' '; MAX_PAGE_BYTES / 4]));
        for i in 0..4 {
            one.insert(&i.to_string(), &large);
            two.insert(&i.to_string(), &large);
        }
        assert_eq!(one.len() + two.len(), 3, "bounded by bytes too");
    }
}
