//! One outgoing email: written with the business change that caused it, delivered by the worker.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub recipient: String,
    pub recipient_name: Option<String>,
    /// `en`, `zh-CN`, or none (the message is in both languages).
    pub locale: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// Derived from the de-duplication key, so a message sent twice after a crash keeps its id.
    pub message_id: String,
    /// The same event never enqueues twice: this is unique.
    pub dedup_key: String,
    pub carries_secret: bool,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
