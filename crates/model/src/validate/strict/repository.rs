//! Repository: source `github` or `gitlab`, a URL on that forge, a clean relative subfolder.

use serde_json::{Map, Value};

use crate::validate::check::{Found, Quoted, Sink};
use crate::validate::loc::Loc;

/// Checks a repository object; `{}` and `{"url": "", "source": ""}` mean "none" to the registry.
pub(super) fn check(sink: &mut Sink, loc: &Loc<'_>, repo: &Map<String, Value>) {
    let text = |k: &str| repo.get(k).and_then(Value::as_str).unwrap_or_default();
    let (url, source) = (text("url"), text("source"));
    if !(url.is_empty() && source.is_empty()) {
        let matches = match source {
            "github" => is_forge_url(url, "github.com/", false),
            "gitlab" => is_forge_url(url, "gitlab.com/", true),
            _ => {
                let found = repo.get("source").unwrap_or(&Value::Null);
                sink.push(
                    &loc.key("source"),
                    format!("repository source must be \"github\" or \"gitlab\", found {}", Found(found)),
                );
                true
            }
        };
        if !matches {
            sink.push(
                &loc.key("url"),
                format!("repository url must be a https://{source}.com/<owner>/<repo> URL, found {}", Quoted(url)),
            );
        }
    }
    let subfolder = text("subfolder");
    if !subfolder.is_empty() && !is_clean_subfolder(subfolder) {
        sink.push(
            &loc.key("subfolder"),
            format!(
                "repository subfolder must be a clean relative path (letters, digits, '-', '_', '.', '/'; no leading or trailing '/', no empty, '.' or '..' segment), found {}",
                Quoted(subfolder)
            ),
        );
    }
}

/// `^https?://(www\.)?<host>[\w.-]+/[\w.-]+/?$`, or with `nested` (GitLab groups)
/// `^https?://(www\.)?<host>[\w.-]+(/[\w.-]+)+/?$`.
fn is_forge_url(url: &str, host: &str, nested: bool) -> bool {
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else {
        return false;
    };
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let Some(path) = rest.strip_prefix(host) else {
        return false;
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let word =
        |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    let count_ok = if nested { segments.len() >= 2 } else { segments.len() == 2 };
    count_ok && segments.iter().all(word)
}

/// A clean relative path: `^[a-zA-Z0-9\-_./]+$`, no leading or trailing `/`, no empty, `.` or
/// `..` segment.
fn is_clean_subfolder(path: &str) -> bool {
    path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && path.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forge_urls() {
        assert!(is_forge_url("https://github.com/a/b", "github.com/", false));
        assert!(is_forge_url("http://www.github.com/a-1/b.c_d/", "github.com/", false));
        assert!(!is_forge_url("https://github.com/a", "github.com/", false));
        assert!(!is_forge_url("https://github.com/a/b/tree/main", "github.com/", false));
        assert!(!is_forge_url("https://github.com/a/b.git?x", "github.com/", false));
        assert!(!is_forge_url("git@github.com:a/b", "github.com/", false));
        assert!(is_forge_url("https://gitlab.com/g/sub/repo", "gitlab.com/", true));
        assert!(!is_forge_url("https://gitlab.com/g", "gitlab.com/", true));
    }

    #[test]
    fn subfolders() {
        assert!(is_clean_subfolder("src/everything"));
        assert!(!is_clean_subfolder("/src"));
        assert!(!is_clean_subfolder("src/"));
        assert!(!is_clean_subfolder("a//b"));
        assert!(!is_clean_subfolder("a/../b"));
        assert!(!is_clean_subfolder("a b"));
    }
}
