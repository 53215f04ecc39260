//! The local configuration: registries in a YAML file, state in a database, caches on disk.
//!
//! Paths follow the XDG base directories: `$XDG_CONFIG_HOME/thv/registries.yaml`,
//! `$XDG_DATA_HOME/thv/registry.db`, `$XDG_CACHE_HOME/thv/sources/`; `--config`/`THV_CONFIG` and
//! `--database`/`THV_DATABASE` override the first two (the database may also be a PostgreSQL URL; see
//! `crate::store`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use thv_sync::RegistrySpec;

use crate::files::{Readers, write_atomically};

/// Where the configuration and the database are.
#[derive(Debug, Clone, Args)]
pub struct Locations {
    /// Registry configuration file [default: $XDG_CONFIG_HOME/thv/registries.yaml].
    #[arg(long, global = true, env = "THV_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database: an SQLite file, or a PostgreSQL URL (postgres://USER@HOST:5432/DB?sslmode=verify-full)
    /// [env: THV_DATABASE] [default: $XDG_DATA_HOME/thv/registry.db]. A PostgreSQL password is never given
    /// in this flag: put it in a file named by THV_DATABASE_PASSWORD_FILE, in PGPASSWORD or ~/.pgpass, or
    /// in the URL in THV_DATABASE.
    // Not clap's `env`: the flag and the variable are told apart (a password is refused only in the flag),
    // and clap would print the variable's value, password included, in --help.
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub database: Option<PathBuf>,
}

/// The variable that names the database when `--database` is not given.
pub const DATABASE_ENV: &str = "THV_DATABASE";

/// Where the database setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseSource {
    /// `--database` (visible to other users of the machine, and kept in shell history).
    Flag,
    /// `THV_DATABASE`.
    Environment,
    /// Neither: the default SQLite file.
    Default,
}

/// `$var` if set, else `$HOME/fallback`.
pub fn xdg(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(fallback)))
        .unwrap_or_else(|| PathBuf::from("."))
}

impl Locations {
    /// The configuration file, to write (it may not exist yet).
    pub fn config_path(&self) -> PathBuf {
        self.config.clone().unwrap_or_else(|| xdg("XDG_CONFIG_HOME", ".config").join("thv/registries.yaml"))
    }

    /// The configuration file, to read: one named by `--config` or `THV_CONFIG` must exist (a typo must not
    /// look like an empty configuration); the default one may be absent (nothing configured yet).
    pub fn config_file(&self) -> anyhow::Result<PathBuf> {
        let path = self.config_path();
        if self.config.is_some() && !path.exists() {
            bail!(
                "the configuration file {} (given by --config or THV_CONFIG) does not exist; \
                 `thv registry add` creates it",
                path.display()
            );
        }
        Ok(path)
    }

    /// The database as given (a path or a URL): `--database`, else `THV_DATABASE`, else the default file.
    pub fn database(&self) -> (PathBuf, DatabaseSource) {
        if let Some(flag) = &self.database {
            return (flag.clone(), DatabaseSource::Flag);
        }
        match std::env::var_os(DATABASE_ENV).filter(|v| !v.is_empty()) {
            Some(env) => (PathBuf::from(env), DatabaseSource::Environment),
            None => (xdg("XDG_DATA_HOME", ".local/share").join("thv/registry.db"), DatabaseSource::Default),
        }
    }

    /// Where sources cache data (Git clones).
    pub fn cache_dir(&self) -> PathBuf {
        xdg("XDG_CACHE_HOME", ".cache").join("thv/sources")
    }
}

/// The configuration file's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Registries, in priority order: the first registry that has a server name wins it.
    #[serde(default)]
    pub registries: Vec<RegistrySpec>,
}

