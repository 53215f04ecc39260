//! Editing the configuration file's text in place, so that what the user wrote stays as written:
//! [`append_entry`] adds an entry's lines at the end of the `registries:` list, [`remove_entry`] deletes
//! one entry's lines (with the comment lines just above it). Only the block layout people and `thv`
//! write is edited; anything else is refused with the line at fault, and the caller reads the result back
//! before saving it.

/// The configuration file's only top-level key.
const KEY: &str = "registries:";

/// A byte-order mark, which the file may start with: kept, and not part of the first line.
const BOM: char = '\u{feff}';

/// Where the list of registries is in a file's lines.
#[derive(Debug, Default)]
struct Layout {
    /// The line of `registries:`, if the file has it.
    key: Option<usize>,
    /// Whether it is written `registries: []`.
    empty_flow: bool,
    /// The indentation of the entries' `-`.
    indent: Option<usize>,
    /// The line of each entry's `-`, in order.
    items: Vec<usize>,
}

/// A line without its line ending.
fn text_of(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// Leading spaces.
fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Blank or a comment: neither starts nor continues an entry.
fn is_trivia(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// `value # comment` → (`value`, ` # comment`).
fn split_comment(rest: &str) -> (&str, &str) {
    let trimmed = rest.trim_start();
    if trimmed.starts_with('#') {
        return ("", rest);
    }
    match rest.find(" #") {
        Some(at) => (rest[..at].trim(), &rest[at..]),
        None => (rest.trim(), ""),
    }
}

fn layout(lines: &[&str]) -> Result<Layout, String> {
    let mut found = Layout::default();
    for (i, raw) in lines.iter().enumerate() {
        let line = text_of(raw);
        if is_trivia(line) {
            continue;
        }
        let at = || format!("line {}", i + 1);
        if found.key.is_none() {
            if line.trim_end() == "---" {
                continue;
            }
            let Some(rest) = line.strip_prefix(KEY) else {
                return Err(format!("{}: expected `{KEY}`", at()));
            };
            match split_comment(rest).0 {
                "" => {}
                "[]" => found.empty_flow = true,
                _ => return Err(format!("{}: the registries are not written as a block list (`- name: …`)", at())),
            }
            found.key = Some(i);
            continue;
        }
        if found.empty_flow {
            return Err(format!("{}: unexpected after `registries: []`", at()));
        }
        let n = indent_of(line);
        let dash = matches!(&line[n..], "-") || line[n..].starts_with("- ");
        match found.indent {
            None if dash => found.indent = Some(n),
            Some(m) if n == m && dash => {}
            Some(m) if n > m => continue,
            _ => return Err(format!("{}: expected a registry entry (`- name: …`) or its fields", at())),
        }
        found.items.push(i);
    }
    Ok(found)
}

/// The line ending the file uses.
fn line_ending(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// The line after the `item`-th line's entry: after its last field or nested comment. What follows at the
/// entry's indentation or less (blank lines, a closing comment) is not part of it.
fn entry_end(lines: &[&str], item: usize, indent: usize) -> usize {
    (item + 1..lines.len())
        .rfind(|&j| !is_trivia(lines[j]) || (is_comment(lines[j]) && indent_of(lines[j]) > indent))
        .map_or(item + 1, |j| j + 1)
}

/// `text` with `entry` (the YAML of one list item, `- name: …` at column 0) added after the last registry,
/// indented as the entries already there (two spaces in a new list).
pub fn append_entry(text: &str, entry: &str) -> Result<String, String> {
    if let Some(text) = text.strip_prefix(BOM) {
        return append_entry(text, entry).map(|out| format!("{BOM}{out}"));
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let found = layout(&lines)?;
    let eol = line_ending(text);
    let indent = found.indent.unwrap_or(2);
    let mut indented = String::with_capacity(entry.len() * 2);
    for line in entry.lines() {
        if !line.is_empty() {
            indented.push_str(&" ".repeat(indent));
            indented.push_str(line);
        }
        indented.push_str(eol);
    }
    let insert_at = found.items.last().map_or(lines.len(), |&last| entry_end(&lines, last, indent));
    let mut out = String::with_capacity(text.len() + indented.len() + KEY.len() + 2);
    for (i, line) in lines.iter().enumerate() {
        if i == insert_at {
            out.push_str(&indented);
        }
        if Some(i) == found.key && found.empty_flow {
            out.push_str(KEY);
            out.push_str(split_comment(&text_of(line)[KEY.len()..]).1);
            out.push_str(eol);
        } else {
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str(eol);
            }
        }
    }
    if insert_at == lines.len() {
        if found.key.is_none() {
            out.push_str(KEY);
            out.push_str(eol);
        }
        out.push_str(&indented);
    }
    Ok(out)
}

/// `text` without the lines of its `index`-th registry entry and the comment lines just above it (at the
/// entry's indentation). Removing the last entry leaves `registries: []`.
pub fn remove_entry(text: &str, index: usize) -> Result<String, String> {
    if let Some(text) = text.strip_prefix(BOM) {
        return remove_entry(text, index).map(|out| format!("{BOM}{out}"));
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let found = layout(&lines)?;
    let (Some(key), Some(indent)) = (found.key, found.indent) else {
        return Err("the file lists no registries".to_owned());
    };
    let Some(&item) = found.items.get(index) else {
        return Err(format!("the file lists {} registries, not {}", found.items.len(), index + 1));
    };
    // Comment lines right above an entry, at its indentation, belong to it.
    let with_comments = |at: usize, floor: usize| {
        let mut start = at;
        while start > floor && is_comment(lines[start - 1]) && indent_of(lines[start - 1]) == indent {
            start -= 1;
        }
        start
    };
    let start = with_comments(item, key + 1);
    let end = match found.items.get(index + 1) {
        Some(&next) => with_comments(next, item + 1),
        None => entry_end(&lines, item, indent),
    };
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        // A comment left of the entries is about the list, not this entry: it stays.
        if (start..end).contains(&i) && !(is_comment(line) && indent_of(line) < indent) {
            continue;
        }
        if i == key && found.items.len() == 1 {
            let comment = split_comment(&text_of(line)[KEY.len()..]).1;
            out.push_str("registries: []");
            out.push_str(comment);
            out.push_str(if line.ends_with('\n') { line_ending(text) } else { "" });
        } else {
            out.push_str(line);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "- name: b\n  source:\n    url:\n      url: https://b.example/r.json\n";

    #[test]
    fn appending_keeps_comments_and_follows_the_indentation() {
        let text = "# mine\nregistries:\n  # first\n  - name: a   # trailing\n    source: {file: {path: a.json}}\n";
        let out = append_entry(text, ENTRY).expect("append");
        assert_eq!(out, format!("{text}  - name: b\n    source:\n      url:\n        url: https://b.example/r.json\n"));
        let closing = "registries:\n  - name: a\n\n# the end\n";
        assert_eq!(
            append_entry(closing, "- name: b\n").expect("append"),
            "registries:\n  - name: a\n  - name: b\n\n# the end\n",
            "a new entry goes after the last one, before what closes the list"
        );
        let flush = "registries:\n- name: a\n  source: {file: {path: a.json}}\n";
        assert_eq!(append_entry(flush, ENTRY).expect("append"), format!("{flush}{ENTRY}"));
    }

    #[test]
    fn appending_to_an_empty_file_a_comment_or_an_empty_list() {
        let indented = "  - name: b\n    source:\n      url:\n        url: https://b.example/r.json\n";
        assert_eq!(append_entry("", ENTRY).expect("empty"), format!("registries:\n{indented}"));
        assert_eq!(append_entry("# soon", ENTRY).expect("comment"), format!("# soon\nregistries:\n{indented}"));
        assert_eq!(
            append_entry("registries: [] # none yet\n", ENTRY).expect("[]"),
            format!("registries: # none yet\n{indented}")
        );
        let bom = append_entry("\u{feff}registries: []\n", ENTRY).expect("bom");
        assert_eq!(bom, format!("\u{feff}registries:\n{indented}"));
        let crlf = append_entry("registries:\r\n  - name: a\r\n", ENTRY).expect("crlf");
        assert!(crlf.ends_with("url: https://b.example/r.json\r\n") && !crlf.contains("\n\n"), "{crlf:?}");
    }

    #[test]
    fn layouts_it_cannot_edit_are_refused_with_the_line() {
        for (text, line) in [
            ("registries: [{name: a}]\n", "line 1"),
            ("registries:\n  - name: a\nother: 1\n", "line 3"),
            ("registries: []\n  - name: a\n", "line 2"),
            ("name: a\n", "line 1"),
        ] {
            let err = append_entry(text, ENTRY).expect_err(text);
            assert!(err.starts_with(line), "{text:?}: {err}");
        }
    }

    #[test]
    fn removing_takes_the_entry_and_its_comments_only() {
        let text = "\
# top
registries:
  # about a
  - name: a
    source: {file: {path: a.json}}

  # about b
  - name: b
    # nested
    source: {file: {path: b.json}}
  # about c
  - name: c
    source: {file: {path: c.json}}
# the end
";
        let without_b = remove_entry(text, 1).expect("remove b");
        assert_eq!(
            without_b,
            text.replace("  # about b\n  - name: b\n    # nested\n    source: {file: {path: b.json}}\n", "")
        );
        let without_a = remove_entry(text, 0).expect("remove a");
        assert!(without_a.starts_with("# top\nregistries:\n  # about b\n"), "{without_a}");
        let without_c = remove_entry(text, 2).expect("remove c");
        assert!(without_c.ends_with("    source: {file: {path: b.json}}\n# the end\n"), "{without_c}");
    }

    #[test]
    fn removing_the_only_entry_leaves_an_empty_list() {
        let text = "# mine\nregistries: # in order\n- name: a\n  source: {file: {path: a.json}}\n";
        assert_eq!(remove_entry(text, 0).expect("remove"), "# mine\nregistries: [] # in order\n");
        assert!(remove_entry(text, 1).is_err());
        assert!(remove_entry("registries: []\n", 0).is_err());
    }
}
