//! Unit tests of `settings`: checks naming the key, the secret override, printing masked.

use super::*;
use clap::{FromArgMatches, Parser};

#[derive(Parser)]
struct T {
    #[command(flatten)]
    a: OidcArgs,
}

fn args(providers: &str) -> OidcArgs {
    let cmd = <T as clap::CommandFactory>::command();
    let m = cmd.get_matches_from(["t", "--oidc-providers", providers]);
    T::from_arg_matches(&m).unwrap().a
}

fn err(providers: &str) -> String {
    format!("{:#}", args(providers).settings(&|_| None).unwrap_err())
}

#[test]
fn providers_are_checked_with_the_key_named() {
    let ok = "[kc]\nissuer = \"https://kc.example.com/realms/a/.well-known/openid-configuration\"\nclient_id = \"cvat\"\nclient_secret = \"s\"\n";
    let s = args(ok).settings(&|_| None).unwrap();
    assert_eq!(s.providers["kc"].issuer, "https://kc.example.com/realms/a");
    assert_eq!(s.providers["kc"].client_secret, "s");
    let s = args(ok)
        .settings(&|k| (k == "CVAT_OIDC__PROVIDERS__KC__CLIENT_SECRET").then(|| "env".into()))
        .unwrap();
    assert_eq!(s.providers["kc"].client_secret, "env");
    assert!(
        err("[kc]\nissuer = \"http://kc.example.com\"\nclient_id = \"c\"\n")
            .contains("oidc.providers.kc.issuer")
    );
    assert!(err(
        "[kc]\nissuer = \"https://kc\"\nclient_id = \"c\"\nid_token_signing_algs = [\"HS256\"]\n"
    )
    .contains("oidc.providers.kc.id_token_signing_algs"));
    assert!(err(
        "[kc]\nissuer = \"https://kc\"\nclient_id = \"c\"\nid_token_signing_algs = [\"none\"]\n"
    )
    .contains("not allowed"));
    assert!(err("[KC]\nissuer = \"https://kc\"\nclient_id = \"c\"\n").contains("provider id"));
    assert!(err("[kc]\nissuer = \"https://kc\"\nclient_id = \"c\"\nfoo = 1\n").contains("foo"));
    assert!(err("[kc]\nissuer = \"https://kc\"\nclient_id = \"c\"\n[kc.authorization]\nmapping = [{ groups = [\"g\"], root_role = \"owner\" }]\n")
        .contains("oidc.providers.kc.authorization.mapping.root_role"));
    assert_eq!(
        secret_env_name("a-b"),
        "CVAT_OIDC__PROVIDERS__A_B__CLIENT_SECRET"
    );
}

#[test]
fn printed_providers_mask_the_secret() {
    let a = args("[kc]\nissuer = \"https://kc\"\nclient_id = \"c\"\nclient_secret = \"hunter2\"\n");
    let mut out = String::new();
    a.to_toml(&mut out);
    assert!(out.contains("# [oidc.providers.kc]"));
    assert!(!out.contains("hunter2"));
    assert!(out.contains(MASK));
    out.parse::<toml::Table>().unwrap();
}
