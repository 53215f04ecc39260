//! `thv registry validate`: schema-level and strict validation of catalog files.

use std::collections::BTreeSet;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;
use thv_model::detect::{DocumentFormat, detect_format, parse_json, upstream_records};
use thv_model::validate::{
    Against, Level, ValidateOptions, validate_server, validate_toolhive_registry, validate_upstream_file,
};

use crate::input::read_input;
use crate::output::{plural, table};

/// Output format of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateOutput {
    /// A table of findings and a summary line.
    Table,
    /// One JSON object (see the README for its fields).
    Json,
}

/// Arguments of `thv registry validate`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 when every record is valid, 1 when there is any finding, 2 when a file \
                        cannot be read or is not a catalog.\n\n\
                        Examples:\n  thv registry validate servers.json\n  \
                        thv registry validate --strict --against 2025-12-11 -o json dump.json")]
pub struct ValidateArgs {
    /// Also apply the official registry's publish rules (name parts, version ranges, https URLs, …).
    #[arg(long)]
    pub strict: bool,
    /// Which schema judges each record: `declared` (the record's own `$schema`, 2025-12-11 when absent) or a
    /// released schema date such as 2025-12-11.
    #[arg(long, value_name = "declared|DATE", default_value = "declared", value_parser = str::parse::<Against>)]
    pub against: Against,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ValidateOutput::Table)]
    pub output: ValidateOutput,
    /// Catalog files to validate (`-` reads standard input).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
}

/// One finding as printed.
#[derive(Debug, Serialize)]
struct Row {
    file: String,
    server: Option<String>,
    version: Option<String>,
    pointer: String,
    level: Level,
    message: String,
}

/// A file that could not be read or parsed.
#[derive(Debug, Serialize)]
struct FileError {
    file: String,
    message: String,
}

/// The whole result, as printed by `-o json`.
#[derive(Debug, Default, Serialize)]
struct Summary {
    documents: usize,
    servers: usize,
    valid: usize,
    invalid: usize,
    findings: Vec<Row>,
    errors: Vec<FileError>,
}

/// Runs the command.
pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let options = ValidateOptions { against: args.against, strict: args.strict };
    let mut summary = Summary::default();
    for file in &args.files {
        if let Err(message) = validate_file(file, &options, &mut summary) {
            summary.errors.push(FileError { file: file.clone(), message });
        }
    }
    match args.output {
        ValidateOutput::Json => crate::output::outln!("{}", serde_json::to_string_pretty(&summary)?),
        ValidateOutput::Table => print_table(&summary),
    }
    Ok(ExitCode::from(if !summary.errors.is_empty() {
        crate::EXIT_ERROR
    } else if summary.findings.is_empty() {
        0
    } else {
        1
    }))
}

fn validate_file(file: &str, options: &ValidateOptions, summary: &mut Summary) -> Result<(), String> {
    let input = read_input(file).map_err(|e| format!("{e:#}"))?;
    let doc = parse_json(&input.bytes).map_err(|e| e.to_string())?;
    let format = detect_format(&doc).map_err(|e| e.to_string())?;
    summary.documents += 1;
    if format == DocumentFormat::ToolHive {
        validate_toolhive_file(&input.name, &doc, summary);
        return Ok(());
    }
    if format == DocumentFormat::UpstreamFile {
        for f in validate_upstream_file(&doc) {
            summary.findings.push(Row {
                file: input.name.clone(),
                server: None,
                version: None,
                pointer: f.pointer,
                level: f.level,
                message: f.message,
            });
        }
    }
    for record in upstream_records(&doc, format) {
        let findings = validate_server(record.server, options);
        summary.servers += 1;
        if findings.is_empty() {
            summary.valid += 1;
            continue;
        }
        summary.invalid += 1;
        let text = |key: &str| record.server.get(key).and_then(Value::as_str).map(str::to_owned);
        for f in findings {
            summary.findings.push(Row {
                file: input.name.clone(),
                server: text("name"),
                version: text("version"),
                pointer: format!("{}{}", record.server_pointer, f.pointer),
                level: f.level,
                message: f.message,
            });
        }
    }
    Ok(())
}

fn validate_toolhive_file(name: &str, doc: &Value, summary: &mut Summary) {
    let keys: Vec<(&str, &str)> = ["servers", "remote_servers"]
        .iter()
        .filter_map(|m| doc.get(*m).and_then(Value::as_object).map(|o| (*m, o)))
        .flat_map(|(m, o)| o.keys().map(move |k| (m, k.as_str())))
        .collect();
    let mut invalid = BTreeSet::new();
    for f in validate_toolhive_registry(doc) {
        let server = keys
            .iter()
            .find(|(m, k)| {
                let prefix = thv_model::pointer::join(&format!("/{m}"), k);
                f.pointer == prefix || f.pointer.starts_with(&format!("{prefix}/"))
            })
            .map(|(_, k)| (*k).to_owned());
        if let Some(s) = &server {
            invalid.insert(s.clone());
        }
        summary.findings.push(Row {
            file: name.to_owned(),
            server,
            version: None,
            pointer: f.pointer,
            level: f.level,
            message: f.message,
        });
    }
    summary.servers += keys.len();
    summary.invalid += invalid.len();
    summary.valid += keys.len() - invalid.len();
}

fn print_table(summary: &Summary) {
    if !summary.findings.is_empty() {
        let mut table = table(&["FILE", "SERVER", "VERSION", "LEVEL", "POINTER", "MESSAGE"]);
        for r in &summary.findings {
            table.add_row([
                r.file.as_str(),
                r.server.as_deref().unwrap_or("-"),
                r.version.as_deref().unwrap_or("-"),
                match r.level {
                    Level::Schema => "schema",
                    Level::Strict => "strict",
                },
                r.pointer.as_str(),
                r.message.as_str(),
            ]);
        }
        crate::output::outln!("{table}");
    }
    for e in &summary.errors {
        eprintln!("error: {}: {}", e.file, e.message);
    }
    crate::output::outln!(
        "{}, {}: {} valid, {} invalid ({}{})",
        plural(summary.documents, "document"),
        plural(summary.servers, "server"),
        summary.valid,
        summary.invalid,
        plural(summary.findings.len(), "finding"),
        if summary.errors.is_empty() {
            String::new()
        } else {
            format!(", {}", plural(summary.errors.len(), "unreadable file"))
        }
    );
}
