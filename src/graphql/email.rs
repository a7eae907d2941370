//! The email outbox over GraphQL, for admins. Bodies of messages that carry a secret (sign-in
//! links) are never shown.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::email_outbox;

use crate::domain::email_delivery::EmailStatus as DomainStatus;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{parse_id, request};
use crate::graphql::pagination::{Conn, PageRequest, connection, wants_total};
use crate::service::email_outbox as outbox;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum EmailStatus {
    Pending,
    Sending,
    Sent,
    Failed,
    Dead,
}

impl From<EmailStatus> for DomainStatus {
    fn from(status: EmailStatus) -> Self {
        match status {
            EmailStatus::Pending => DomainStatus::Pending,
            EmailStatus::Sending => DomainStatus::Sending,
            EmailStatus::Sent => DomainStatus::Sent,
            EmailStatus::Failed => DomainStatus::Failed,
            EmailStatus::Dead => DomainStatus::Dead,
        }
    }
}

impl EmailStatus {
    fn from_stored(text: &str) -> AppResult<Self> {
        let status: DomainStatus = text
            .parse()
            .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
        Ok(match status {
            DomainStatus::Pending => EmailStatus::Pending,
            DomainStatus::Sending => EmailStatus::Sending,
            DomainStatus::Sent => EmailStatus::Sent,
            DomainStatus::Failed => EmailStatus::Failed,
            DomainStatus::Dead => EmailStatus::Dead,
        })
    }
}

/// One message of the outbox.
pub struct EmailMessage(pub email_outbox::Model);

#[Object]
impl EmailMessage {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn recipient(&self) -> &str {
        &self.0.recipient
    }
    /// `en`, `zh-CN`, or none (both languages).
    async fn locale(&self) -> Option<&str> {
        self.0.locale.as_deref()
    }
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// The plain-text body; none for messages that carry a secret.
    async fn body_text(&self) -> Option<&str> {
        (!self.0.carries_secret).then_some(self.0.body_text.as_str())
    }
    /// The HTML body; none for messages that carry a secret.
    async fn body_html(&self) -> Option<&str> {
        (!self.0.carries_secret).then_some(self.0.body_html.as_str())
    }
    async fn carries_secret(&self) -> bool {
        self.0.carries_secret
    }
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }
    async fn status(&self) -> AppResult<EmailStatus> {
        EmailStatus::from_stored(&self.0.status)
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject, Default)]
#[graphql(name = "EmailOutboxFilterInput")]
pub struct EmailOutboxFilter {
    /// Only messages in these statuses (all when empty).
    pub statuses: Option<Vec<EmailStatus>>,
}

#[derive(Default)]
pub struct EmailQuery;

#[Object]
impl EmailQuery {
    /// The email outbox, newest first (admins only).
    async fn email_outbox(
        &self,
        ctx: &Context<'_>,
        filter: Option<EmailOutboxFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<EmailMessage>> {
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let statuses: Vec<DomainStatus> = filter
            .and_then(|f| f.statuses)
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let request = request(ctx);
        let rows = outbox::list(request.app, &request.viewer, &statuses, &page).await?;
        Ok(connection(rows.map(EmailMessage), &page))
    }
}

#[derive(Default)]
pub struct EmailMutation;

#[Object]
impl EmailMutation {
    /// Queues a test message to an address, in a language or both (admins only).
    async fn send_test_email(
        &self,
        ctx: &Context<'_>,
        to: String,
        locale: Option<String>,
    ) -> AppResult<EmailMessage> {
        let to = to.parse().map_err(|e| AppError::bad_input("to", e))?;
        let locale = locale
            .map(|l| l.parse().map_err(|e| AppError::bad_input("locale", e)))
            .transpose()?;
        let request = request(ctx);
        outbox::send_test(request.app, &request.viewer, &request.actor(), &to, locale)
            .await
            .map(EmailMessage)
    }

    /// Sends a `FAILED` or `DEAD` message again (admins only).
    async fn retry_email(&self, ctx: &Context<'_>, id: ID) -> AppResult<EmailMessage> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        outbox::retry(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(EmailMessage)
    }
}
