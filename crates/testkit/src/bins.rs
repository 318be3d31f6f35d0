//! The workspace's binaries under test, built on first use (`cargo build -p PACKAGE --bin BIN`,
//! a no-op when up to date): a library cannot see `CARGO_BIN_EXE_*`, and the SDK's tests need
//! the server of another package. `CVAT_SERVER_BIN` (any `CVAT_<BIN>_BIN`) names another binary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// `<workspace>`: two levels above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The target profile directory this test runs from (`.../target/debug`), found from the test
/// executable (`.../target/debug/deps/<test>`), so `CARGO_TARGET_DIR` is honoured.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("deps dir");
    let dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().unwrap()
    } else {
        deps
    };
    dir.to_path_buf()
}

/// The `cvat-server` binary.
pub fn server_bin() -> PathBuf {
    workspace_bin("cvat-server", "cvat-server")
}

/// Binary `bin` of workspace package `package`, built once per test process. When the build
/// fails (say the sources are half-edited) but an earlier binary exists, that one is used, with
/// a warning.
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    static BINS: OnceLock<Mutex<HashMap<String, Result<PathBuf, String>>>> = OnceLock::new();
    let mut bins = BINS.get_or_init(Default::default).lock().unwrap();
    bins.entry(bin.to_string())
        .or_insert_with(|| build(package, bin))
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn build(package: &str, bin: &str) -> Result<PathBuf, String> {
    let var = format!(
        "CVAT_{}_BIN",
        bin.trim_start_matches("cvat-").to_uppercase()
    );
    if let Some(path) = std::env::var_os(&var).filter(|b| !b.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let profile_dir = profile_dir();
    let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let path = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .args(["--profile", &profile])
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo build -p {package}: {e}"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).into_owned();
        if !path.exists() {
            return Err(format!("cargo build -p {package} failed:\n{why}"));
        }
        eprintln!(
            "warning: cargo build -p {package} failed; testing the existing {}:\n{why}",
            path.display()
        );
    }
    if path.exists() {
        Ok(path)
    } else {
        Err(format!("no binary at {}", path.display()))
    }
}
