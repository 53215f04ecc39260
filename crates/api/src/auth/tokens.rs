//! API tokens kept in a token file, stored as SHA-256 hashes: the file never holds a usable token.
//!
//! One token per line, `NAME sha256:HEX SCOPES`, where SCOPES is `read`, `write` or `read,write`
//! (`write` implies `read`). Blank lines and lines starting with `#` are ignored.
//!
//! ```text
//! # thv-registry API tokens
//! ci        sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 write
//! dashboard sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752 read
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use super::{Caller, Scopes};

/// The prefix of tokens made by [`generate_token`], so that they are easy to spot (and to scan for).
pub const TOKEN_PREFIX: &str = "thv_";

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file cannot be read.
    #[error("cannot read the token file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `NAME sha256:HEX SCOPES`.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong (never the line itself, which could hold a pasted token).
        message: String,
    },
    /// The system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// One token of the file, without the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// Who the token is for.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
}

/// The tokens of a token file, looked up by hash.
#[derive(Debug, Clone, Default)]
pub struct TokenSet {
    by_hash: HashMap<[u8; 32], TokenEntry>,
}

impl TokenSet {
    /// Reads and checks a token file.
    pub fn load(path: &Path) -> Result<Self, TokenFileError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| TokenFileError::Read { path: path.to_owned(), source })?;
        Self::parse(&text).map_err(|(line, message)| TokenFileError::Line { path: path.to_owned(), line, message })
    }

    /// Parses the text of a token file; errors carry the 1-based line number.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut by_hash = HashMap::new();
        let mut names = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, hash, scopes) = parse_line(line).map_err(|message| (number, message))?;
            if let Some(first) = names.insert(name.clone(), number) {
                return Err((number, format!("the name {name:?} is already used on line {first}")));
            }
            if by_hash.insert(hash, TokenEntry { name, scopes }).is_some() {
                return Err((number, "the same token hash appears twice".to_owned()));
            }
        }
        Ok(Self { by_hash })
    }

    /// The caller a presented token identifies, if it is one of the file's.
    pub fn check(&self, token: &str) -> Option<Caller> {
        let entry = self.by_hash.get(&hash_token(token))?;
        Some(Caller { subject: format!("token:{}", entry.name), scopes: entry.scopes })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the file holds no token.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

fn parse_line(line: &str) -> Result<(String, [u8; 32], Scopes), String> {
    let mut fields = line.split_whitespace();
    let (Some(name), Some(hash), Some(scopes), None) = (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err("expected three fields: NAME sha256:HEX SCOPES".to_owned());
    };
    let Some(hex_digest) = hash.strip_prefix("sha256:") else {
        return Err("the second field must be sha256:<64 hex digits> (store hashes, not tokens)".to_owned());
    };
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut digest)
        .map_err(|_| "the second field must be sha256:<64 hex digits>".to_owned())?;
    Ok((name.to_owned(), digest, parse_scopes(scopes)?))
}

/// Parses `read`, `write` or a comma-separated list of them.
pub fn parse_scopes(text: &str) -> Result<Scopes, String> {
    let mut scopes = Scopes::default();
    for scope in text.split(',') {
        match scope.trim() {
            "read" => scopes.read = true,
            "write" => scopes = Scopes { read: true, write: true },
            other => return Err(format!("unknown scope {other:?}: expected read, write or read,write")),
        }
    }
    Ok(scopes)
}

/// SHA-256 of a token's text.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token (`thv_` + 256 random bits, base64url) and the file line that admits it.
pub fn generate_token(name: &str, scopes: Scopes) -> Result<(String, String), TokenFileError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| TokenFileError::Random)?;
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let scope = if scopes.write { "write" } else { "read" };
    let line = format!("{name} sha256:{} {scope}", hex::encode(hash_token(&token)));
    Ok((token, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_admitted_by_its_line_only() {
        let (token, line) = generate_token("ci", Scopes { read: true, write: true }).unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == 47, "{token}");
        assert!(!line.contains(&token));
        let set = TokenSet::parse(&format!("# comment\n\n{line}\n")).unwrap();
        let caller = set.check(&token).unwrap();
        assert_eq!(caller.subject, "token:ci");
        assert!(caller.scopes.write && caller.scopes.read);
        assert!(set.check("thv_wrong").is_none());
        assert!(set.check(&line).is_none());
        let (other, _) = generate_token("ci", Scopes::default()).unwrap();
        assert_ne!(token, other);
    }

    #[test]
    fn bad_lines_are_named_without_echoing_them() {
        let hash = format!("sha256:{}", "a".repeat(64));
        let cases = [
            ("ci thv_secret write", 1, "store hashes"),
            (&*format!("ci {hash}"), 1, "three fields"),
            (&*format!("ci {hash} admin"), 1, "unknown scope"),
            ("ci sha256:zz read", 1, "64 hex"),
            (&*format!("a {hash} read\na sha256:{} read", "b".repeat(64)), 2, "already used"),
            (&*format!("a {hash} read\nb {hash} read"), 2, "twice"),
        ];
        for (text, line, message) in cases {
            let (at, error) = TokenSet::parse(text).unwrap_err();
            assert_eq!(at, line, "{text}");
            assert!(error.contains(message), "{error}");
            assert!(!error.contains("thv_secret"));
        }
        let read_only = TokenSet::parse(&format!("viewer {hash} read")).unwrap();
        assert_eq!(read_only.len(), 1);
    }
}