impl Config {
    /// Reads and checks a configuration file for use: relative file-source paths are resolved against the
    /// file's folder. A missing file is an empty configuration.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let config = Self::parse(&read_text(path)?, path)?;
        Ok(config.resolved_against(path.parent().unwrap_or(Path::new("."))))
    }

    /// Parses and checks the text of the configuration file at `path`, as written.
    fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let config: Self = if text.trim_start_matches('\u{feff}').trim().is_empty() {
            Self::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| yaml_error(path, &e))?
        };
        config.check().with_context(|| path.display().to_string())?;
        Ok(config)
    }

    /// Makes relative file-source paths relative to `dir` (the configuration file's folder).
    fn resolved_against(mut self, dir: &Path) -> Self {
        for r in &mut self.registries {
            if let thv_sources::SourceSpec::File(f) = &mut r.source
                && f.path.is_relative()
            {
                f.path = dir.join(&f.path);
            }
        }
        self
    }

    /// Checks names are valid and unique and filters are well-formed.
    pub fn check(&self) -> anyhow::Result<()> {
        let mut seen = HashSet::new();
        for r in &self.registries {
            r.check().map_err(anyhow::Error::msg)?;
            if !seen.insert(r.name.as_str()) {
                bail!("registry {:?} is defined twice", r.name);
            }
        }
        Ok(())
    }

    /// Warns on stderr when no registry is configured: then every command that reads the catalogs finds
    /// nothing, which should not look like an empty catalog.
    pub fn warn_if_empty(&self, path: &Path) {
        if self.registries.is_empty() {
            crate::output::write_stderr(format_args!(
                "warning: no registries configured in {} (add one with `thv registry add`)",
                path.display()
            ));
        }
    }

    /// The registry called `name`.
    pub fn registry(&self, name: &str) -> anyhow::Result<&RegistrySpec> {
        Ok(&self.registries[self.index_of(name)?])
    }

    /// The position of the registry called `name`.
    fn index_of(&self, name: &str) -> anyhow::Result<usize> {
        self.registries.iter().position(|r| r.name == name).with_context(|| {
            let known: Vec<&str> = self.registries.iter().map(|r| r.name.as_str()).collect();
            if known.is_empty() {
                format!("no registry named {name:?}: none are configured (thv registry add)")
            } else {
                format!("no registry named {name:?}; configured: {}", known.join(", "))
            }
        })
    }
}

/// The text of the file at `path`: empty when it does not exist.
fn read_text(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// A configuration file as written, edited in place: adding or removing a registry changes that entry's
/// lines only, so the user's comments, order and layout stay, and no default is written.
pub struct ConfigFile {
    path: PathBuf,
    text: String,
    config: Config,
}

impl ConfigFile {
    /// Reads and checks the file (absent: no registries yet).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let text = read_text(path)?;
        let config = Config::parse(&text, path)?;
        Ok(Self { path: path.to_owned(), text, config })
    }

    /// Appends `spec` to the registries, writing only the fields that differ from their defaults.
    pub fn add(&mut self, spec: RegistrySpec) -> anyhow::Result<()> {
        if self.config.registries.iter().any(|r| r.name == spec.name) {
            bail!(
                "a registry named {:?} already exists in {} (thv registry remove it first)",
                spec.name,
                self.path.display()
            );
        }
        let entry = serde_saphyr::to_string(&[without_defaults(&spec)?]).context("cannot write the entry as YAML")?;
        let mut config = self.config.clone();
        config.registries.push(spec);
        config.check()?;
        let text = crate::config_edit::append_entry(&self.text, &entry)
            .and_then(|text| self.reads_as(text, &config))
            .map_err(|why| {
            anyhow::anyhow!(
                "cannot add the registry to {} without rewriting it ({why}); add these lines to its \
                     `registries:` list yourself:\n{entry}",
                self.path.display()
            )
        })?;
        self.text = text;
        self.config = config;
        Ok(())
    }

    /// Removes the registry called `name` and its entry's lines (with the comments just above them).
    pub fn remove(&mut self, name: &str) -> anyhow::Result<RegistrySpec> {
        let index = self.config.index_of(name)?;
        let mut config = self.config.clone();
        config.registries.remove(index);
        let text = crate::config_edit::remove_entry(&self.text, index)
            .and_then(|text| self.reads_as(text, &config))
            .map_err(|why| {
                anyhow::anyhow!(
                    "cannot remove {name:?} from {} without rewriting it ({why}); delete its entry yourself",
                    self.path.display()
                )
            })?;
        self.text = text;
        Ok(std::mem::replace(&mut self.config, config).registries.remove(index))
    }

    /// `text` if it reads as `expected`: an edit must change nothing but the entry it adds or removes.
    fn reads_as(&self, text: String, expected: &Config) -> Result<String, String> {
        match Config::parse(&text, &self.path) {
            Ok(config) if config == *expected => Ok(text),
            Ok(_) => Err("the edited file would read differently".to_owned()),
            Err(e) => Err(format!("the edited file would not read: {e:#}")),
        }
    }

    /// Writes the file atomically (creating its folder), keeping its permissions.
    pub fn save(&self) -> anyhow::Result<()> {
        write_atomically(&self.path, self.text.as_bytes(), Readers::AsBefore)
    }
}

