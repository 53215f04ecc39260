//! The `search` rule of every list route: a case-insensitive substring of a server's name, title or
//! description (the official registry matches name and description). The searched text is lower-cased once,
//! when the snapshot is built ([`SearchText`]), so a request lower-cases only its term.

use serde::Deserialize;
use serde_json::Value;

/// A server version's name, title and description in lower case, separated by NUL (which a request's term
/// cannot hold: the router refuses NUL bytes), so a term never matches across two fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchText(Box<str>);

impl SearchText {
    /// The text of the version called `name` whose stored `server.json` is `document`; a title or description
    /// that is not a string (lenient documents) is left out.
    pub fn of(name: &str, document: &str) -> Self {
        #[derive(Deserialize)]
        struct Described {
            #[serde(default)]
            title: Value,
            #[serde(default)]
            description: Value,
        }
        let described = serde_json::from_str::<Described>(document).ok();
        let mut text = name.to_lowercase();
        for part in [described.as_ref().map(|d| &d.title), described.as_ref().map(|d| &d.description)] {
            if let Some(part) = part.and_then(Value::as_str) {
                text.push('\0');
                text.push_str(&part.to_lowercase());
            }
        }
        Self(text.into_boxed_str())
    }

    /// Heap bytes of the text.
    pub fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

/// A `search` query value: matches a version whose [`SearchText`] contains it, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search(String);

impl Search {
    /// The term `text` (as sent; an empty term is no filter and should not be built).
    pub fn new(text: &str) -> Self {
        Self(text.to_lowercase())
    }

    /// Whether `text` contains the term.
    pub fn matches(&self, text: &SearchText) -> bool {
        text.0.contains(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::{Search, SearchText};

    #[test]
    fn name_title_and_description_ignoring_case() {
        let text =
            SearchText::of("io.github.Acme/Notes", r#"{"title": "Zettel", "description": "Search MARKDOWN files"}"#);
        for term in ["acme/notes", "ACME", "zettel", "markdown", "Search markdown"] {
            assert!(Search::new(term).matches(&text), "{term}");
        }
        assert!(!Search::new("wiki").matches(&text));
        assert!(!Search::new("notes zettel").matches(&text), "not across fields");
    }

    #[test]
    fn odd_documents_still_match_the_name() {
        for document in ["not json", r#"{"title": 5, "description": ["x"]}"#, "{}"] {
            let text = SearchText::of("a/B", document);
            assert!(Search::new("a/b").matches(&text), "{document}");
            assert!(!Search::new("5").matches(&text), "{document}");
        }
    }
}
