//! A reviewer's assignment to an application, and the review they write for it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "review_assignment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    /// The application's call, so a reviewer's load in a call is one indexed count.
    pub call_id: Uuid,
    pub reviewer_id: Uuid,
    /// `ASSIGNED`, `SUBMITTED` or `RECUSED`.
    pub status: String,
    pub due_at: DateTimeUtc,
    pub assigned_by: Uuid,
    pub recusal_reason: Option<String>,
    pub recused_at: Option<DateTimeUtc>,
    pub reminder_sent_at: Option<DateTimeUtc>,
    pub overdue_sent_at: Option<DateTimeUtc>,
    /// `[{ key, score, justification }]`, draft or submitted.
    pub scores: Option<Json>,
    pub recommendation: Option<String>,
    pub comment: Option<String>,
    /// The weighted score of a submitted review, in basis points of 100.
    pub score_bp: Option<i32>,
    pub submitted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
