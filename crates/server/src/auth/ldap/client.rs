//! The directory conversation of one login (sso-and-mfa §4.10 steps 1–7), over `ldap3` on
//! tokio: connect (LDAPS, or StartTLS before any bind), find the user (search with the service
//! account, or the DN template), bind as them with the password, read their attributes and
//! groups. One connection per login, closed at the end: logins are rare next to token
//! requests, and no pooled connection can be left bound as some user.
//!
//! Every value typed by the client goes into a filter through `ldap3::ldap_escape` (RFC 4515:
//! `*` `(` `)` `\` NUL become `\2a` `\28` `\29` `\5c` `\00`) and into a DN through
//! `ldap3::dn_escape` (RFC 4514); the user's own DN, placed in the group filter, is escaped too.

use std::collections::HashMap;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};

use super::settings::{LdapSettings, Membership, Mode};

/// What the directory says about a user whose password it accepted.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    pub dn: String,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub uuid: Option<String>,
    /// The DNs of the user's groups, as the directory wrote them.
    pub groups: Vec<String>,
}

#[derive(Debug)]
pub enum LdapFailure {
    /// The same answer as a wrong password; the reason goes to the log only.
    Refused(&'static str),
    /// The directory cannot be reached or answers with a server error (503).
    Unavailable(String),
}

/// Step 1: what may be sent to the directory at all. An empty password would be an
/// unauthenticated bind (RFC 4513 §5.1.2), which some servers answer as a success.
pub fn acceptable(login: &str, password: &str) -> bool {
    !password.is_empty()
        && (1..=256).contains(&login.chars().count())
        && !login.chars().any(char::is_control)
}

/// A rustls verifier that accepts any certificate (`--ldap-tls-verify=false`, tests only).
#[derive(Debug)]
pub(super) struct NoVerification;

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &[rustls_pki_types::CertificateDer<'_>],
        _: &rustls_pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn unavailable(e: impl std::fmt::Display) -> LdapFailure {
    LdapFailure::Unavailable(e.to_string())
}

/// Result codes that mean the server, not the credentials, failed: busy (51), unavailable
/// (52), other (80); and the operations-error family (1, 3 time limit, 11 admin limit).
fn server_error(rc: u32) -> bool {
    matches!(rc, 1 | 3 | 11 | 51 | 52 | 80)
}

struct Conn {
    ldap: Ldap,
    timeout: Duration,
}

impl Conn {
    async fn open(s: &LdapSettings) -> Result<Conn, LdapFailure> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(s.connect_timeout)
            .set_starttls(s.start_tls)
            .set_config(s.tls.clone())
            .set_no_tls_verify(!s.tls_verify);
        // The TLS handshake (and StartTLS) counts toward the connect timeout too.
        let opened = tokio::time::timeout(
            s.connect_timeout,
            LdapConnAsync::with_settings(settings, &s.url),
        )
        .await
        .map_err(|_| unavailable("connect timed out"))?;
        let (conn, ldap) = opened.map_err(unavailable)?;
        ldap3::drive!(conn);
        Ok(Conn {
            ldap,
            timeout: s.timeout,
        })
    }

    /// A simple bind; `Ok(rc)` is the directory's answer.
    async fn bind(&mut self, dn: &str, password: &str) -> Result<u32, LdapFailure> {
        let result = self
            .ldap
            .with_timeout(self.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(unavailable)?;
        if server_error(result.rc) {
            return Err(unavailable(format!("bind answered {}", result.rc)));
        }
        Ok(result.rc)
    }

    /// Entries (referrals dropped); `limit` 0 is none. "No such object" is no entries.
    async fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        limit: i32,
    ) -> Result<Vec<SearchEntry>, LdapFailure> {
        let result = self
            .ldap
            .with_timeout(self.timeout)
            .with_search_options(SearchOptions::new().sizelimit(limit))
            .search(base, scope, filter, attrs.to_vec())
            .await
            .map_err(unavailable)?;
        let (entries, outcome) = (result.0, result.1);
        match outcome.rc {
            // success, size limit exceeded (more than `limit`), no such object
            0 | 4 | 32 => {}
            rc if server_error(rc) => return Err(unavailable(format!("search answered {rc}"))),
            rc => {
                tracing::warn!(rc, "LDAP search refused");
                return Err(LdapFailure::Refused("search refused"));
            }
        }
        let mut out: Vec<SearchEntry> = entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(SearchEntry::construct)
            .collect();
        if outcome.rc == 4 {
            // More entries than asked for: say so by returning one too many.
            out.truncate(usize::try_from(limit).unwrap_or(1));
            out.push(SearchEntry {
                dn: String::new(),
                attrs: HashMap::new(),
                bin_attrs: HashMap::new(),
            });
        }
        Ok(out)
    }

    async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

fn first(entry: &SearchEntry, attribute: &str) -> Option<String> {
    let text = entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .and_then(|(_, v)| v.first().cloned());
    text.or_else(|| {
        entry
            .bin_attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
            .and_then(|(_, v)| v.first().map(hex::encode))
    })
}

fn all(entry: &SearchEntry, attribute: &str) -> Vec<String> {
    entry
        .attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .flat_map(|(_, v)| v.iter().cloned())
        .collect()
}

/// `template` with each `{name}` replaced by its value, escaped for a filter (one pass: a
/// value containing `{username}` is not expanded again).
pub fn fill_filter(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    'outer: while !rest.is_empty() {
        for (name, value) in values {
            let placeholder = format!("{{{name}}}");
            if let Some(after) = rest.strip_prefix(placeholder.as_str()) {
                out.push_str(&ldap3::ldap_escape(*value));
                rest = after;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Steps 2–7 of sso-and-mfa §4.10 for a login (username, or an address when it contains `@`
/// and an e-mail filter is set) and its password.
pub async fn authenticate(
    s: &LdapSettings,
    login: &str,
    password: &str,
) -> Result<DirectoryUser, LdapFailure> {
    if !acceptable(login, password) {
        return Err(LdapFailure::Refused(
            "unacceptable username or empty password",
        ));
    }
    let mut conn = Conn::open(s).await?;
    let result = converse(&mut conn, s, login, password).await;
    conn.close().await;
    result
}

async fn converse(
    conn: &mut Conn,
    s: &LdapSettings,
    login: &str,
    password: &str,
) -> Result<DirectoryUser, LdapFailure> {
    let mut attrs = vec![
        s.username_attribute.as_str(),
        s.email_attribute.as_str(),
        s.first_name_attribute.as_str(),
        s.last_name_attribute.as_str(),
        s.uuid_attribute.as_str(),
    ];
    if s.membership == Membership::MemberOf {
        attrs.push(s.member_of_attribute.as_str());
    }
    let user_filter = fill_filter(&s.user_filter, &[("username", login)]);
    let entry = match s.mode {
        Mode::SearchBind => {
            if !s.bind_dn.is_empty() {
                let rc = conn.bind(&s.bind_dn, &s.bind_password).await?;
                if rc != 0 {
                    // The configuration is wrong, not the user: nobody could log in.
                    tracing::error!(rc, "LDAP service account bind refused");
                    return Err(unavailable(format!("service account bind answered {rc}")));
                }
            }
            let filter = match &s.email_filter {
                Some(f) if login.contains('@') => fill_filter(f, &[("email", login)]),
                _ => user_filter,
            };
            let mut found = conn
                .search(&s.user_search_base, s.user_scope, &filter, &attrs, 2)
                .await?;
            if found.len() > 1 {
                tracing::warn!("LDAP user filter matched more than one entry");
                return Err(LdapFailure::Refused("more than one entry"));
            }
            let entry = found.pop().ok_or(LdapFailure::Refused("no such user"))?;
            if conn.bind(&entry.dn, password).await? != 0 {
                return Err(LdapFailure::Refused("bind refused"));
            }
            entry
        }
        Mode::DirectBind => {
            let dn = s
                .user_dn_template
                .replace("{username}", &ldap3::dn_escape(login));
            if conn.bind(&dn, password).await? != 0 {
                return Err(LdapFailure::Refused("bind refused"));
            }
            // The filter still applies: a filtered-out account can bind (§2.6).
            let mut found = conn
                .search(&dn, Scope::Base, &user_filter, &attrs, 1)
                .await?;
            if found.len() != 1 {
                return Err(LdapFailure::Refused("filtered out"));
            }
            found.pop().ok_or(LdapFailure::Refused("filtered out"))?
        }
    };
    let username = first(&entry, &s.username_attribute).unwrap_or_else(|| login.to_string());
    let groups = match s.membership {
        Membership::None => Vec::new(),
        Membership::MemberOf => all(&entry, &s.member_of_attribute),
        Membership::Search => {
            let filter = fill_filter(
                &s.group_filter,
                &[("user_dn", &entry.dn), ("username", &username)],
            );
            conn.search(&s.group_search_base, Scope::Subtree, &filter, &["1.1"], 0)
                .await?
                .into_iter()
                .map(|g| g.dn)
                .filter(|dn| !dn.is_empty())
                .collect()
        }
    };
    let member = |dn: &super::dn::Dn| groups.iter().any(|g| dn.matches(g));
    if s.require_group.as_ref().is_some_and(|g| !member(g)) {
        return Err(LdapFailure::Refused("not in the required group"));
    }
    if s.deny_group.as_ref().is_some_and(member) {
        return Err(LdapFailure::Refused("in the denied group"));
    }
    Ok(DirectoryUser {
        username,
        email: first(&entry, &s.email_attribute).unwrap_or_default(),
        first_name: first(&entry, &s.first_name_attribute).unwrap_or_default(),
        last_name: first(&entry, &s.last_name_attribute).unwrap_or_default(),
        uuid: first(&entry, &s.uuid_attribute),
        dn: entry.dn,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_escape_every_value_once() {
        let f = fill_filter("(&(uid={username})(x=1))", &[("username", "*)(uid=*")]);
        assert_eq!(f, "(&(uid=\\2a\\29\\28uid=\\2a)(x=1))");
        let f = fill_filter("(uid={username})", &[("username", "{username}\\\0")]);
        assert_eq!(f, "(uid={username}\\5c\\00)");
        let f = fill_filter(
            "(member={user_dn})",
            &[("user_dn", "uid=dan(ops),dc=x"), ("username", "dan")],
        );
        assert_eq!(f, "(member=uid=dan\\28ops\\29,dc=x)");
    }

    #[test]
    fn unacceptable_input_never_reaches_the_directory() {
        assert!(acceptable("alice", "pw"));
        assert!(!acceptable("alice", ""));
        assert!(!acceptable("", "pw"));
        assert!(!acceptable("ali\0ce", "pw"));
        assert!(!acceptable("ali\nce", "pw"));
        assert!(!acceptable(&"a".repeat(257), "pw"));
        assert!(acceptable(&"é".repeat(256), "pw"));
    }
}
