//! Case-insensitive comparison without allocating per comparison.

/// Lower-cases `s` character by character (no context-dependent rules, so it agrees with [`eq_folded`]).
pub(crate) fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// Whether `candidate` equals `folded` (already passed through [`fold`]) ignoring case.
pub(crate) fn eq_folded(candidate: &str, folded: &str) -> bool {
    if candidate.is_ascii() {
        // ASCII lower-cases to ASCII, so a non-ASCII `folded` correctly fails the byte comparison.
        candidate.eq_ignore_ascii_case(folded)
    } else {
        candidate.chars().flat_map(char::to_lowercase).eq(folded.chars())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_unicode_fold() {
        let cases = [
            ("Official", "official", true),
            ("OFFICIAL", "official", true),
            ("official", "officia", false),
            ("Straße", "straße", true),
            ("ÉTÉ", "été", true),
            ("été", "ete", false),
            // KELVIN SIGN lower-cases to ASCII `k`.
            ("\u{212A}", "k", true),
            ("k", "k", true),
            ("", "", true),
        ];
        for (candidate, value, want) in cases {
            assert_eq!(eq_folded(candidate, &fold(value)), want, "{candidate:?} vs {value:?}");
        }
    }
}
