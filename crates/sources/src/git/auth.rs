//! Credentials for Git over HTTP, resolved at fetch time (`crate::secret`) and handed to gix only through a
//! credentials callback. They never reach a log line, an error message or the cache on disk.

use gix::credentials::helper::Action;
use gix::credentials::protocol::Outcome;
use gix::sec::identity::Account;

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

impl From<crate::Credentials> for Credentials {
    fn from(resolved: crate::Credentials) -> Self {
        match resolved {
            crate::Credentials::Bearer(token) => Self::new(TOKEN_USER.to_owned(), token),
            crate::Credentials::Basic { username, password } => Self::new(username, password),
        }
    }
}

impl Credentials {
    /// Credentials from a user name and password, e.g. the user information of a repository URL.
    pub(super) fn new(username: String, password: String) -> Self {
        Self { username, password }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_goes_as_the_password_of_the_token_user_and_is_never_debug_printed() {
        let credentials = Credentials::from(crate::Credentials::Bearer("s3cret".into()));
        assert_eq!(credentials.secret(), "s3cret");
        assert_eq!(credentials.username, TOKEN_USER);
        assert!(!format!("{credentials:?}").contains("s3cret"));
        let basic = Credentials::from(crate::Credentials::Basic { username: "u".into(), password: "pw".into() });
        assert_eq!((basic.username.as_str(), basic.secret()), ("u", "pw"));
    }
}
