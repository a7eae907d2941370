//! Writes the audit trail: one append-only row per mutation, inside the mutation's transaction,
//! so a change and its record commit or roll back together.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::audit::redact;

/// Who acted, and in which request.
#[derive(Debug, Clone, Default)]
pub struct AuditActor {
    pub user_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// The object a mutation touched.
#[derive(Debug, Clone, Copy)]
pub struct AuditTarget<'a> {
    pub kind: &'a str,
    pub id: Option<Uuid>,
}

/// Appends one audit event. `before` and `after` are snapshots of the target; secrets in them are
/// redacted here, whatever the caller passed.
pub async fn record(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &AuditActor,
    action: &str,
    target: AuditTarget<'_>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), DbErr> {
    let now = clock.now();
    entity::audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_id: Set(actor.user_id),
        action: Set(action.to_owned()),
        target_type: Set(target.kind.to_owned()),
        target_id: Set(target.id),
        before_state: Set(before.map(redact)),
        after_state: Set(after.map(redact)),
        request_id: Set(actor.request_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}