/// `spec` as a JSON value without the fields that reading it back fills in anyway: each field, innermost
/// first, is left out when the spec reads the same without it. The result names only what was chosen.
fn without_defaults(spec: &RegistrySpec) -> anyhow::Result<serde_json::Value> {
    let mut value = serde_json::to_value(spec).context("cannot write the registry as JSON")?;
    let mut paths = Vec::new();
    field_paths(&value, &mut Vec::new(), &mut paths);
    for path in paths {
        let mut candidate = value.clone();
        remove_field(&mut candidate, &path);
        if serde_json::from_value::<RegistrySpec>(candidate.clone()).is_ok_and(|read| read == *spec) {
            value = candidate;
        }
    }
    Ok(value)
}

/// One step into a JSON value.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path of every object field under `value`, inner fields before the field holding them.
fn field_paths(value: &serde_json::Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                at.push(Step::Key(key.clone()));
                field_paths(inner, at, out);
                out.push(at.clone());
                at.pop();
            }
        }
        serde_json::Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                at.push(Step::Index(i));
                field_paths(inner, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// Removes the field at `path` (the last step is a key), keeping the order of the others.
fn remove_field(value: &mut serde_json::Value, path: &[Step]) {
    let Some((Step::Key(last), parents)) = path.split_last() else { return };
    let mut here = value;
    for step in parents {
        let next = match step {
            Step::Key(k) => here.get_mut(k),
            Step::Index(i) => here.get_mut(i),
        };
        let Some(next) = next else { return };
        here = next;
    }
    if let Some(map) = here.as_object_mut() {
        map.shift_remove(last);
    }
}

/// A YAML error as one message naming the file: `FILE: line 2 column 11: …` and the parser's snippet of the
/// file (`--> FILE:2:11`), without the parser's own `error:` title (`thv` prints one).
pub fn yaml_error(path: &Path, error: &serde_saphyr::Error) -> anyhow::Error {
    let name = path.display().to_string();
    let rendered = error.render_with_options(serde_saphyr::render_options! { source_name: Some(&name) });
    let rendered = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    anyhow::anyhow!("{name}: {rendered}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_error_names_the_file_once_and_says_error_nowhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registries.yaml");
        std::fs::write(&path, "registries:\n  - name: [\n").expect("write");
        let message = format!("{:#}", Config::load(&path).expect_err("broken YAML"));
        let name = path.display().to_string();
        assert!(message.starts_with(&format!("{name}: line 2 column 11")), "{message}");
        assert!(message.contains(&format!("{name}:2:11")), "the snippet names the file: {message}");
        assert!(!message.contains("error:") && !message.contains("<input>"), "{message}");
    }

    #[test]
    fn a_named_configuration_must_exist_and_the_default_may_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.yaml");
        let named = Locations { config: Some(missing.clone()), database: None };
        let message = format!("{:#}", named.config_file().expect_err("a named file that is not there"));
        assert!(message.contains("nope.yaml") && message.contains("does not exist"), "{message}");
        std::fs::write(&missing, "").expect("write");
        assert_eq!(named.config_file().expect("it exists now"), missing);
        assert_eq!(named.config_path(), missing);
    }
}
