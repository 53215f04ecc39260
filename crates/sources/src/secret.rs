//! Credentials of URL, Git and registry-API sources: resolved at each fetch, then sent as an
//! `Authorization` header (HTTP) or through gix's credentials callback (Git).
//!
//! Secrets come from a file (trimmed) or an environment variable, never from the spec itself, or — for
//! [`AuthSpec::KubernetesSecret`] — from a [`CredentialResolver`] the host process plugs into the
//! [`SourceContext`](crate::SourceContext) (the operator reads the Secret through the Kubernetes API; sources
//! know nothing of Kubernetes). They are read on every fetch so a rotated secret is used at the next one,
//! they are trimmed and must not be empty whatever their origin, and they never appear in errors: messages
//! name where a secret was looked for, not what it is.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use reqwest::header::HeaderValue;

use crate::{AuthSpec, KubernetesSecretAuth, SecretRef, SourceError};

/// Credentials read for one fetch. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A bearer token (for Git over HTTP: the password of the user `x-access-token`).
    Bearer(String),
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Self::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).field("password", &"<redacted>").finish()
            }
        }
    }
}

/// Reads the credentials of [`AuthSpec::KubernetesSecret`] at fetch time. The operator provides one that
/// reads the Secret from the registry's namespace; outside the operator there is none and such credentials
/// are refused ([`KubernetesSecretAuth::operator_only`]).
#[async_trait]
pub trait CredentialResolver: Send + Sync {
    /// The token, or user name and password, the keys of `secret` hold (untrimmed: the caller trims and
    /// refuses empty values). A missing Secret or key is [`SourceError::CredentialsNotFound`] naming them;
    /// no error carries a value.
    async fn resolve(&self, secret: &KubernetesSecretAuth) -> Result<Credentials, SourceError>;
}

/// A source's handle on the host's [`CredentialResolver`], if any (shown by `Debug` only as present or not).
#[derive(Clone, Default)]
pub(crate) struct Resolver(pub Option<Arc<dyn CredentialResolver>>);

impl Resolver {
    /// The resolver, for [`resolve`] and [`authorization`].
    pub fn get(&self) -> Option<&dyn CredentialResolver> {
        self.0.as_deref()
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Resolver(Some)" } else { "Resolver(None)" })
    }
}

/// Where a secret lives, for messages (`file /run/secrets/token`, `environment variable TOKEN`).
pub(crate) fn describe(secret: &SecretRef) -> String {
    match secret {
        SecretRef::File(path) => format!("file {}", path.display()),
        SecretRef::Env(name) => format!("environment variable {name}"),
    }
}

/// Where the credentials of `auth` come from, for messages.
fn origin(auth: &AuthSpec) -> String {
    match auth {
        AuthSpec::Bearer { token } => describe(token),
        AuthSpec::Basic { password, .. } => describe(password),
        AuthSpec::KubernetesSecret(secret) => format!("Secret {}", secret.name),
    }
}

/// Reads a secret. Fails when the file or variable is missing or the value is empty.
async fn read(secret: &SecretRef) -> Result<String, SourceError> {
    let value = match secret {
        SecretRef::File(path) => tokio::fs::read_to_string(path)
            .await
            .map_err(|e| SourceError::InvalidSpec(format!("cannot read secret {}: {e}", describe(secret))))?,
        SecretRef::Env(name) => std::env::var(name).map_err(|e| {
            let why = match e {
                std::env::VarError::NotPresent => "it is not set",
                std::env::VarError::NotUnicode(_) => "it is not valid UTF-8",
            };
            SourceError::InvalidSpec(format!("cannot read secret from environment variable {name}: {why}"))
        })?,
    };
    clean(value, &describe(secret))
}

/// The value without surrounding whitespace; an error naming `origin` when nothing is left.
fn clean(value: String, origin: &str) -> Result<String, SourceError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(SourceError::InvalidSpec(format!("secret {origin} is empty")));
    }
    Ok(if trimmed.len() == value.len() { value } else { trimmed.to_owned() })
}

/// Reads the credentials of `auth` now, through `resolver` for a Kubernetes Secret.
pub(crate) async fn resolve(
    auth: &AuthSpec,
    resolver: Option<&dyn CredentialResolver>,
) -> Result<Credentials, SourceError> {
    match auth {
        AuthSpec::Bearer { token } => Ok(Credentials::Bearer(read(token).await?)),
        AuthSpec::Basic { username, password } => {
            Ok(Credentials::Basic { username: username.clone(), password: read(password).await? })
        }
        AuthSpec::KubernetesSecret(secret) => {
            let Some(resolver) = resolver else {
                return Err(secret.operator_only());
            };
            let key = |key: &Option<String>| format!("key {} of Secret {}", key.as_deref().unwrap_or("?"), secret.name);
            match resolver.resolve(secret).await? {
                Credentials::Bearer(token) => Ok(Credentials::Bearer(clean(token, &key(&secret.token_key))?)),
                Credentials::Basic { username, password } => Ok(Credentials::Basic {
                    username: clean(username, &key(&secret.username_key))?,
                    password: clean(password, &key(&secret.password_key))?,
                }),
            }
        }
    }
}

