//! Grants after approval: the grantee accepts the conditions and records where to be paid; a
//! later change of bank details waits for a manager's approval before any further payment.
//! Grantees see their own grants, managers their funds', admins all; nobody else learns a grant
//! exists.

use chrono::SecondsFormat;
use entity::{fund_manager, grant, organization_member};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::disbursement::BankDetails;
use crate::domain::identity::GlobalRole;
use crate::error::{AppError, AppResult};
use crate::notify::EmailKind;
use crate::pagination::{self, Cursor, Direction, Page, PageRequest};
use crate::service::application::members_of;
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::fund::{FundRole, is_manager, people};
use crate::service::identity::global_roles;
use crate::service::notification::{email_users, pick};

/// Bank details may be used for payments.
pub const BANK_DETAILS_APPROVED: &str = "APPROVED";
/// Bank details changed after they were first recorded; a manager must approve them.
pub const BANK_DETAILS_PENDING: &str = "PENDING";

/// How the viewer stands to a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRole {
    /// A member of the grantee organisation.
    Grantee,
    /// A manager of the grant's fund.
    Manager,
    Admin,
}

#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub fund_id: Option<Uuid>,
    pub call_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub statuses: Vec<String>,
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<grant::Model> {
    grant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("grant"))
}

/// The viewer's standing on a grant, if any.
pub async fn role_on(
    db: &impl ConnectionTrait,
    user: Uuid,
    grant: &grant::Model,
) -> AppResult<Option<GrantRole>> {
    if is_manager(db, grant.fund_id, user).await? {
        return Ok(Some(GrantRole::Manager));
    }
    if crate::service::organization::membership(db, grant.organization_id, user)
        .await?
        .is_some()
    {
        return Ok(Some(GrantRole::Grantee));
    }
    if global_roles(db, user).await?.contains(&GlobalRole::Admin) {
        return Ok(Some(GrantRole::Admin));
    }
    Ok(None)
}

/// The grant, for those who may see it; `NOT_FOUND` for everyone else.
pub async fn get(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<grant::Model> {
    let user = viewer.user_id()?;
    let grant = find(&ctx.db, id).await?;
    match role_on(&ctx.db, user, &grant).await? {
        Some(_) => Ok(grant),
        None => Err(AppError::NotFound("grant")),
    }
}

/// The grant, for a member of the grantee organisation to act on.
pub async fn as_grantee(
    db: &impl ConnectionTrait,
    user: Uuid,
    id: Uuid,
) -> AppResult<grant::Model> {
    let grant = find(db, id).await?;
    match role_on(db, user, &grant).await? {
        Some(GrantRole::Grantee) => Ok(grant),
        Some(_) => Err(AppError::Forbidden(
            "only members of the grantee organisation may do this".into(),
        )),
        None => Err(AppError::NotFound("grant")),
    }
}

/// The grant, for a manager of its fund to act on.
pub async fn as_manager(
    db: &impl ConnectionTrait,
    user: Uuid,
    id: Uuid,
) -> AppResult<grant::Model> {
    let grant = find(db, id).await?;
    match role_on(db, user, &grant).await? {
        Some(GrantRole::Manager) => Ok(grant),
        Some(_) => Err(AppError::Forbidden(
            "only managers of this fund may do this".into(),
        )),
        None => Err(AppError::NotFound("grant")),
    }
}

pub fn bank_details_of(grant: &grant::Model) -> AppResult<Option<BankDetails>> {
    grant
        .bank_details
        .clone()
        .map(|details| {
            serde_json::from_value(details).map_err(|e| {
                AppError::internal(anyhow::anyhow!("stored bank details are invalid: {e}"))
            })
        })
        .transpose()
}

/// A member of the grantee accepts the grant's conditions; needed before the first payment.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn accept(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<grant::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let grant = as_grantee(&txn, user, id).await?;
    if grant.accepted_at.is_some() {
        return Err(AppError::InvalidState(
            "the grant's conditions were accepted already".into(),
        ));
    }
    let updated = grant::Entity::update_many()
        .col_expr(grant::Column::AcceptedAt, Expr::value(now))
        .col_expr(grant::Column::AcceptedBy, Expr::value(user))
        .col_expr(grant::Column::UpdatedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(id))
        .filter(grant::Column::AcceptedAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::InvalidState(
            "the grant's conditions were accepted already".into(),
        ));
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "grant.accept",
        AuditTarget {
            kind: "grant",
            id: Some(id),
        },
        Some(json!({ "acceptedAt": null })),
        Some(json!({ "acceptedAt": now, "acceptedBy": user, "conditions": grant.conditions })),
    )
    .await?;
    let grant = find(&txn, id).await?;
    txn.commit().await?;
    Ok(grant)
}

