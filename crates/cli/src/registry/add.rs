//! `thv registry add`: configure a new registry.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{ArgGroup, Args};
use serde::Serialize;
use thv_model::filter::{Criteria, Filter};
use thv_sources::{ApiSpec, AuthSpec, FileSpec, GitRef, GitSpec, SecretRef, SourceSpec, UrlSpec};
use thv_sync::{RegistrySpec, RetryPolicy, SourceFormat, SyncPolicy};

use crate::config::{ConfigFile, Locations};
use crate::output::ResultFormat;

/// Arguments of `thv registry add`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("source").required(true).args(["file", "url", "git", "registry_api"])),
    group(ArgGroup::new("git_ref").args(["branch", "tag", "commit"])),
    group(ArgGroup::new("token").args(["token_file", "token_env"])),
    group(ArgGroup::new("password").args(["password_file", "password_env"])),
    after_help = "Secrets are never taken on the command line: give a file or an environment variable.\n\n\
                  Examples:\n  \
                  thv registry add official --tier Official \\\n      \
                  --registry-api https://registry.modelcontextprotocol.io\n  \
                  thv registry add internal --git https://git.example.com/mcp.git \\\n      \
                  --branch main --path catalog/registry.json \\\n      \
                  --username bot --password-file ~/.secrets/git-token\n  \
                  thv registry add toolhive --url https://example.com/registry.json \\\n      \
                  --exclude-name '*-experimental'\n  \
                  thv registry add local --file ./catalog.json --manual -o yaml"
)]
pub struct AddArgs {
    /// Registry name (lowercase letters, digits and '-').
    pub name: String,
    /// Source: a local catalog file.
    #[arg(long, value_name = "PATH", help_heading = "Source")]
    pub file: Option<PathBuf>,
    /// Source: a catalog at an HTTP(S) URL.
    #[arg(long, value_name = "URL", help_heading = "Source")]
    pub url: Option<String>,
    /// Source: a Git repository (https, http or file URL).
    #[arg(long, value_name = "REPO", help_heading = "Source")]
    pub git: Option<String>,
    /// Source: another server speaking the MCP Registry API (base URL).
    #[arg(long = "registry-api", value_name = "URL", help_heading = "Source")]
    pub registry_api: Option<String>,
    /// Git branch.
    #[arg(long, requires = "git", help_heading = "Git")]
    pub branch: Option<String>,
    /// Git tag.
    #[arg(long, requires = "git", help_heading = "Git")]
    pub tag: Option<String>,
    /// Git commit.
    #[arg(long, requires = "git", help_heading = "Git")]
    pub commit: Option<String>,
    /// Path of the catalog inside the repository [default: registry.json].
    #[arg(long, requires = "git", help_heading = "Git")]
    pub path: Option<String>,
    /// Extra request header, KEY=VALUE (repeatable; URL and registry-API sources).
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_header, help_heading = "HTTP")]
    pub headers: Vec<(String, String)>,
    /// Bearer token read from this file at each sync.
    #[arg(long, value_name = "FILE", help_heading = "Authentication")]
    pub token_file: Option<PathBuf>,
    /// Bearer token read from this environment variable at each sync.
    #[arg(long, value_name = "VAR", help_heading = "Authentication")]
    pub token_env: Option<String>,
    /// User name for basic authentication (with --password-file or --password-env).
    #[arg(long, requires = "password", help_heading = "Authentication")]
    pub username: Option<String>,
    /// Basic-auth password read from this file at each sync.
    #[arg(long, value_name = "FILE", requires = "username", help_heading = "Authentication")]
    pub password_file: Option<PathBuf>,
    /// Basic-auth password read from this environment variable at each sync.
    #[arg(long, value_name = "VAR", requires = "username", help_heading = "Authentication")]
    pub password_env: Option<String>,
    /// Registry API: fetch only the latest version of each server.
    #[arg(long, requires = "registry_api", help_heading = "Source")]
    pub latest_only: bool,
    /// Format of the source document.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Time between automatic syncs (e.g. 30m, 1h, 1d; 1s to 1year).
    #[arg(long, value_parser = parse_interval, default_value = "1h")]
    pub interval: Duration,
    /// Do not sync automatically (only `thv registry sync`).
    #[arg(long)]
    pub manual: bool,
    /// Keep only servers whose name matches this glob (repeatable; `*` also matches `/`).
    #[arg(long, value_name = "GLOB", help_heading = "Filter")]
    pub include_name: Vec<String>,
    /// Drop servers whose name matches this glob (repeatable).
    #[arg(long, value_name = "GLOB", help_heading = "Filter")]
    pub exclude_name: Vec<String>,
    /// Keep only servers with one of these tags (repeatable).
    #[arg(long, value_name = "TAG", help_heading = "Filter")]
    pub include_tag: Vec<String>,
    /// Drop servers with any of these tags (repeatable).
    #[arg(long, value_name = "TAG", help_heading = "Filter")]
    pub exclude_tag: Vec<String>,
    /// Keep only servers of these tiers, e.g. Official (repeatable).
    #[arg(long, value_name = "TIER", help_heading = "Filter")]
    pub tier: Vec<String>,
    /// Keep only servers offering one of these transports: stdio, streamable-http, sse (repeatable).
    #[arg(long, value_name = "TRANSPORT", help_heading = "Filter")]
    pub transport: Vec<String>,
    /// Keep only servers of these categories (repeatable).
    #[arg(long, value_name = "CATEGORY", help_heading = "Filter")]
    pub category: Vec<String>,
    /// What to print: a message, or the registry as configured (JSON or YAML).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ResultFormat::Table)]
    pub output: ResultFormat,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Detect from the content.
    Auto,
    /// A ToolHive catalog file.
    Toolhive,
    /// A server.json-based document.
    Upstream,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    thv_sync::INTERVAL_RANGE.parse(s)
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("{s:?} has an empty header name"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

/// Headers whose values are credentials: refused by `--header` (the value would be written in the
/// configuration file, where credentials are only ever referenced).
const CREDENTIAL_HEADERS: [&str; 3] = ["Authorization", "Proxy-Authorization", "Cookie"];

/// Refuses a credential header. Checked after parsing, not in [`parse_header`], so that the error message
/// does not repeat the value.
fn check_no_credential_headers(headers: &[(String, String)]) -> anyhow::Result<()> {
    if let Some((name, _)) = headers.iter().find(|(k, _)| CREDENTIAL_HEADERS.iter().any(|h| k.eq_ignore_ascii_case(h)))
    {
        bail!(
            "--header {name}: credentials are never taken on the command line; use --token-file or --token-env, \
             or --username with --password-file or --password-env"
        );
    }
    Ok(())
}

/// Refuses a URL with credentials in it (`https://user:secret@host/…`): they would be written in the
/// configuration file and shown by `thv registry list`.
fn check_no_userinfo(option: &str, url: &str) -> anyhow::Result<()> {
    let Some((_, rest)) = url.split_once("://") else { return Ok(()) };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        bail!(
            "{option}: the URL has credentials in it, which are never written in the configuration; \
             use --token-file or --token-env, or --username with --password-file or --password-env"
        );
    }
    Ok(())
}

