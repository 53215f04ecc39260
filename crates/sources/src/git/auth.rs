//! Credentials for Git over HTTP, read from their [`SecretRef`]s at fetch time and handed to gix only through a
//! credentials callback. They never reach a log line, an error message or the cache on disk.

use gix::credentials::helper::Action;
use gix::credentials::protocol::Outcome;
use gix::sec::identity::Account;

use crate::{AuthSpec, SecretRef, SourceError};

/// The user name sent with a bearer token: Git hosts take a token as the password of HTTP basic authentication and
/// ignore (GitHub, Gitea, Azure DevOps, GitLab personal tokens) or expect (GitHub app tokens) this name.
pub(super) const TOKEN_USER: &str = "x-access-token";

/// A user name and password for HTTP basic authentication.
#[derive(Clone)]
pub(super) struct Credentials {
    username: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

impl Credentials {
    /// Credentials from a user name and password, e.g. the user information of a repository URL.
    pub(super) fn new(username: String, password: String) -> Self {
        Self { username, password }
    }

    /// Reads the secret of `auth` now.
    pub(super) fn from_spec(auth: &AuthSpec) -> Result<Self, SourceError> {
        match auth {
            AuthSpec::Bearer { token } => Ok(Self::new(TOKEN_USER.to_owned(), read_secret(token)?)),
            AuthSpec::Basic { username, password } => Ok(Self::new(username.clone(), read_secret(password)?)),
            AuthSpec::KubernetesSecret(secret) => Err(secret.operator_only()),
        }
    }

    /// The secret, to scrub it from any text that leaves this module's callers.
    pub(super) fn secret(&self) -> &str {
        &self.password
    }

    /// A gix credentials callback that answers every request with these credentials (or with none), and never asks
    /// a credential helper, the git configuration or a terminal.
    pub(super) fn callback(
        credentials: Option<Self>,
    ) -> impl FnMut(Action) -> gix::error::Result<Option<Outcome>> + 'static {
        move |action| match (action, &credentials) {
            (Action::Get(context), Some(credentials)) => Ok(Some(Outcome {
                identity: Account {
                    username: credentials.username.clone(),
                    password: credentials.password.clone(),
                    oauth_refresh_token: None,
                },
                next: context.into(),
            })),
            _ => Ok(None),
        }
    }
}

/// Reads a secret value: a file's content or an environment variable, with surrounding whitespace trimmed.
fn read_secret(secret: &SecretRef) -> Result<String, SourceError> {
    let value = match secret {
        SecretRef::File(path) => std::fs::read_to_string(path).map_err(|source| {
            SourceError::InvalidSpec(format!("cannot read the secret file {}: {source}", path.display()))
        })?,
        SecretRef::Env(name) => std::env::var(name).map_err(|_| {
            SourceError::InvalidSpec(format!("the environment variable {name} holding a secret is not set"))
        })?,
    };
    let value = value.trim();
    if value.is_empty() {
        let place = match secret {
            SecretRef::File(path) => format!("the secret file {}", path.display()),
            SecretRef::Env(name) => format!("the environment variable {name}"),
        };
        return Err(SourceError::InvalidSpec(format!("{place} is empty")));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_trimmed_and_never_debug_printed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").expect("write");
        let credentials = Credentials::from_spec(&AuthSpec::Bearer { token: SecretRef::File(path) }).expect("token");
        assert_eq!(credentials.secret(), "s3cret");
        assert_eq!(credentials.username, TOKEN_USER);
        assert!(!format!("{credentials:?}").contains("s3cret"));
    }

    #[test]
    fn missing_and_empty_secrets_are_spec_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "  \n").expect("write");
        let err = read_secret(&SecretRef::File(empty)).expect_err("empty");
        assert!(err.to_string().contains("is empty"), "{err}");
        let err = read_secret(&SecretRef::File(dir.path().join("absent"))).expect_err("absent");
        assert!(matches!(err, SourceError::InvalidSpec(_)), "{err}");
        let err = read_secret(&SecretRef::Env("THV_TEST_SURELY_UNSET_VARIABLE".into())).expect_err("unset");
        assert!(err.to_string().contains("THV_TEST_SURELY_UNSET_VARIABLE"), "{err}");
    }
}
