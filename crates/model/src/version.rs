//! Server versions: semver parsing and the upstream rule for which version is "latest".
//!
//! The official registry decides "latest" at publish time: between two semver versions the higher
//! wins; between two non-semver versions the later publish wins; between one of each, the semver one
//! wins. Downstream copies must recompute it per name, which [`latest_index`] does over versions
//! given in publish order.

use std::cmp::Ordering;

/// A parsed semantic version (`MAJOR.MINOR.PATCH`, optional leading `v`, `-pre`, `+build`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Semver<'a> {
    /// Major, minor, patch.
    pub core: [u64; 3],
    /// Pre-release identifiers (empty for a release).
    pub pre: Vec<&'a str>,
}

impl<'a> Semver<'a> {
    /// Parses `s`, or `None` when it is not semver.
    pub fn parse(s: &'a str) -> Option<Self> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let s = s.split_once('+').map_or(s, |(v, build)| if valid_idents(build) { v } else { "" });
        let (core, pre) = match s.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (s, None),
        };
        let mut parts = core.split('.');
        let mut numbers = [0u64; 3];
        for n in &mut numbers {
            let p = parts.next()?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0')) {
                return None;
            }
            *n = p.parse().ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
        let pre = match pre {
            Some(p) if valid_idents(p) => p.split('.').collect(),
            Some(_) => return None,
            None => Vec::new(),
        };
        Some(Self { core: numbers, pre })
    }
}

fn valid_idents(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Ord for Semver<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core.cmp(&other.core).then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_pre(&self.pre, &other.pre),
        })
    }
}

impl PartialOrd for Semver<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn compare_pre(a: &[&str], b: &[&str]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

/// Whether `candidate`, published after `current`, takes the "latest" flag from it.
pub fn supersedes(candidate: &str, current: &str) -> bool {
    match (Semver::parse(candidate), Semver::parse(current)) {
        (Some(c), Some(cur)) => c > cur,
        (None, None) => true,
        (Some(_), None) => true,
        (None, Some(_)) => false,
    }
}

/// Index of the latest version among `versions`, given in publish order; `None` when empty.
pub fn latest_index<S: AsRef<str>>(versions: &[S]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, v) in versions.iter().enumerate() {
        best = match best {
            Some(b) if !supersedes(v.as_ref(), versions[b].as_ref()) => Some(b),
            _ => Some(i),
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_semver_shapes() {
        assert_eq!(Semver::parse("1.2.3").map(|s| s.core), Some([1, 2, 3]));
        assert_eq!(Semver::parse("v0.5.0-beta.1+build.7").map(|s| s.pre), Some(vec!["beta", "1"]));
        for bad in ["2.1", "1.0.1º", "auto", "{{VERSION}}", "0.5.2rc4", "01.0.0", "1.0.0-", "20251218"] {
            assert!(Semver::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn orders_by_semver_precedence() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.10.0",
        ];
        for pair in order.windows(2) {
            assert!(Semver::parse(pair[0]) < Semver::parse(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn latest_follows_the_publish_rule() {
        assert_eq!(latest_index(&["1.0.0", "2.0.0", "1.5.0"]), Some(1));
        assert_eq!(latest_index(&["auto", "snapshot"]), Some(1), "neither semver: later wins");
        assert_eq!(latest_index(&["1.0.0", "nightly"]), Some(0), "semver beats a later non-semver");
        assert_eq!(latest_index(&["nightly", "0.1.0"]), Some(1), "semver beats an earlier non-semver");
        assert_eq!(latest_index::<&str>(&[]), None);
    }
}
