//! Outgoing mail that is never lost: a mail is a row of the outbox (`store::outbox`), written
//! with the change that causes it, and a background worker (`worker`) sends it through SMTP
//! (`transport`) with retries and exponential backoff. A crash between the commit and the send,
//! or an SMTP server that is down for a while, only delays the mail. Every row has a stable
//! `Message-ID`, and a row the SMTP server accepted is marked sent at once and never sent again
//! (only a crash in the instant between the server's answer and that mark can repeat a mail,
//! with the same `Message-ID`).
//!
//! Headers are built by lettre's typed builders from validated addresses: a CR or LF in a name
//! or subject is encoded, never a new header line.

pub mod cli;
pub mod settings;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use rand::RngCore;
use tokio::sync::Notify;

pub use settings::{MailArgs, MailSettings};

use crate::store::NewMail;

/// The mail settings of a running server and the bell that wakes its worker.
#[derive(Debug, Clone)]
pub struct Mailer {
    pub settings: Arc<MailSettings>,
    wake: Arc<Notify>,
}

impl Mailer {
    pub fn new(settings: MailSettings) -> Mailer {
        Mailer {
            settings: Arc::new(settings),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Tells this process's worker that mail was queued (other replicas find it by polling).
    pub fn queued(&self) {
        self.wake.notify_one();
    }

    /// The scheme and host links in mails start with: `--public-url`, else `origin` (the
    /// scheme and host of the request that caused the mail).
    pub fn link_base<'a>(&'a self, origin: &'a str) -> &'a str {
        self.settings.public_url.as_deref().unwrap_or(origin)
    }

    pub(crate) fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// A unique `Message-ID` (without angle brackets) in the sender's domain.
    pub fn new_message_id(&self) -> String {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        format!(
            "{}@{}",
            hex::encode(bytes),
            self.settings.from.email.domain()
        )
    }
}

/// Why a mail cannot be queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MailError {
    #[error("not a valid mail address: {0:?}")]
    BadAddress(String),
}

/// A display name with control characters (CR, LF, ...) replaced by spaces: they have no
/// place in a name, whatever the header encoding does with them.
pub fn clean_header_text(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.trim().to_string()
}

/// A mail to `recipient` checked for the outbox: the address must parse as one address.
#[allow(clippy::too_many_arguments)]
pub fn new_mail(
    mailer: &Mailer,
    kind: &str,
    recipient: &str,
    recipient_name: &str,
    subject: &str,
    body_text: String,
    body_html: String,
) -> Result<NewMail, MailError> {
    recipient
        .parse::<Address>()
        .map_err(|_| MailError::BadAddress(recipient.to_string()))?;
    Ok(NewMail {
        kind: kind.to_string(),
        recipient: recipient.to_string(),
        recipient_name: clean_header_text(recipient_name),
        subject: clean_header_text(subject),
        body_text,
        body_html,
        message_id: mailer.new_message_id(),
    })
}

/// The message of an outbox row: text and HTML alternatives, stable `Message-ID`.
pub fn build_message(from: &Mailbox, mail: &NewMail) -> anyhow::Result<Message> {
    let address: Address = mail.recipient.parse()?;
    let name = Some(clean_header_text(&mail.recipient_name)).filter(|n| !n.is_empty());
    let body = MultiPart::alternative_plain_html(mail.body_text.clone(), mail.body_html.clone());
    Ok(Message::builder()
        .from(from.clone())
        .to(Mailbox::new(name, address))
        .subject(clean_header_text(&mail.subject))
        .message_id(Some(format!("<{}>", mail.message_id)))
        .multipart(body)?)
}

/// HTML-escapes text for mail bodies.
pub fn escape_html(s: &str) -> String {
    maud::html! { (s) }.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, subject: &str) -> NewMail {
        NewMail {
            message_id: "abc@localhost".into(),
            kind: "test".into(),
            recipient: "eve@example.com".into(),
            recipient_name: name.into(),
            subject: subject.into(),
            body_text: "hello".into(),
            body_html: "<p>hello</p>".into(),
        }
    }

    #[test]
    fn line_breaks_in_names_and_subjects_never_start_a_header() {
        let from: Mailbox = "webmaster@localhost".parse().unwrap();
        let msg = build_message(
            &from,
            &row("Eve\r\nBcc: victim@example.com", "Hi\r\nX-Evil: 1"),
        )
        .unwrap();
        let text = String::from_utf8(msg.formatted()).unwrap();
        let headers = text.split("\r\n\r\n").next().unwrap();
        for line in headers.split("\r\n") {
            assert!(!line.starts_with("Bcc:"), "{headers}");
            assert!(!line.starts_with("X-Evil:"), "{headers}");
        }
        assert_eq!(msg.envelope().to().len(), 1);
        assert!(headers.contains("Message-ID: <abc@localhost>"), "{headers}");
    }

    #[test]
    fn addresses_with_line_breaks_are_refused() {
        let mailer = Mailer::new(
            MailArgs {
                smtp_url: None,
                mail_from: "webmaster@localhost".into(),
                public_url: None,
                password_reset_timeout: 1,
                mail_retry_delay: 1.0,
                mail_max_attempts: 1,
                smtp_timeout: 1,
                email_verification: Default::default(),
                email_confirmation_cooldown: 180,
            }
            .settings("sqlite://x/cvat.db")
            .unwrap(),
        );
        let bad = new_mail(
            &mailer,
            "t",
            "eve@example.com\r\nBcc: victim@example.com",
            "",
            "s",
            String::new(),
            String::new(),
        );
        assert!(matches!(bad, Err(MailError::BadAddress(_))));
    }
}