/// The `Authorization` header for `auth`, read now, marked sensitive so it is never printed by `Debug`.
pub(crate) async fn authorization(
    auth: &AuthSpec,
    resolver: Option<&dyn CredentialResolver>,
) -> Result<HeaderValue, SourceError> {
    let value = match resolve(auth, resolver).await? {
        Credentials::Bearer(token) => format!("Bearer {token}"),
        Credentials::Basic { username, password } => {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
        }
    };
    let mut header = HeaderValue::from_str(&value).map_err(|_| {
        SourceError::InvalidSpec(format!(
            "the credentials from {} contain characters not allowed in an HTTP header",
            origin(auth)
        ))
    })?;
    header.set_sensitive(true);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_secrets_are_trimmed_and_hidden_from_debug() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "  s3cr3t-value\n").expect("write");
        let auth = AuthSpec::Bearer { token: SecretRef::File(path) };
        let header = authorization(&auth, None).await.expect("header");
        assert_eq!(header.to_str().expect("ascii"), "Bearer s3cr3t-value");
        assert!(!format!("{header:?}").contains("s3cr3t"));
        let credentials = resolve(&auth, None).await.expect("credentials");
        assert_eq!(credentials, Credentials::Bearer("s3cr3t-value".into()));
        assert!(!format!("{credentials:?}").contains("s3cr3t"), "{credentials:?}");
    }

    #[tokio::test]
    async fn basic_credentials_are_base64_encoded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "open sesame").expect("write");
        let auth = AuthSpec::Basic { username: "aladdin".into(), password: SecretRef::File(path) };
        let header = authorization(&auth, None).await.expect("header");
        assert_eq!(header.to_str().expect("ascii"), "Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[tokio::test]
    async fn missing_empty_and_invalid_secrets_name_the_place_not_the_value() {
        let missing = read(&SecretRef::Env("THV_SOURCES_TEST_SURELY_UNSET".into())).await.expect_err("unset");
        assert!(missing.to_string().contains("THV_SOURCES_TEST_SURELY_UNSET"), "{missing}");
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").expect("write");
        let err = read(&SecretRef::File(empty)).await.expect_err("empty");
        assert!(err.to_string().contains("is empty"), "{err}");
        let err = read(&SecretRef::File(dir.path().join("absent"))).await.expect_err("absent");
        assert!(matches!(err, SourceError::InvalidSpec(_)), "{err}");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "abc\u{7f}leaked").expect("write");
        let err = authorization(&AuthSpec::Bearer { token: SecretRef::File(bad) }, None).await.expect_err("invalid");
        assert!(!err.to_string().contains("leaked"), "{err}");
    }

    fn kubernetes(token_key: Option<&str>) -> AuthSpec {
        AuthSpec::KubernetesSecret(KubernetesSecretAuth {
            name: "creds".into(),
            token_key: token_key.map(Into::into),
            username_key: token_key.is_none().then(|| "user".into()),
            password_key: token_key.is_none().then(|| "pass".into()),
        })
    }

    #[tokio::test]
    async fn kubernetes_secrets_are_refused_without_a_resolver() {
        let err = authorization(&kubernetes(Some("token")), None).await.expect_err("refused");
        assert!(err.to_string().contains("only be read by the operator"), "{err}");
    }

    /// Answers with fixed credentials, as a Secret would hold them.
    struct Fixed(Credentials);

    #[async_trait]
    impl CredentialResolver for Fixed {
        async fn resolve(&self, _: &KubernetesSecretAuth) -> Result<Credentials, SourceError> {
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn resolved_values_are_trimmed_and_empty_ones_name_the_secret_and_key() {
        let resolver = Fixed(Credentials::Bearer("tok-en\n".into()));
        let header = authorization(&kubernetes(Some("token")), Some(&resolver)).await.expect("header");
        assert_eq!(header.to_str().expect("ascii"), "Bearer tok-en");
        let resolver = Fixed(Credentials::Basic { username: "u\n".into(), password: "p w".into() });
        let credentials = resolve(&kubernetes(None), Some(&resolver)).await.expect("credentials");
        assert_eq!(credentials, Credentials::Basic { username: "u".into(), password: "p w".into() });

        let resolver = Fixed(Credentials::Basic { username: "u".into(), password: " \n".into() });
        let err = resolve(&kubernetes(None), Some(&resolver)).await.expect_err("empty");
        assert_eq!(err.to_string(), "invalid source: secret key pass of Secret creds is empty");
        let resolver = Fixed(Credentials::Bearer("line\nbreak-secret".into()));
        let err = authorization(&kubernetes(Some("token")), Some(&resolver)).await.expect_err("bad header");
        assert!(err.to_string().contains("Secret creds"), "{err}");
        assert!(!err.to_string().contains("break-secret"), "{err}");
    }
}
