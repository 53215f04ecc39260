//! Reading credentials at fetch time and turning them into an `Authorization` header.
//!
//! Secrets come from a file (trimmed) or an environment variable, never from the spec itself. They are read on
//! every fetch so a rotated secret is picked up, and they never appear in errors: messages name where the secret
//! was looked for, not what it is.

use base64::Engine as _;
use reqwest::header::HeaderValue;

use crate::{AuthSpec, SecretRef, SourceError};

/// Where a secret lives, for messages (`file /run/secrets/token`, `environment variable TOKEN`).
pub(crate) fn describe(secret: &SecretRef) -> String {
    match secret {
        SecretRef::File(path) => format!("file {}", path.display()),
        SecretRef::Env(name) => format!("environment variable {name}"),
    }
}

/// Reads a secret. Fails when the file or variable is missing or the value is empty.
pub(crate) async fn read(secret: &SecretRef) -> Result<String, SourceError> {
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
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(SourceError::InvalidSpec(format!("secret {} is empty", describe(secret))));
    }
    Ok(trimmed.to_owned())
}

/// The `Authorization` header for `auth`, marked sensitive so it is never printed by `Debug`.
pub(crate) async fn authorization(auth: &AuthSpec) -> Result<HeaderValue, SourceError> {
    let (value, from) = match auth {
        AuthSpec::Bearer { token } => (format!("Bearer {}", read(token).await?), token),
        AuthSpec::Basic { username, password } => {
            let pair = format!("{username}:{}", read(password).await?);
            (format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)), password)
        }
        AuthSpec::KubernetesSecret(secret) => return Err(secret.operator_only()),
    };
    let mut header = HeaderValue::from_str(&value).map_err(|_| {
        SourceError::InvalidSpec(format!(
            "the credentials from {} contain characters not allowed in an HTTP header",
            describe(from)
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
        let header = authorization(&AuthSpec::Bearer { token: SecretRef::File(path) }).await.expect("header");
        assert_eq!(header.to_str().expect("ascii"), "Bearer s3cr3t-value");
        assert!(!format!("{header:?}").contains("s3cr3t"));
    }

    #[tokio::test]
    async fn basic_credentials_are_base64_encoded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "open sesame").expect("write");
        let auth = AuthSpec::Basic { username: "aladdin".into(), password: SecretRef::File(path) };
        let header = authorization(&auth).await.expect("header");
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
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "abc\u{7f}leaked").expect("write");
        let err = authorization(&AuthSpec::Bearer { token: SecretRef::File(bad) }).await.expect_err("invalid");
        assert!(!err.to_string().contains("leaked"), "{err}");
    }

    #[tokio::test]
    async fn kubernetes_secrets_are_refused_outside_the_operator() {
        let auth = AuthSpec::KubernetesSecret(crate::KubernetesSecretAuth {
            name: "creds".into(),
            token_key: Some("token".into()),
            username_key: None,
            password_key: None,
        });
        let err = authorization(&auth).await.expect_err("refused");
        assert!(err.to_string().contains("only be read by the operator"), "{err}");
    }
}
