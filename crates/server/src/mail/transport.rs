//! Where mail goes: an SMTP server (lettre's async client, TLS through rustls) or, without
//! `--smtp-url`, the development backend: one `.eml` file per mail under the data folder.

use std::path::PathBuf;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::settings::{MailSettings, SmtpTls};

/// The outcome of one delivery attempt that did not succeed.
#[derive(Debug)]
pub struct SendFailure {
    /// A 5xx answer: the server will never take this mail as it is.
    pub permanent: bool,
    pub message: String,
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl Transport {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Transport> {
        let Some(target) = &settings.smtp else {
            return Ok(Transport::Files(settings.dev_dir.clone()));
        };
        let tls = || TlsParameters::new(target.host.clone());
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.clone())
            .port(target.port)
            .timeout(Some(settings.smtp_timeout));
        let builder = match target.tls {
            SmtpTls::None => builder.tls(Tls::None),
            SmtpTls::StartTls => builder.tls(Tls::Required(tls()?)),
            SmtpTls::Implicit => builder.tls(Tls::Wrapper(tls()?)),
        };
        let builder = match &target.credentials {
            Some((user, password)) => {
                builder.credentials(Credentials::new(user.clone(), password.clone()))
            }
            None => builder,
        };
        Ok(Transport::Smtp(builder.build()))
    }

    /// Hands `message` over; `Ok` means the server (or the file) has it.
    pub async fn send(&self, id: i64, message: Message) -> Result<(), SendFailure> {
        match self {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendFailure {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    })
            }
            Transport::Files(dir) => {
                let path = dir.join(format!("{id:06}.eml"));
                let bytes = message.formatted();
                let written = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&path, bytes).await
                };
                written.await.map_err(|e| SendFailure {
                    permanent: false,
                    message: format!("cannot write {}: {e}", path.display()),
                })?;
                // The file holds the mail's links (reset tokens): the log names only the file.
                tracing::info!(
                    file = %path.display(),
                    "mail written by the development backend (set --smtp-url to send mail)"
                );
                Ok(())
            }
        }
    }
}
