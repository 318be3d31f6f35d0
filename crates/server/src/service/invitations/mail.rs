//! The invitation mail (spec §4.3, the newest CVAT's `invitation/invitation` template): names
//! the organization (its slug, as CVAT does) and the inviter, and links to the UI's login page,
//! which keeps the key and opens the invitation after login or registration. Ours adds a text
//! part and URL-encodes the address in the link.

use crate::mail::{self, escape_html, MailError, Mailer};
use crate::service::password_reset::site_name;
use crate::store::NewMail;

/// What the mail says.
pub struct InvitationMail<'a> {
    /// The invitee's stored address and display name.
    pub to: &'a str,
    pub to_name: &'a str,
    pub inviter: &'a str,
    pub org_slug: &'a str,
    pub key: &'a str,
    /// `--public-url`, or the request's scheme and host.
    pub base: &'a str,
}

/// `<base>/auth/login?email=<address>&invitation=<key>`.
pub fn link(base: &str, email: &str, key: &str) -> String {
    let email: String = form_urlencoded::byte_serialize(email.as_bytes()).collect();
    format!("{base}/auth/login?email={email}&invitation={key}")
}

pub fn render(mailer: &Mailer, m: &InvitationMail<'_>) -> Result<NewMail, MailError> {
    let site = site_name(m.base);
    let link = link(m.base, m.to, m.key);
    let subject = format!(
        "[{site}] You're invited to join the {} organization in CVAT!",
        m.org_slug
    );
    let text = format!(
        "You've been invited to an organization\n\n\
         You're receiving this email because you've been invited by {inviter} to join the \
         {org} organization in CVAT at {site}.\n\n\
         To join the organization and start annotating, open the link below and complete the \
         registration:\n\n{link}\n\n{site}\n",
        inviter = m.inviter,
        org = m.org_slug,
    );
    let (site_h, link_h) = (escape_html(site), escape_html(&link));
    let html = format!(
        "<!DOCTYPE html>\n<html><body>\n<h1>You've been invited to an organization</h1>\n\
         <p>You're receiving this email because you've been invited by <b>{inviter}</b> to join the \
         <b>{org}</b> organization in CVAT at {site_h}.</p>\n\
         <p>To join the organization and start annotating, simply tap the button below and complete \
         the registration.</p>\n\
         <p><a href=\"{link_h}\">Setup your account</a></p>\n<p>{site_h}</p>\n</body></html>\n",
        inviter = escape_html(m.inviter),
        org = escape_html(m.org_slug),
    );
    mail::new_mail(mailer, "invitation", m.to, m.to_name, &subject, text, html)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_link_encodes_the_address() {
        assert_eq!(
            super::link("https://cvat.example", "new.user+tag@example.com", "K"),
            "https://cvat.example/auth/login?email=new.user%2Btag%40example.com&invitation=K"
        );
    }
}
