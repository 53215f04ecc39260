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

/// Prints `value` as JSON or YAML.
pub fn print_data<T: Serialize>(format: OutputFormat, value: &T) -> anyhow::Result<()> {
    match format {
        OutputFormat::Yaml => outln!("{}", serde_saphyr::to_string(value)?.trim_end()),
        _ => outln!("{}", serde_json::to_string_pretty(value)?),
    }
    Ok(())
}

/// A borderless table with a header row.
pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header(header.iter().copied());
    t
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

/// Shortens text to `max` characters with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The count columns shared by sync summaries and run histories: total, added, removed, updated, skipped.
pub fn count_cells(counts: &thv_store::Counts) -> [String; 5] {
    [counts.total, counts.added, counts.removed, counts.updated, counts.skipped].map(|n| n.to_string())
}
