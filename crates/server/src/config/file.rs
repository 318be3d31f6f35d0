//! The optional TOML file (`--config FILE` / `CVAT_CONFIG`): its values become the defaults of
//! the matching flags before clap parses the command line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The configuration file named by `--config FILE` / `--config=FILE` in `argv`, else by
/// `CVAT_CONFIG`.
fn config_path(argv: &[OsString]) -> Option<PathBuf> {
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        let Some(s) = a.to_str() else { continue };
        if s == "--" {
            break;
        }
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("CVAT_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Keys whose values never show in `--help`.
const SECRET_KEYS: [&str; 5] = [
    "secret_key",
    "database_url",
    "smtp_url",
    "ldap_bind_password",
    "oidc_providers",
];

/// Reads the file, if one is named, and makes its values the defaults of the matching
/// arguments of every subcommand that has them. Unknown keys are an error (typos would
/// otherwise be silently ignored).
pub fn with_config_file(cmd: clap::Command, argv: &[OsString]) -> anyhow::Result<clap::Command> {
    let Some(path) = config_path(argv) else {
        return Ok(cmd);
    };
    let values = read_config_file(&path)?;
    let Some(serve) = cmd.find_subcommand("serve").cloned() else {
        anyhow::bail!("no serve subcommand to take the file's settings");
    };
    let known: Vec<String> = serve
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .filter(|id| !["config", "help", "version"].contains(&id.as_str()))
        .collect();
    for (key, _) in &values {
        if !known.iter().any(|k| k == key) {
            anyhow::bail!(
                "{}: unknown key `{key}` (known keys: {})",
                path.display(),
                known.join(", ")
            );
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd;
    for name in names {
        for (key, value) in &values {
            let has = cmd
                .find_subcommand(&name)
                .is_some_and(|s| s.get_arguments().any(|a| a.get_id() == key.as_str()));
            if !has {
                continue;
            }
            // clap keeps defaults as `&'static str`; the file is read once per process.
            let value: &'static str = Box::leak(value.clone().into_boxed_str());
            let secret = SECRET_KEYS.contains(&key.as_str());
            cmd = cmd.mut_subcommand(&name, |s| {
                s.mut_arg(key.as_str(), |a| {
                    a.default_value(value).hide_default_value(secret)
                })
            });
        }
    }
    Ok(cmd)
}

/// The file's keys and their values as command-line strings. A table's keys are joined to its
/// name with `_`: `[ldap] bind_dn = ".."` is the key `ldap_bind_dn` (`--ldap-bind-dn`).
fn read_config_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read configuration file {}: {e}", path.display()))?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: invalid TOML: {e}", path.display()))?;
    let mut out = Vec::new();
    // A map of providers has no flat keys: `[oidc.providers.<id>]` goes whole to the hidden
    // key `oidc_providers`, as TOML text (`auth::oidc::settings` parses and checks it).
    if let Some(toml::Value::Table(oidc)) = table.get_mut("oidc") {
        if let Some(providers) = oidc.remove("providers") {
            let toml::Value::Table(providers) = providers else {
                anyhow::bail!(
                    "{}: `oidc.providers` must be a table of tables",
                    path.display()
                );
            };
            out.push(("oidc_providers".to_string(), providers.to_string()));
        }
    }
    flatten(path, "", table, &mut out)?;
    Ok(out)
}

fn flatten(
    path: &Path,
    prefix: &str,
    table: toml::Table,
    out: &mut Vec<(String, String)>,
) -> anyhow::Result<()> {
    for (key, value) in table {
        let key = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}_{key}")
        };
        let text = match value {
            toml::Value::Table(inner) => {
                flatten(path, &key, inner, out)?;
                continue;
            }
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => {
                let mut parts = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s),
                        other => anyhow::bail!(
                            "{}: `{key}` must list strings, not {}",
                            path.display(),
                            other.type_str()
                        ),
                    }
                }
                // Lists of DNs (`[ldap] roles_admin`) hold commas: those are joined with `;`.
                let separator = if parts.iter().any(|p| p.contains(',')) {
                    ";"
                } else {
                    ","
                };
                parts.join(separator)
            }
            other => anyhow::bail!(
                "{}: `{key}` cannot be a {}",
                path.display(),
                other.type_str()
            ),
        };
        out.push((key, text));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_flatten_into_prefixed_keys() {
        let dir = std::env::temp_dir().join(format!("cvat-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:1\"\n[mail]\nfrom = \"a@b\"\n[x.y]\nz = 3\n\
             [ldap]\nroles_admin = [\"cn=a,dc=x\", \"cn=b,dc=x\"]\n",
        )
        .unwrap();
        let mut pairs = read_config_file(&file).unwrap();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                ("bind".into(), "127.0.0.1:1".into()),
                ("ldap_roles_admin".into(), "cn=a,dc=x;cn=b,dc=x".into()),
                ("mail_from".into(), "a@b".into()),
                ("x_y_z".into(), "3".into())
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
