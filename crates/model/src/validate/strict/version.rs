//! Versions: a specific version, neither `latest` nor a range (`^1.2.3`, `~1.2`, `>=1`, `1.x`,
//! `1.2.*`, `1 - 2`, `1 || 2`), detected with the registry's four patterns.

use std::sync::LazyLock;

use regex::Regex;

use crate::validate::check::{Quoted, Sink};
use crate::validate::loc::Loc;

/// One version as the registry's patterns write it (`\d` and `\s` are ASCII there, as in Go).
const V: &str = r"v?[0-9]+(?:\.[0-9]+){0,3}(?:-[0-9A-Za-z.-]+)?";
/// ASCII white space as Go's RE2 `\s` matches it.
const S: &str = r"[\t\n\x0C\r ]";

/// Comparator, hyphen and OR ranges.
static RANGES: LazyLock<[Regex; 3]> = LazyLock::new(|| {
    [
        format!(r"^{S}*(?:\^|~|>=|<=|>|<|=){S}*{V}{S}*$"),
        format!(r"^{S}*{V}{S}-{S}*{V}{S}*$"),
        format!(r"^{S}*(?:{V}{S}*)(?:\|\|{S}*{V}{S}*)+$"),
    ]
    .map(|p| Regex::new(&p).expect("constant pattern compiles"))
});

/// Dotted versions with wildcards (`1.x`, `1.2.*`).
static DOTTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^{S}*(?:v?[0-9]+|x|X|\*)(?:\.(?:[0-9]+|x|X|\*)){{1,2}}(?:-[0-9A-Za-z.-]+)?{S}*$"))
        .expect("constant pattern compiles")
});

/// Checks one version string; `what` names it in messages.
pub(super) fn check(sink: &mut Sink, loc: &Loc<'_>, version: &str, what: &str) {
    if version == "latest" {
        sink.push(loc, format!("{what} must not be \"latest\"; give the exact version"));
    } else if looks_like_range(version) {
        sink.push(loc, format!("{what} must be one specific version, not a range, found {}", Quoted(version)));
    }
}

/// Checks a package version, whose `latest` the schema already rejects: not a range, at most 255
/// characters (the registry's own copy of the schema).
pub(super) fn check_package(sink: &mut Sink, loc: &Loc<'_>, version: &str) {
    if version != "latest" {
        check(sink, loc, version, "package version");
    }
    let n = version.chars().count();
    if n > 255 {
        sink.push(loc, format!("package version must be at most 255 characters long, found {n}"));
    }
}

/// Whether `version` reads as a range rather than one version.
pub(super) fn looks_like_range(version: &str) -> bool {
    let v = version.trim();
    // Every range form needs one of these characters; plain versions skip the patterns.
    let candidate = v.contains(['^', '~', '>', '<', '=', '|', 'x', 'X', '*'])
        || (v.contains('-') && v.contains([' ', '\t', '\n', '\r', '\x0C']));
    if v.is_empty() || !candidate {
        return false;
    }
    // A wildcard must sit in a dotted component: unlike the registry, which looks anywhere, we do not
    // read `1.0.0-experimental` as a range.
    let core = v.split_once('-').map_or(v, |(core, _)| core);
    RANGES.iter().any(|r| r.is_match(v)) || (DOTTED.is_match(v) && core.contains(['x', 'X', '*']))
}

#[cfg(test)]
mod tests {
    use super::looks_like_range;

    #[test]
    fn detects_ranges() {
        for r in [
            "^1.2.3",
            "~1.2.3",
            ">=1.0.0",
            "<2",
            "=1.0",
            "1.x",
            "1.2.*",
            "1.2.X",
            "1 - 2",
            "1.2.3 - 2.0.0",
            "1.2 || 1.3",
            "v1 || v2",
        ] {
            assert!(looks_like_range(r), "{r}");
        }
        for v in [
            "1.2.3",
            "1.0.0-beta.1",
            "2025.1.1",
            "auto",
            "{{VERSION}}",
            "0.5.2rc4",
            "latest",
            "",
            "1.0.0-x",
            "1.0.0-experimental",
            "x",
            "v1.2.3",
            "1.2.3-fix-1",
        ] {
            assert!(!looks_like_range(v), "{v}");
        }
    }
}
