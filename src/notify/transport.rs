//! Where messages go, chosen by configuration: an SMTP server (pooled, with TLS or STARTTLS), a
//! folder of `.eml` files (the default, so `cargo run` needs no mail server), or memory (tests).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::notify::templates::one_line;

/// A message as the worker hands it to a transport.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub message_id: String,
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A message the memory transport kept.
#[derive(Debug, Clone)]
pub struct CapturedEmail {
    pub to: String,
    pub message_id: String,
    pub subject: String,
    pub raw: String,
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
    Memory(Arc<Mutex<Vec<CapturedEmail>>>),
}

impl Transport {
    /// The transport the configuration asks for: SMTP when a URL is set, else the mail folder.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.mail.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("BRIDGEFUND_SMTP_URL is not a valid smtp:// or smtps:// URL")?
                    .timeout(Some(Duration::from_secs(config.mail.smtp_timeout_secs)))
                    .pool_config(PoolConfig::new().max_size(4))
                    .build();
                Ok(Transport::Smtp(transport))
            }
            None => Ok(Transport::Folder(config.mail_dir())),
        }
    }

    pub fn memory() -> Self {
        Transport::Memory(Arc::default())
    }

    /// What the memory transport has kept (empty for other transports).
    pub fn captured(&self) -> Vec<CapturedEmail> {
        match self {
            Transport::Memory(kept) => kept.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            _ => Vec::new(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Folder(dir) => format!("mail folder {}", dir.display()),
            Transport::Memory(_) => "memory".to_owned(),
        }
    }

    pub async fn send(&self, from: &Mailbox, email: &OutgoingEmail) -> anyhow::Result<()> {
        let message = build_message(from, email)?;
        match self {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .context("the SMTP server refused or failed")?;
            }
            Transport::Folder(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("cannot create mail folder {}", dir.display()))?;
                let stem: String = email
                    .message_id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect();
                let path = dir.join(format!("{stem}.eml"));
                let partial = dir.join(format!(".{stem}.eml.partial"));
                // Write then rename: a reader never sees half a message.
                tokio::fs::write(&partial, message.formatted())
                    .await
                    .with_context(|| format!("cannot write {}", partial.display()))?;
                tokio::fs::rename(&partial, &path)
                    .await
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Transport::Memory(kept) => {
                kept.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(CapturedEmail {
                        to: email.to_address.clone(),
                        message_id: email.message_id.clone(),
                        subject: email.subject.clone(),
                        raw: String::from_utf8_lossy(&message.formatted()).into_owned(),
                    });
            }
        }
        Ok(())
    }
}

/// Builds the MIME message. Header values are one line and lettre encodes them, so nothing in a
/// name or subject can add a header.
pub fn build_message(from: &Mailbox, email: &OutgoingEmail) -> anyhow::Result<Message> {
    let to = Mailbox::new(
        email.to_name.as_deref().map(one_line),
        email
            .to_address
            .parse()
            .with_context(|| format!("invalid recipient address {}", email.to_address))?,
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(one_line(&email.subject))
        .message_id(Some(email.message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(email.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(email.html.clone()),
                ),
        )
        .context("cannot build the email message")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(name: &str, subject: &str) -> OutgoingEmail {
        OutgoingEmail {
            message_id: "<abc@bridgefund.localhost>".into(),
            to_address: "li.wei@example.org".into(),
            to_name: Some(name.into()),
            subject: subject.into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
        }
    }

    fn headers(message: &Message) -> String {
        let raw = String::from_utf8(message.formatted()).unwrap();
        raw.split("\r\n\r\n").next().unwrap().to_owned()
    }

    #[test]
    fn no_header_can_be_injected_through_a_name_or_subject() {
        let from: Mailbox = "Bridgefund <no-reply@bridgefund.localhost>"
            .parse()
            .unwrap();
        let message = build_message(
            &from,
            &email(
                "Eve\r\nBcc: victim@example.org",
                "Hi\r\nBcc: victim@example.org",
            ),
        )
        .unwrap();
        let headers = headers(&message);
        assert!(
            !headers
                .lines()
                .any(|line| line.to_ascii_lowercase().starts_with("bcc:")),
            "{headers}"
        );
        assert_eq!(message.envelope().to().len(), 1);
    }

    #[test]
    fn the_message_id_is_the_one_given() {
        let from: Mailbox = "Bridgefund <no-reply@bridgefund.localhost>"
            .parse()
            .unwrap();
        let message = build_message(&from, &email("Li Wei", "Hello")).unwrap();
        assert!(headers(&message).contains("Message-ID: <abc@bridgefund.localhost>"));
    }
}
