//! Runs of the real `cvat-users` binary, each user of it with its own config directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{workspace_bin, TestServer};

/// What a run of `cvat-users` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "cvat-users failed: {self:?}");
        self
    }

    /// A failure: non-zero exit and exactly one line on stderr, which is returned.
    #[track_caller]
    pub fn fails(self) -> String {
        assert_ne!(self.code, 0, "cvat-users succeeded unexpectedly: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr: {self:?}");
        assert!(lines[0].starts_with("cvat-users: "), "{self:?}");
        lines[0].to_string()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// A user of the CLI: its own config directory; talks to `host` unless told otherwise.
pub struct Cli {
    pub host: String,
    pub home: tempfile::TempDir,
}

impl Cli {
    pub fn new(server: &TestServer) -> Cli {
        Cli {
            host: server.base.clone(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.home
            .path()
            .join("config")
            .join("cvat-users")
            .join("config.toml")
    }

    pub fn config(&self) -> toml::Table {
        toml::from_str(&std::fs::read_to_string(self.config_path()).unwrap()).unwrap()
    }

    pub fn saved_token(&self) -> String {
        self.config()["token"].as_str().unwrap().to_string()
    }

    /// `program ARGS` in this user's environment: its config directory, no CVAT_* variables.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("HOME", self.home.path())
            .env_remove("CVAT_HOST")
            .env_remove("CVAT_ORG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `cvat-users ARGS` with `stdin` (or none: not a terminal) and `env`.
    pub fn run_env(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(&workspace_bin("cvat-users", "cvat-users"), args);
        cmd.envs(env.iter().copied());
        finish(cmd, stdin)
    }

    /// `cvat-users ARGS` on a pseudo-terminal (util-linux `script`), typing `input`; `None` when
    /// `script` is not installed.
    pub fn on_terminal(&self, args: &[&str], input: &str) -> Option<Run> {
        let probe = Command::new("script").arg("--version").output();
        if !probe.is_ok_and(|o| o.status.success()) {
            eprintln!("skipped: util-linux `script` is not installed");
            return None;
        }
        let bin = workspace_bin("cvat-users", "cvat-users");
        let command = std::iter::once(bin.display().to_string())
            .chain(
                args.iter()
                    .map(|a| format!("'{}'", a.replace('\'', r"'\''"))),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let cmd = self.command(Path::new("script"), &["-qec", &command, "/dev/null"]);
        Some(finish(cmd, Some(input)))
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, None, &[])
    }

    /// `cvat-users ARGS` with `stdin`.
    pub fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.run_env(args, stdin, &[])
    }

    /// A CLI whose config holds a token of `username` (after `login`).
    pub fn logged_in(server: &TestServer, username: &str, password: &str) -> Cli {
        let cli = Cli::new(server);
        cli.login(username, password).ok();
        cli
    }

    /// `cvat-users --host HOST login --username U --password-stdin`.
    pub fn login(&self, username: &str, password: &str) -> Run {
        self.run_env(
            &[
                "--host",
                &self.host,
                "login",
                "--username",
                username,
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
            &[],
        )
    }
}

/// Runs `cmd`, writing `stdin` to it (none: not a terminal), and collects what it did.
fn finish(mut cmd: Command, stdin: Option<&str>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn cvat-users");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
