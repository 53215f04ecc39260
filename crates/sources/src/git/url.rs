//! The repository URL: which schemes are allowed, how it is shown, and the credentials it may carry.

use super::auth::Credentials;
use crate::SourceError;
use crate::redact::{hidden_values, redact_url};

/// A checked repository URL.
#[derive(Debug, Clone)]
pub(super) struct RepoUrl {
    /// The URL gix connects to, without user information.
    pub(super) url: gix::Url,
    /// The URL as shown in errors and descriptions ([`redact_url`]).
    pub(super) display: String,
    /// `user:password` written into the URL itself, used when the spec has no `auth`.
    pub(super) embedded: Option<Credentials>,
    /// What [`redact_url`] hides (password, query values), to scrub from gix's messages, which quote URLs.
    pub(super) hidden: Vec<String>,
}

impl RepoUrl {
    /// Checks `repository`: `https://`, `http://` or `file://`, and nothing else.
    pub(super) fn parse(repository: &str) -> Result<Self, SourceError> {
        let display = redact_url(repository);
        let lower = repository.to_ascii_lowercase();
        if !["https://", "http://", "file://"].iter().any(|scheme| lower.starts_with(scheme)) {
            return Err(SourceError::InvalidSpec(format!(
                "git repository {display}: only https://, http:// and file:// URLs are supported"
            )));
        }
        let mut url = gix::url::parse(repository)
            .map_err(|err| SourceError::InvalidSpec(format!("git repository {display} is not a valid URL: {err}")))?;
        let user = url.set_user(None);
        let password = url.set_password(None);
        let embedded = match (user, password) {
            (Some(user), Some(password)) => Some(Credentials::new(user, password)),
            _ => None,
        };
        Ok(Self {
            display: redact_url(&url.to_bstring().to_string()),
            url,
            embedded,
            hidden: hidden_values(repository),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_split_off_and_never_shown() {
        let url = RepoUrl::parse("https://me:hunter2@git.example.com/team/catalog.git").expect("url");
        assert_eq!(url.display, "https://git.example.com/team/catalog.git");
        assert!(url.embedded.is_some_and(|c| c.secret() == "hunter2"));
        assert_eq!(url.url.password(), None);
    }

    #[test]
    fn other_schemes_are_refused_without_echoing_secrets() {
        for bad in ["ssh://me:pw@host/r.git", "git@github.com:o/r.git", "/some/path", "ftp://host/r"] {
            let err = RepoUrl::parse(bad).expect_err(bad);
            assert!(matches!(err, SourceError::InvalidSpec(_)), "{err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    #[test]
    fn query_values_are_hidden_and_kept_for_scrubbing() {
        let url = RepoUrl::parse("https://git.example.com/r.git?token=S3CRET").expect("url");
        assert_eq!(url.display, "https://git.example.com/r.git?token=***");
        assert_eq!(url.hidden, ["S3CRET"]);
    }
}