impl AddArgs {
    fn auth(&self) -> Option<AuthSpec> {
        let secret = |file: &Option<PathBuf>, env: &Option<String>| {
            file.clone().map(SecretRef::File).or_else(|| env.clone().map(SecretRef::Env))
        };
        if let Some(token) = secret(&self.token_file, &self.token_env) {
            return Some(AuthSpec::Bearer { token });
        }
        let password = secret(&self.password_file, &self.password_env)?;
        Some(AuthSpec::Basic { username: self.username.clone().unwrap_or_default(), password })
    }

    fn source(&self) -> anyhow::Result<SourceSpec> {
        for (option, url) in [("--url", &self.url), ("--git", &self.git), ("--registry-api", &self.registry_api)] {
            if let Some(url) = url {
                check_no_userinfo(option, url)?;
            }
        }
        check_no_credential_headers(&self.headers)?;
        // Also declared with `requires`, which clap does not enforce when the required option is in a
        // satisfied group (clap-rs/clap#4707): without this, `--url U --branch B` dropped the branch silently.
        if self.git.is_none() {
            let git_only = [
                ("--branch", self.branch.is_some()),
                ("--tag", self.tag.is_some()),
                ("--commit", self.commit.is_some()),
                ("--path", self.path.is_some()),
            ];
            if let Some((option, _)) = git_only.into_iter().find(|(_, given)| *given) {
                bail!("{option} applies only to --git sources");
            }
        }
        if self.latest_only && self.registry_api.is_none() {
            bail!("--latest-only applies only to --registry-api sources");
        }
        let headers = self.headers.iter().cloned().collect();
        if let Some(path) = &self.file {
            if self.auth().is_some() || !self.headers.is_empty() {
                bail!("--header and credentials do not apply to --file sources");
            }
            let path = std::path::absolute(path).with_context(|| format!("bad path {}", path.display()))?;
            return Ok(SourceSpec::File(FileSpec { path }));
        }
        if let Some(url) = &self.url {
            return Ok(SourceSpec::Url(UrlSpec {
                url: url.clone(),
                headers,
                auth: self.auth(),
                ca_bundle: None,
                max_bytes: None,
                timeout: None,
                max_redirects: None,
                allow_link_local: false,
            }));
        }
        if let Some(repository) = &self.git {
            if !self.headers.is_empty() {
                bail!("--header does not apply to --git sources");
            }
            let reference = self
                .branch
                .clone()
                .map(GitRef::Branch)
                .or_else(|| self.tag.clone().map(GitRef::Tag))
                .or_else(|| self.commit.clone().map(GitRef::Commit));
            return Ok(SourceSpec::Git(GitSpec {
                repository: repository.clone(),
                reference,
                path: self.path.clone(),
                auth: self.auth(),
                max_bytes: None,
                timeout: None,
            }));
        }
        let url = self.registry_api.clone().context("a source is required")?;
        Ok(SourceSpec::RegistryApi(ApiSpec {
            url,
            headers,
            auth: self.auth(),
            ca_bundle: None,
            latest_only: self.latest_only,
            full_resync_interval: None,
            timeout: None,
            max_page_bytes: None,
            max_pages: None,
            allow_link_local: false,
        }))
    }

