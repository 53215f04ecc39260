//! Name globs: `*` matches any run of characters (including `/`), `?` exactly one character.

use wildmatch::WildMatch;

/// A compiled glob. Patterns without `?` (nearly all) are matched with plain substring searches;
/// the rest use [`WildMatch`].
#[derive(Debug, Clone)]
pub(crate) enum Glob {
    /// Only `*`: a prefix, literal pieces in order, a suffix.
    Stars(Stars),
    /// Contains `?`.
    Wild(WildMatch),
}

/// `prefix*middle[0]*…*suffix`, or an exact name when `exact`.
#[derive(Debug, Clone)]
pub(crate) struct Stars {
    exact: bool,
    prefix: String,
    middle: Vec<String>,
    suffix: String,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Self {
        if pattern.contains('?') {
            return Self::Wild(WildMatch::new(pattern));
        }
        let mut parts: Vec<&str> = pattern.split('*').collect();
        let exact = parts.len() == 1;
        let prefix = parts.first().copied().unwrap_or_default().to_owned();
        let suffix = if exact { String::new() } else { parts.pop().unwrap_or_default().to_owned() };
        let middle = parts.iter().skip(1).filter(|p| !p.is_empty()).map(|p| (*p).to_owned()).collect();
        Self::Stars(Stars { exact, prefix, middle, suffix })
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        match self {
            Self::Wild(w) => w.matches(s),
            Self::Stars(g) => g.matches(s),
        }
    }
}

impl Stars {
    fn matches(&self, s: &str) -> bool {
        if self.exact {
            return same(Some(s.as_bytes()), self.prefix.as_bytes());
        }
        let (bytes, prefix, suffix) = (s.as_bytes(), self.prefix.as_bytes(), self.suffix.as_bytes());
        if bytes.len() < prefix.len() + suffix.len()
            || !same(bytes.get(..prefix.len()), prefix)
            || !same(bytes.get(bytes.len() - suffix.len()..), suffix)
        {
            return false;
        }
        // Both ends are char boundaries (they end the prefix and start the suffix) and do not cross.
        let Some(mut rest) = s.get(self.prefix.len()..s.len() - self.suffix.len()) else {
            return false;
        };
        // Leftmost matches leave the most room for the pieces after them, so greedy is exact.
        for piece in &self.middle {
            match find(rest.as_bytes(), piece.as_bytes()) {
                Some(at) => rest = rest.get(at + piece.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

/// Whether `a` is `b`. A byte loop: names and pieces are short, where calling `memcmp` costs more
/// than comparing.
fn same(a: Option<&[u8]>, b: &[u8]) -> bool {
    a.is_some_and(|a| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y))
}

/// First position of `needle` (non-empty) in `hay`. A plain scan: names are short, and `str::find`
/// sets up a two-way searcher per call, which costs more here than it saves. On valid UTF-8 a match
/// always starts and ends on character boundaries.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, tail) = needle.split_first()?;
    let last = hay.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last {
        let at = from + hay.get(from..=last)?.iter().position(|&b| b == first)?;
        if same(hay.get(at + 1..at + needle.len()), tail) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_wildmatch() {
        let patterns = [
            "",
            "*",
            "**",
            "a",
            "a*",
            "*a",
            "*a*",
            "a*b",
            "a*b*c",
            "*a*b*",
            "ab*ba",
            "a**b",
            "*/*",
            "io.github.*",
            "*-experimental",
            "io.*/fetch",
            "*é*",
            "a?c",
            "?*",
            "*?",
            "x*y*x",
        ];
        let inputs = [
            "",
            "a",
            "b",
            "ab",
            "aba",
            "abba",
            "aab",
            "abc",
            "a/b/c",
            "acb",
            "abab",
            "aXbYc",
            "xyx",
            "xyxyx",
            "xy",
            "é",
            "aéb",
            "io.github.stacklok/fetch",
            "io.github.x/y-experimental",
            "io.x/fetch",
            "io/fetch",
            "/",
        ];
        for p in patterns {
            let reference = WildMatch::new(p);
            let glob = Glob::new(p);
            for s in inputs {
                assert_eq!(glob.matches(s), reference.matches(s), "{p:?} on {s:?}");
            }
        }
    }
}
