//! Server name: `namespace/name`, exactly one `/`, each part at least two characters that start
//! and end with a letter or digit.

use crate::validate::check::{Quoted, Sink};
use crate::validate::loc::Loc;

/// Checks the registry's name rules.
pub(super) fn check(sink: &mut Sink, loc: &Loc<'_>, name: &str) {
    let slashes = name.matches('/').count();
    if slashes != 1 {
        sink.push(
            loc,
            format!(
                "server name must contain exactly one '/' (\"namespace/name\"), found {slashes} in {}",
                Quoted(name)
            ),
        );
        return;
    }
    let Some((namespace, part)) = name.split_once('/') else {
        return;
    };
    if !is_part(namespace, b".-") {
        sink.push(
            loc,
            format!(
                "server name namespace {} must be at least 2 characters, start and end with a letter or digit, and contain only letters, digits, '.' and '-'",
                Quoted(namespace)
            ),
        );
    }
    if !is_part(part, b"._-") {
        sink.push(
            loc,
            format!(
                "server name part {} (after '/') must be at least 2 characters, start and end with a letter or digit, and contain only letters, digits, '.', '_' and '-'",
                Quoted(part)
            ),
        );
    }
}

/// `^[a-zA-Z0-9][a-zA-Z0-9<inner>]*[a-zA-Z0-9]$`.
fn is_part(s: &str, inner: &[u8]) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) if b.len() >= 2 => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || inner.contains(c))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_part;

    #[test]
    fn parts() {
        assert!(is_part("io.github.alice", b".-"));
        assert!(is_part("ab", b".-"));
        assert!(!is_part("a", b".-"));
        assert!(!is_part("-ab", b".-"));
        assert!(!is_part("ab.", b".-"));
        assert!(!is_part("a_b", b".-"));
        assert!(is_part("a_b", b"._-"));
    }
}
