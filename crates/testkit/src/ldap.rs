//! A real LDAP directory for the tests (feature `ldap`): Debian's slapd, started by
//! `tests/ldap/slapd-up.sh` (which installs it when missing) on two free loopback ports (ldap://
//! with StartTLS, and ldaps://), with that script's users and groups. One directory serves a
//! whole test process ([`Slapd::shared`]); it stops when the process does (the script's
//! watchdog), and [`Slapd::start`] gives a private one that stops when dropped.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::bins::workspace_root;

pub const BASE: &str = "dc=example,dc=test";
pub const PEOPLE: &str = "ou=people,dc=example,dc=test";
pub const ADMINS_GROUP: &str = "cn=cvat-admins,ou=groups,dc=example,dc=test";
pub const WORKERS_GROUP: &str = "cn=cvat-workers,ou=groups,dc=example,dc=test";

pub struct Slapd {
    pub dir: PathBuf,
    pub pid: u32,
    pub ldap_port: u16,
    pub ldaps_port: u16,
    _temp: Option<tempfile::TempDir>,
    owned: bool,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback port nothing listens on (a directory that is down).
pub fn closed_port() -> u16 {
    free_port()
}

impl Slapd {
    /// The test process's directory (started at the first call).
    pub fn shared() -> &'static Slapd {
        static SHARED: OnceLock<Slapd> = OnceLock::new();
        SHARED.get_or_init(|| {
            let mut s = Slapd::launch();
            s.owned = false;
            s
        })
    }

    /// A private directory, stopped when dropped.
    pub fn start() -> Slapd {
        Slapd::launch()
    }

    fn launch() -> Slapd {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let (ldap_port, ldaps_port) = (free_port(), free_port());
        let script = workspace_root().join("tests/ldap/slapd-up.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .arg(ldap_port.to_string())
            .arg(ldaps_port.to_string())
            .env("SLAPD_WATCH_PID", std::process::id().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let pid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        Slapd {
            dir,
            pid,
            ldap_port,
            ldaps_port,
            _temp: Some(temp),
            owned: true,
        }
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// The CA of the directory's certificate (the TLS tests).
    pub fn ca_file(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }

    /// slapd's stats log: binds, filters (as sent), and each connection's `ssf` (TLS strength).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default()
    }

    /// The server flags of search-and-bind against this directory (sso-and-mfa §5.2's test
    /// configuration): the service account, a user filter that leaves out disabled entries, the
    /// e-mail filter, group search, admins and workers mapped (the workers' DN spaced and cased
    /// differently on purpose).
    pub fn server_args(&self) -> Vec<String> {
        [
            "--ldap-enabled",
            "--ldap-url",
            &self.url(),
            "--ldap-bind-dn",
            "cn=svc,dc=example,dc=test",
            "--ldap-bind-password",
            "svcpw",
            "--ldap-user-search-base",
            PEOPLE,
            "--ldap-user-filter",
            "(&(objectClass=inetOrgPerson)(uid={username})(!(employeeType=disabled)))",
            "--ldap-email-filter",
            "(&(objectClass=inetOrgPerson)(mail={email})(!(employeeType=disabled)))",
            "--ldap-group-search-base",
            "ou=groups,dc=example,dc=test",
            "--ldap-roles-admin",
            ADMINS_GROUP,
            "--ldap-roles-worker",
            "CN=cvat-workers, OU=groups, DC=example, DC=test",
            "--ldap-default-role",
            "none",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Applies an LDIF change as the directory's root (`ldapmodify`).
    pub fn modify(&self, ldif: &str) {
        use std::io::Write;
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-H", &self.url(), "-D", "cn=admin,dc=example,dc=test"])
            .args(["-w", "adminpw"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        assert!(
            child.wait().unwrap().success(),
            "ldapmodify failed:\n{ldif}"
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        if self.owned {
            let _ = Command::new("kill").arg(self.pid.to_string()).status();
        }
    }
}