    fn spec(&self) -> anyhow::Result<RegistrySpec> {
        Ok(RegistrySpec {
            name: self.name.clone(),
            source: self.source()?,
            format: match self.format {
                FormatArg::Auto => SourceFormat::Auto,
                FormatArg::Toolhive => SourceFormat::Toolhive,
                FormatArg::Upstream => SourceFormat::Upstream,
            },
            sync_policy: SyncPolicy { enabled: !self.manual, interval: self.interval, retry: RetryPolicy::default() },
            filter: Filter {
                include: Criteria {
                    names: self.include_name.clone(),
                    tags: self.include_tag.clone(),
                    tiers: self.tier.clone(),
                    transports: self.transport.clone(),
                    categories: self.category.clone(),
                },
                exclude: Criteria {
                    names: self.exclude_name.clone(),
                    tags: self.exclude_tag.clone(),
                    ..Criteria::default()
                },
            },
            validation: Default::default(),
        })
    }
}

/// What `thv registry add -o json|yaml` prints.
#[derive(Debug, Serialize)]
struct Added {
    /// The configuration file written.
    config: String,
    /// The registry as it is now configured, defaults included, without secrets ([`RegistrySpec::redacted`]).
    registry: RegistrySpec,
}

/// Runs the command.
pub fn run(args: &AddArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let path = locations.config_path();
    let mut file = ConfigFile::open(&path)?;
    let spec = args.spec()?;
    spec.check().map_err(anyhow::Error::msg)?;
    file.add(spec.clone())?;
    file.save()?;
    eprintln!("added registry {} ({} {}) to {}", spec.name, spec.source.kind(), spec.source.location(), path.display());
    eprintln!("run `thv registry sync {}` to fetch it now", spec.name);
    args.output.print(&Added { config: path.display().to_string(), registry: spec.redacted() })?;
    Ok(ExitCode::SUCCESS)
}
