//! The origin card of a user's page (issue 14): where the account's password is checked
//! (`auth_source`: local, LDAP, or an OpenID Connect provider) and, for directory users, their
//! entry's DN and when the directory last vouched for them (their last directory login). The
//! OpenID Connect identities linked to an account have their own card.

use maud::{html, Markup};

use super::when;
use crate::store::LdapStatus;

pub(super) fn origin_card(o: &LdapStatus) -> Markup {
    let source = match o.auth_source.as_str() {
        "local" => "local password",
        "ldap" => "LDAP directory",
        "oidc" => "OpenID Connect",
        other => other,
    };
    html! {
        div.card #origin {
            h2 { "Origin" }
            dl.facts {
                dt { "Signs in with" } dd #auth-source { (source) }
                @if let Some(dn) = &o.ldap_dn {
                    dt { "Directory entry" } dd #ldap-dn { code { (dn) } }
                    dt { "Last directory login" } dd { (when(o.ldap_checked_date)) " UTC" }
                }
            }
        }
    }
}
