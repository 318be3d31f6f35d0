//! `$XDG_CONFIG_HOME/cvat-users/config.toml` (or `~/.config/cvat-users/config.toml`): the server
//! and the personal access token of the last login, readable by the user only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::context::Failure;

/// What `login` stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The server, e.g. `https://cvat.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Who logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The personal access token (sent as `Authorization: Bearer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Its id, to revoke it on `logout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<i64>,
    /// Its name on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
}

impl Config {
    /// The token, if it was issued by `host`.
    pub fn token_for(&self, host: &str) -> Option<&str> {
        (self.host.as_deref() == Some(host))
            .then_some(self.token.as_deref())
            .flatten()
    }

    /// Forgets the token (keeps the host).
    pub fn clear_token(&mut self) {
        self.username = None;
        self.token = None;
        self.token_id = None;
        self.token_name = None;
    }
}

/// The config file's path: `$XDG_CONFIG_HOME/cvat-users/config.toml`, or under `~/.config`.
pub fn path() -> Result<PathBuf, Failure> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home).join(".config"),
            None => {
                return Err(Failure::new(
                    "cannot find the config directory: set XDG_CONFIG_HOME or HOME",
                ))
            }
        },
    };
    Ok(base.join("cvat-users").join("config.toml"))
}

/// Reads the config; a missing file is an empty config.
pub fn load(path: &Path) -> Result<Config, Failure> {
    match fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            let why = e.message().to_string();
            Failure::new(format!("cannot read {}: {why}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Failure::new(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Writes the config atomically with mode 0600 (its directory 0700).
pub fn save(path: &Path, config: &Config) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::new(format!("cannot write {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(fail)?;
    let text = toml::to_string(config)
        .map_err(|e| Failure::new(format!("cannot write {}: {e}", path.display())))?;
    let tmp = path.with_extension("toml.tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = private_file(&tmp).map_err(fail)?;
    file.write_all(b"# Written by cvat-users login; holds a secret token.\n")
        .and_then(|()| file.write_all(text.as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    fs::rename(&tmp, path).map_err(fail)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
