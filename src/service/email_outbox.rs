//! The outbox as admins see it: listing messages by status, and sending a failed or dead message
//! again.

use chrono::SecondsFormat;
use entity::email_outbox::{self, Column, Entity as Outbox};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::email_delivery::EmailStatus;
use crate::error::{AppError, AppResult};
use crate::pagination::{self, Cursor, Direction, Page, PageRequest};
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::identity::require_admin;

/// The sort key of the listing, as cursor text that sorts like the column.
fn cursor_of(message: &email_outbox::Model) -> Cursor {
    Cursor {
        key: message
            .created_at
            .to_rfc3339_opts(SecondsFormat::Micros, true),
        id: message.id,
    }
}

/// Messages newest first, optionally only those in the given statuses.
pub async fn list(
    ctx: &AppContext,
    viewer: &Viewer,
    statuses: &[EmailStatus],
    page: &PageRequest,
) -> AppResult<Page<email_outbox::Model>> {
    require_admin(ctx, viewer).await?;
    let mut filter = Condition::all();
    if !statuses.is_empty() {
        filter = filter.add(Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
    }
    let total = if page.count_total {
        Outbox::find().filter(filter.clone()).count(&ctx.db).await?
    } else {
        0
    };
    let mut query = Outbox::find().filter(filter);
    if let Some(after) = &page.after {
        query = query.filter(pagination::after(
            Column::CreatedAt,
            Column::Id,
            after.time_key()?,
            after.id,
            Direction::Descending,
        ));
    }
    let rows = query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(page.limit + 1)
        .all(&ctx.db)
        .await?;
    let rows = rows.into_iter().map(|m| (cursor_of(&m), m)).collect();
    Ok(Page::from_rows(rows, page, total))
}

/// Puts a `FAILED` or `DEAD` message back in the queue, due now, with a fresh count of attempts.
pub async fn retry(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<email_outbox::Model> {
    require_admin(ctx, viewer).await?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let message = Outbox::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("email message"))?;
    let status: EmailStatus = message
        .status
        .parse()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    if !status.can_retry() {
        return Err(AppError::InvalidState(format!(
            "a {status} message cannot be retried; only FAILED or DEAD ones"
        )));
    }
    let updated = Outbox::update_many()
        .col_expr(Column::Status, Expr::value(EmailStatus::Pending.as_str()))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(status.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the message changed meanwhile; reload it".into(),
        ));
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "email.retry",
        AuditTarget {
            kind: "email_message",
            id: Some(id),
        },
        Some(json!({ "status": status.as_str(), "attempts": message.attempts })),
        Some(json!({ "status": "PENDING", "attempts": 0 })),
    )
    .await?;
    let message = Outbox::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("email message"))?;
    txn.commit().await?;
    Ok(message)
}

/// Queues a test message, so an admin can check that email reaches people.
pub async fn send_test(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    to: &crate::domain::email::EmailAddress,
    locale: Option<crate::domain::locale::Locale>,
) -> AppResult<email_outbox::Model> {
    require_admin(ctx, viewer).await?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let key = format!("test:{}", Uuid::now_v7());
    let id = match crate::notify::enqueue(
        &txn,
        &ctx.notifier,
        &ctx.clock,
        crate::notify::EmailKind::Test,
        crate::notify::Recipient {
            address: to,
            name: None,
            locale,
        },
        &key,
        &json!({ "name": to.as_str(), "sent_at": now.format("%Y-%m-%d %H:%M UTC").to_string() }),
    )
    .await?
    {
        crate::notify::Enqueued::New(id) => id,
        crate::notify::Enqueued::AlreadyQueued => {
            return Err(AppError::internal(anyhow::anyhow!(
                "a fresh test key was taken"
            )));
        }
    };
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "email.send_test",
        AuditTarget {
            kind: "email_message",
            id: Some(id),
        },
        None,
        Some(json!({ "to": to.as_str() })),
    )
    .await?;
    let message = Outbox::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("email message"))?;
    txn.commit().await?;
    Ok(message)
}
