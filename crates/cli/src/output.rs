//! Output formats shared by the commands: `table`, `wide`, `json`, `yaml`.

/// Writes a line to standard output. When the reader has gone (a closed pipe, as with `| head`), exits
/// quietly with status 0 instead of failing.
pub fn write_stdout(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.write_all(b"\n"))
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Writes a line to standard error; when it is closed the line is dropped (`eprintln!` would panic, and the
/// process exit 101).
pub fn write_stderr(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(text).and_then(|()| err.write_all(b"\n"));
}

/// `println!` that tolerates a closed pipe (see [`write_stdout`]).
macro_rules! outln {
    () => { $crate::output::write_stdout(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}

pub(crate) use outln;

use clap::ValueEnum;
use serde::Serialize;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    #[default]
    Table,
    /// A table with more columns.
    Wide,
    /// JSON (stable, documented in docs/cli.md).
    Json,
    /// YAML (the same data as JSON).
    Yaml,
}

impl OutputFormat {
    /// Whether the output is a table.
    pub fn is_table(self) -> bool {
        matches!(self, Self::Table | Self::Wide)
    }
}

/// How a command that changes something prints what it did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ResultFormat {
    /// A message for people (on stderr).
    #[default]
    Table,
    /// JSON on stdout (documented in docs/cli.md).
    Json,
    /// YAML on stdout (the same data as JSON).
    Yaml,
}

impl ResultFormat {
    /// Prints `value` as JSON or YAML; nothing for `table`, whose message the command prints itself.
    pub fn print<T: Serialize>(self, value: &T) -> anyhow::Result<()> {
        match self {
            Self::Table => Ok(()),
            Self::Json => print_data(OutputFormat::Json, value),
            Self::Yaml => print_data(OutputFormat::Yaml, value),
        }
    }
}

/// Prints `value` as JSON or YAML.
pub fn print_data<T: Serialize>(format: OutputFormat, value: &T) -> anyhow::Result<()> {
    match format {
        OutputFormat::Yaml => outln!("{}", serde_saphyr::to_string(value)?.trim_end()),
        _ => outln!("{}", serde_json::to_string_pretty(value)?),
    }
    Ok(())
}

/// Longest cell a table shows, in characters: longer text is cut with an ellipsis (`-o json` shows it
/// whole). Laying out a table costs more than linear time in a cell's width, so cutting cells keeps a
/// table of hostile or huge input (a 5 MB server name) as cheap to print as its JSON.
pub const MAX_CELL_CHARS: usize = 120;

/// A borderless table whose cells are cut to [`MAX_CELL_CHARS`]: every table `thv` prints is one.
pub struct Table(comfy_table::Table);

impl Table {
    /// Adds a row; each cell is cut to [`MAX_CELL_CHARS`] characters.
    pub fn add_row<I>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.0.add_row(cells.into_iter().map(|cell| clip(cell.as_ref(), MAX_CELL_CHARS)).collect::<Vec<_>>());
        self
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A borderless table with a header row.
pub fn table(header: &[&str]) -> Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header(header.iter().copied());
    Table(t)
}

/// A time as "5m ago" (or the raw text when it does not parse).
pub fn ago(time: Option<&str>) -> String {
    let Some(time) = time else { return "never".to_owned() };
    let Ok(t) = time.parse::<jiff::Timestamp>() else { return time.to_owned() };
    let secs = jiff::Timestamp::now().duration_since(t).as_secs().max(0);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86_400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// Shortens text to `max` characters with an ellipsis, reading no more of it than that.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let keep = text.char_indices().nth(max.saturating_sub(1)).map_or(text.len(), |(at, _)| at);
            format!("{}…", &text[..keep])
        }
    }
}

/// `n` and the noun, plural unless `n` is 1: "1 server", "2 servers", "0 servers".
pub fn plural<N: std::fmt::Display + PartialEq + From<u8>>(n: N, noun: &str) -> String {
    if n == N::from(1) { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The count columns shared by sync summaries and run histories: total, added, removed, updated, skipped.
pub fn count_cells(counts: &thv_store::Counts) -> [String; 5] {
    [counts.total, counts.added, counts.removed, counts.updated, counts.skipped].map(|n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_character() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("ééééé", 4), "ééé…");
        assert_eq!(clip("", 0), "");
        assert_eq!(clip("a", 0), "…");
    }

    #[test]
    fn table_cells_are_cut() {
        let mut t = table(&["NAME"]);
        t.add_row([&"x".repeat(MAX_CELL_CHARS + 1)]);
        let text = t.to_string();
        assert!(text.contains(&format!("{}…", "x".repeat(MAX_CELL_CHARS - 1))), "{text}");
        assert!(!text.contains(&"x".repeat(MAX_CELL_CHARS)), "{text}");
    }

    #[test]
    fn plural_says_one_of_one() {
        assert_eq!(plural(1u64, "server"), "1 server");
        assert_eq!(plural(0usize, "server"), "0 servers");
        assert_eq!(plural(2u32, "finding"), "2 findings");
    }
}
