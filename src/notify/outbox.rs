//! The email outbox: messages are enqueued inside the caller's transaction and claimed by workers
//! with one atomic statement and a lease, so several workers never send the same message and a
//! crashed worker's messages are taken over when its lease expires.

use chrono::Duration;
use entity::email_outbox::{self, Column, Entity as Outbox};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, Set, Statement,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::email::EmailAddress;
use crate::domain::email_delivery::EmailStatus;
use crate::domain::locale::Locale;
use crate::error::AppResult;
use crate::notify::templates::{EmailKind, Renderer};

/// Renders messages and gives them their ids. Shared by every use case that sends email.
pub struct Notifier {
    renderer: Renderer,
    message_id_domain: String,
}

impl Notifier {
    /// `from` is the configured sender (`Name <address>`); its domain names every Message-ID.
    pub fn new(from: &str) -> anyhow::Result<Self> {
        let mailbox: lettre::message::Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("BRIDGEFUND_MAIL_FROM `{from}` is not a mailbox: {e}"))?;
        Ok(Notifier {
            renderer: Renderer::new()?,
            message_id_domain: mailbox.email.domain().to_owned(),
        })
    }

    /// A Message-ID derived from the de-duplication key: the same event always has the same id,
    /// so a message delivered twice after a crash is recognisable as one.
    pub fn message_id(&self, dedup_key: &str) -> String {
        let digest = Sha256::digest(dedup_key.as_bytes());
        let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
        format!("<{hex}@{}>", self.message_id_domain)
    }
}

/// Who receives a message.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub address: &'a EmailAddress,
    pub name: Option<&'a str>,
    /// `None` sends both languages, English first.
    pub locale: Option<Locale>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(Uuid),
    /// A message with this de-duplication key exists already; nothing was added.
    AlreadyQueued,
}

/// Adds a message to the outbox, inside the caller's transaction (pass the transaction as `db`).
/// `dedup_key` names the event (for example `verify_email:<user id>:<token id>`): enqueuing the
/// same event again adds nothing.
#[tracing::instrument(skip_all, fields(kind = %kind))]
pub async fn enqueue(
    db: &impl ConnectionTrait,
    notifier: &Notifier,
    clock: &Clock,
    kind: EmailKind,
    recipient: Recipient<'_>,
    dedup_key: &str,
    context: &impl Serialize,
) -> AppResult<Enqueued> {
    let rendered = notifier
        .renderer
        .render(kind, recipient.locale, context)
        .map_err(anyhow::Error::from)?;
    let now = clock.now();
    let id = Uuid::now_v7();
    let row = email_outbox::ActiveModel {
        id: Set(id),
        kind: Set(kind.as_str().to_owned()),
        recipient: Set(recipient.address.as_str().to_owned()),
        recipient_name: Set(recipient.name.map(str::to_owned)),
        locale: Set(recipient.locale.map(|l| l.as_tag().to_owned())),
        subject: Set(rendered.subject),
        body_text: Set(rendered.text),
        body_html: Set(rendered.html),
        message_id: Set(notifier.message_id(dedup_key)),
        dedup_key: Set(dedup_key.to_owned()),
        carries_secret: Set(kind.carries_secret()),
        status: Set(EmailStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_expires_at: Set(None),
        claimed_by: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    // ON CONFLICT DO NOTHING rather than catching the violation: on PostgreSQL a failed statement
    // would abort the caller's whole transaction.
    let inserted = Outbox::insert(row)
        .on_conflict(OnConflict::column(Column::DedupKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(if inserted == 0 {
        Enqueued::AlreadyQueued
    } else {
        Enqueued::New(id)
    })
}

/// Claims up to `limit` due messages for `worker`: pending ones, failed ones whose retry time has
/// come, and ones whose sender's lease expired. One statement, so two workers never claim the
/// same message; PostgreSQL skips rows another worker is claiming, SQLite serialises writers.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    clock: &Clock,
    worker: &str,
    lease: Duration,
    limit: u64,
) -> Result<Vec<email_outbox::Model>, DbErr> {
    let backend = db.get_database_backend();
    let now = clock.now();
    let lock = match backend {
        DatabaseBackend::Postgres => "FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let sql = format!(
        "UPDATE email_outbox
            SET status = 'SENDING', claimed_by = $1, lease_expires_at = $2,
                attempts = attempts + 1, updated_at = $3
          WHERE id IN (
                SELECT id FROM email_outbox
                 WHERE (status IN ('PENDING', 'FAILED') AND next_attempt_at <= $3)
                    OR (status = 'SENDING' AND lease_expires_at <= $3)
                 ORDER BY next_attempt_at, id
                 LIMIT $4
                 {lock})
        RETURNING *"
    );
    let sql = match backend {
        DatabaseBackend::Postgres => sql,
        _ => sql.replace('$', "?"),
    };
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [
            worker.into(),
            (now + lease).into(),
            now.into(),
            (limit as i64).into(),
        ],
    );
    let mut claimed = Outbox::find().from_raw_sql(statement).all(db).await?;
    claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
    Ok(claimed)
}

/// Records a delivery. Only the worker that holds the claim may: a worker whose lease was taken
/// over learns it here (false) and leaves the message to its new owner.
pub async fn mark_sent(
    db: &impl ConnectionTrait,
    clock: &Clock,
    id: Uuid,
    worker: &str,
) -> Result<bool, DbErr> {
    let now = clock.now();
    let result = Outbox::update_many()
        .col_expr(Column::Status, Expr::value(EmailStatus::Sent.as_str()))
        .col_expr(Column::SentAt, Expr::value(now))
        .col_expr(
            Column::LeaseExpiresAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::ClaimedBy.eq(worker))
        .filter(Column::Status.eq(EmailStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a failed attempt: `FAILED` with a retry time, or `DEAD` when `retry_at` is none.
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    clock: &Clock,
    id: Uuid,
    worker: &str,
    error: &str,
    retry_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<bool, DbErr> {
    let now = clock.now();
    let status = if retry_at.is_some() {
        EmailStatus::Failed
    } else {
        EmailStatus::Dead
    };
    let error: String = error.chars().take(1000).collect();
    let result = Outbox::update_many()
        .col_expr(Column::Status, Expr::value(status.as_str()))
        .col_expr(Column::NextAttemptAt, Expr::value(retry_at.unwrap_or(now)))
        .col_expr(Column::LastError, Expr::value(error))
        .col_expr(
            Column::LeaseExpiresAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::ClaimedBy.eq(worker))
        .filter(Column::Status.eq(EmailStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives back claimed messages that were not attempted (the worker is stopping), so they are
/// sent by the next worker without waiting for the lease and without counting an attempt.
pub async fn release(
    db: &impl ConnectionTrait,
    clock: &Clock,
    ids: &[Uuid],
    worker: &str,
) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let result = Outbox::update_many()
        .col_expr(Column::Status, Expr::value(EmailStatus::Pending.as_str()))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
        .col_expr(
            Column::LeaseExpiresAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(Column::UpdatedAt, Expr::value(clock.now()))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::ClaimedBy.eq(worker))
        .filter(Column::Status.eq(EmailStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