/// A member of the grantee records where to be paid. The first details may be used at once; a
/// change afterwards waits for a manager's approval, and the managers are told.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn set_bank_details(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    details: BankDetails,
) -> AppResult<grant::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let grant = as_grantee(&txn, user, id).await?;
    let before = bank_details_of(&grant)?;
    if before.as_ref() == Some(&details) {
        return Ok(grant);
    }
    let status = if before.is_some() {
        BANK_DETAILS_PENDING
    } else {
        BANK_DETAILS_APPROVED
    };
    let value = serde_json::to_value(&details).map_err(AppError::internal)?;
    let updated = grant::Entity::update_many()
        .col_expr(grant::Column::BankDetails, Expr::value(value))
        .col_expr(grant::Column::BankDetailsStatus, Expr::value(status))
        .col_expr(grant::Column::BankDetailsUpdatedAt, Expr::value(now))
        .col_expr(grant::Column::BankDetailsUpdatedBy, Expr::value(user))
        .col_expr(grant::Column::UpdatedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(id))
        .filter(grant::Column::UpdatedAt.eq(grant.updated_at))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the grant changed meanwhile; reload it".into(),
        ));
    }
    let masked = |d: &BankDetails| json!({ "accountName": d.account_name, "accountNumber": d.masked_account_number(), "bankName": d.bank_name, "swift": d.swift, "currency": d.currency.code() });
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "grant.bank_details",
        AuditTarget {
            kind: "grant",
            id: Some(id),
        },
        before.as_ref().map(masked),
        Some(json!({ "details": masked(&details), "status": status })),
    )
    .await?;
    if status == BANK_DETAILS_PENDING {
        let managers = people(&txn, grant.fund_id, FundRole::Manager).await?;
        let changed_by = entity::user_account::Entity::find_by_id(user)
            .one(&txn)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let org = entity::organization::Entity::find_by_id(grant.organization_id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        email_users(
            ctx,
            &txn,
            EmailKind::BankDetailsChanged,
            &managers,
            &format!(
                "bank_details_changed:{}:{}",
                grant.id,
                now.to_rfc3339_opts(SecondsFormat::Micros, true)
            ),
            |manager, zh| {
                json!({
                    "name": manager.name, "grant": grant.reference,
                    "organization": pick(zh, org.name_zh.as_deref(), Some(&org.name_en)),
                    "changed_by": changed_by,
                })
            },
        )
        .await?;
    }
    let grant = find(&txn, id).await?;
    txn.commit().await?;
    Ok(grant)
}

/// A manager approves changed bank details, so payments may go out again.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn approve_bank_details(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<grant::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let grant = as_manager(&txn, user, id).await?;
    if grant.bank_details_status.as_deref() != Some(BANK_DETAILS_PENDING) {
        return Err(AppError::InvalidState(
            "no changed bank details wait for approval".into(),
        ));
    }
    let updated = grant::Entity::update_many()
        .col_expr(
            grant::Column::BankDetailsStatus,
            Expr::value(BANK_DETAILS_APPROVED),
        )
        .col_expr(grant::Column::UpdatedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(id))
        .filter(grant::Column::BankDetailsStatus.eq(BANK_DETAILS_PENDING))
        .filter(grant::Column::BankDetailsUpdatedAt.eq(grant.bank_details_updated_at))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the bank details changed meanwhile; review them again".into(),
        ));
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "grant.approve_bank_details",
        AuditTarget {
            kind: "grant",
            id: Some(id),
        },
        Some(json!({ "status": BANK_DETAILS_PENDING })),
        Some(json!({ "status": BANK_DETAILS_APPROVED })),
    )
    .await?;
    let grant = find(&txn, id).await?;
    txn.commit().await?;
    Ok(grant)
}

fn cursor_of(grant: &grant::Model) -> Cursor {
    Cursor {
        key: grant
            .created_at
            .to_rfc3339_opts(SecondsFormat::Micros, true),
        id: grant.id,
    }
}

/// Grants the viewer may see, newest first: their organisations', and their funds' (all, for
/// admins).
pub async fn list(
    ctx: &AppContext,
    viewer: &Viewer,
    filter: &GrantFilter,
    page: &PageRequest,
) -> AppResult<Page<grant::Model>> {
    let user = viewer.user_id()?;
    let mut condition = Condition::all();
    if !global_roles(&ctx.db, user)
        .await?
        .contains(&GlobalRole::Admin)
    {
        let orgs: Vec<Uuid> = organization_member::Entity::find()
            .filter(organization_member::Column::UserId.eq(user))
            .all(&ctx.db)
            .await?
            .into_iter()
            .map(|m| m.organization_id)
            .collect();
        let funds: Vec<Uuid> = fund_manager::Entity::find()
            .filter(fund_manager::Column::UserId.eq(user))
            .all(&ctx.db)
            .await?
            .into_iter()
            .map(|m| m.fund_id)
            .collect();
        condition = condition.add(
            Condition::any()
                .add(grant::Column::OrganizationId.is_in(orgs))
                .add(grant::Column::FundId.is_in(funds)),
        );
    }
    if let Some(fund) = filter.fund_id {
        condition = condition.add(grant::Column::FundId.eq(fund));
    }
    if let Some(call) = filter.call_id {
        condition = condition.add(grant::Column::CallId.eq(call));
    }
    if let Some(org) = filter.organization_id {
        condition = condition.add(grant::Column::OrganizationId.eq(org));
    }
    if !filter.statuses.is_empty() {
        condition = condition.add(grant::Column::Status.is_in(filter.statuses.clone()));
    }
    let total = if page.count_total {
        grant::Entity::find()
            .filter(condition.clone())
            .count(&ctx.db)
            .await?
    } else {
        0
    };
    let mut query = grant::Entity::find().filter(condition);
    if let Some(after) = &page.after {
        query = query.filter(pagination::after(
            grant::Column::CreatedAt,
            grant::Column::Id,
            after.time_key()?,
            after.id,
            Direction::Descending,
        ));
    }
    let rows = query
        .order_by_desc(grant::Column::CreatedAt)
        .order_by_desc(grant::Column::Id)
        .limit(page.limit + 1)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|g| (cursor_of(&g), g))
        .collect();
    Ok(Page::from_rows(rows, page, total))
}

/// The members of the grantee organisation, to tell about payments.
pub async fn grantee_members(
    db: &impl ConnectionTrait,
    grant: &grant::Model,
) -> AppResult<Vec<Uuid>> {
    members_of(db, grant.organization_id).await
}
