//! A catalog in a local file.

use async_trait::async_trait;

use crate::{FetchOutcome, Fetched, FileSpec, Payload, Source, SourceError, Validators, sha256_revision};

/// Largest file read (256 MiB).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a catalog from a path; unchanged when the content hash is the same as last time.
#[derive(Debug, Clone)]
pub struct FileSource {
    spec: FileSpec,
}

impl FileSource {
    /// A source for `spec`.
    pub fn new(spec: FileSpec) -> Self {
        Self { spec }
    }
}

#[async_trait]
impl Source for FileSource {
    fn describe(&self) -> String {
        format!("file {}", self.spec.path.display())
    }

    async fn fetch(&self, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
        let path = self.spec.path.display().to_string();
        let io = |source| SourceError::Io { path: path.clone(), source };
        let len = tokio::fs::metadata(&self.spec.path).await.map_err(io)?.len();
        if len > MAX_FILE_BYTES {
            return Err(SourceError::TooLarge { what: path, limit: MAX_FILE_BYTES });
        }
        let bytes = tokio::fs::read(&self.spec.path).await.map_err(io)?;
        let revision = sha256_revision(&bytes);
        let validators = Validators { content_sha256: Some(revision.clone()), ..Validators::default() };
        if previous.and_then(|p| p.content_sha256.as_deref()) == Some(revision.as_str()) {
            return Ok(FetchOutcome::NotModified { revision, validators });
        }
        Ok(FetchOutcome::Fetched(Fetched { payload: Payload::Full(bytes), revision, validators }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unchanged_files_are_not_modified() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.json");
        std::fs::write(&path, b"[]").expect("write");
        let source = FileSource::new(FileSpec { path: path.clone() });
        let FetchOutcome::Fetched(first) = source.fetch(None).await.expect("fetch") else { panic!("expected content") };
        assert_eq!(first.payload, Payload::Full(b"[]".to_vec()));
        let again = source.fetch(Some(&first.validators)).await.expect("fetch");
        assert!(matches!(again, FetchOutcome::NotModified { .. }));
        std::fs::write(&path, b"[ ]").expect("write");
        assert!(matches!(source.fetch(Some(&first.validators)).await.expect("fetch"), FetchOutcome::Fetched(_)));
    }

    #[tokio::test]
    async fn missing_files_name_the_path() {
        let source = FileSource::new(FileSpec { path: "/nonexistent/registry.json".into() });
        let err = source.fetch(None).await.expect_err("missing file");
        assert!(err.to_string().contains("/nonexistent/registry.json"), "{err}");
    }
}
