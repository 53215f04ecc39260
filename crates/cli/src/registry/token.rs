//! `thv registry token create|list|revoke`: API tokens for `thv registry serve`, kept hashed in a token file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use thv_api::auth::{Scopes, TokenSet, generate_token};

use crate::files::{Readers, write_atomically};
use crate::output::{OutputFormat, outln, print_data, table};

/// The default token file: `$XDG_CONFIG_HOME/thv/tokens`.
pub fn default_token_file() -> PathBuf {
    crate::config::xdg("XDG_CONFIG_HOME", ".config").join("thv/tokens")
}

/// Where the token file is.
#[derive(Debug, Clone, Args)]
pub struct TokenFileArg {
    /// Token file [default: $XDG_CONFIG_HOME/thv/tokens].
    #[arg(long, env = "THV_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

impl TokenFileArg {
    fn path(&self) -> PathBuf {
        self.token_file.clone().unwrap_or_else(default_token_file)
    }
}

/// `thv registry token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once (only its SHA-256 hash is stored).
    #[command(after_help = "Examples:\n  \
                            thv registry token create viewer\n  \
                            TOKEN=$(thv registry token create ci --scope write)\n  \
                            curl -X POST -H \"Authorization: Bearer $TOKEN\" \\\n      \
                            http://127.0.0.1:8080/api/v1/registries/platform/sync")]
    Create(CreateArgs),
    /// List the tokens' names and scopes (never the tokens or their hashes).
    #[command(after_help = "Examples:\n  \
                            thv registry token list\n  \
                            thv registry token list -o json --token-file /etc/thv/tokens")]
    List(ListArgs),
    /// Revoke a token by name (a running server applies it within 2 s).
    #[command(after_help = "Examples:\n  \
                            thv registry token revoke ci\n  \
                            thv registry token revoke ci --token-file /etc/thv/tokens")]
    Revoke(RevokeArgs),
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    /// Read catalogs (needed only when the server requires auth for reads).
    Read,
    /// Read, and trigger syncs.
    Write,
}

/// Arguments of `thv registry token create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Who or what the token is for (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// What the token may do.
    #[arg(long, value_enum, default_value_t = Scope::Read)]
    pub scope: Scope,
    #[command(flatten)]
    pub file: TokenFileArg,
}

/// Arguments of `thv registry token list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub file: TokenFileArg,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Arguments of `thv registry token revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's name.
    pub name: String,
    #[command(flatten)]
    pub file: TokenFileArg,
}

/// Runs a token subcommand.
pub fn run(cmd: &TokenCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Create(args) => create(args),
        TokenCommand::List(args) => list(args),
        TokenCommand::Revoke(args) => revoke(args),
    }
}

fn read_lines(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            TokenSet::parse(&text)
                .map_err(|(line, message)| anyhow::anyhow!("{}:{line}: {message}", path.display()))?;
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read the token file {}", path.display())),
    }
}

fn entry_name(line: &str) -> Option<&str> {
    let line = line.trim();
    (!line.is_empty() && !line.starts_with('#')).then(|| line.split_whitespace().next()).flatten()
}

fn create(args: &CreateArgs) -> anyhow::Result<ExitCode> {
    let name_ok = !args.name.is_empty()
        && args.name.len() <= 64
        && args.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !name_ok {
        bail!("token name {:?} must be 1-64 letters, digits, '-', '_' or '.'", args.name);
    }
    let path = args.file.path();
    let mut text = read_lines(&path)?;
    if text.lines().any(|line| entry_name(line) == Some(args.name.as_str())) {
        bail!("{} already has a token named {:?}; revoke it first", path.display(), args.name);
    }
    let scopes = Scopes { read: true, write: args.scope == Scope::Write };
    let (token, line) = generate_token(&args.name, scopes)?;
    if text.is_empty() {
        text.push_str("# thv-registry API tokens: NAME sha256:HASH SCOPES (made by `thv registry token create`)\n");
    } else if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    write_atomically(&path, text.as_bytes(), Readers::Owner)?;
    eprintln!("token {:?} added to {}; it is shown once, keep it safe:", args.name, path.display());
    outln!("{token}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, serde::Serialize)]
struct Listed<'a> {
    name: &'a str,
    scopes: &'a str,
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let path = args.file.path();
    let text = read_lines(&path)?;
    let listed: Vec<Listed<'_>> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = entry_name(line)?;
            Some(Listed { name, scopes: fields.nth(2).unwrap_or_default() })
        })
        .collect();
    if !args.output.is_table() {
        print_data(args.output, &listed)?;
        return Ok(ExitCode::SUCCESS);
    }
    if listed.is_empty() {
        eprintln!("no tokens in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&["NAME", "SCOPES"]);
    for item in &listed {
        t.add_row(vec![item.name, item.scopes]);
    }
    outln!("{t}");
    Ok(ExitCode::SUCCESS)
}

fn revoke(args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let path = args.file.path();
    let text = read_lines(&path)?;
    let kept: Vec<&str> = text.lines().filter(|line| entry_name(line) != Some(args.name.as_str())).collect();
    if kept.len() == text.lines().count() {
        bail!("{} has no token named {:?}", path.display(), args.name);
    }
    write_atomically(&path, (kept.join("\n") + "\n").as_bytes(), Readers::Owner)?;
    eprintln!("token {:?} revoked", args.name);
    Ok(ExitCode::SUCCESS)
}
