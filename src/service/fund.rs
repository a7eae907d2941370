//! Funds: created and changed by admins, run by their managers, who keep the fund's reviewer
//! pool. A fund's name and currency are public; its money and people are for its managers and
//! admins.

use entity::{fund, fund_manager, fund_reviewer, user_account};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::identity::GlobalRole;
use crate::domain::money::{Currency, Money};
use crate::error::{AppError, AppResult, unique_violation};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::identity::{global_roles, require_admin};

/// The remittance rule's default: a single payment above USD 50,000.00 needs a tax record filing.
pub const DEFAULT_REMITTANCE_THRESHOLD_MINOR: i64 = 5_000_000;

/// A fund's settings, parsed at the edge.
#[derive(Debug, Clone)]
pub struct FundSettings {
    pub name_en: String,
    pub name_zh: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    pub budget: Money,
    /// In its own currency (USD by default).
    pub remittance_threshold: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundRole {
    Manager,
    Reviewer,
}

fn snapshot(fund: &fund::Model) -> serde_json::Value {
    json!({
        "nameEn": fund.name_en, "nameZh": fund.name_zh, "currency": fund.currency,
        "budgetMinor": fund.budget_minor,
        "remittanceThresholdMinor": fund.remittance_threshold_minor,
        "remittanceThresholdCurrency": fund.remittance_threshold_currency,
    })
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<fund::Model> {
    fund::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("fund"))
}

pub async fn is_manager(db: &impl ConnectionTrait, fund_id: Uuid, user: Uuid) -> AppResult<bool> {
    Ok(fund_manager::Entity::find()
        .filter(fund_manager::Column::FundId.eq(fund_id))
        .filter(fund_manager::Column::UserId.eq(user))
        .one(db)
        .await?
        .is_some())
}

/// Whether the viewer may see the fund's money and people: its managers and admins.
pub async fn can_see_internals(
    ctx: &AppContext,
    viewer: &Viewer,
    fund_id: Uuid,
) -> AppResult<bool> {
    let Some(user) = viewer.optional_user_id() else {
        return Ok(false);
    };
    Ok(is_manager(&ctx.db, fund_id, user).await?
        || global_roles(&ctx.db, user)
            .await?
            .contains(&GlobalRole::Admin))
}

/// The viewer, who must manage the fund. Others learn nothing more than the public fund shows.
pub async fn require_manager(ctx: &AppContext, viewer: &Viewer, fund_id: Uuid) -> AppResult<Uuid> {
    let user = viewer.user_id()?;
    find(&ctx.db, fund_id).await?;
    if is_manager(&ctx.db, fund_id, user).await? {
        Ok(user)
    } else {
        Err(AppError::Forbidden(
            "only managers of this fund may do this".into(),
        ))
    }
}

async fn require_users(db: &impl ConnectionTrait, ids: &[Uuid], field: &str) -> AppResult<()> {
    let found = user_account::Entity::find()
        .filter(user_account::Column::Id.is_in(ids.iter().copied()))
        .count(db)
        .await?;
    if found as usize != ids.len() {
        return Err(AppError::bad_input(field, "no such user"));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(viewer = ?viewer.optional_user_id()))]
pub async fn create(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    settings: FundSettings,
    managers: Vec<Uuid>,
) -> AppResult<fund::Model> {
    let admin = require_admin(ctx, viewer).await?;
    let mut managers = managers;
    managers.sort();
    managers.dedup();
    if managers.is_empty() {
        return Err(AppError::bad_input(
            "input.managerIds",
            "a fund needs at least one manager",
        ));
    }
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    require_users(&txn, &managers, "input.managerIds").await?;
    let threshold = settings.remittance_threshold.unwrap_or(
        Money::new(DEFAULT_REMITTANCE_THRESHOLD_MINOR, Currency::USD)
            .map_err(AppError::internal)?,
    );
    let fund = fund::ActiveModel {
        id: Set(Uuid::now_v7()),
        name_en: Set(settings.name_en),
        name_zh: Set(settings.name_zh),
        description_en: Set(settings.description_en),
        description_zh: Set(settings.description_zh),
        currency: Set(settings.budget.currency().code().to_owned()),
        budget_minor: Set(settings.budget.minor()),
        allocated_minor: Set(0),
        committed_minor: Set(0),
        disbursed_minor: Set(0),
        remittance_threshold_minor: Set(threshold.minor()),
        remittance_threshold_currency: Set(threshold.currency().code().to_owned()),
        created_by: Set(admin),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    for manager in &managers {
        fund_manager::ActiveModel {
            id: Set(Uuid::now_v7()),
            fund_id: Set(fund.id),
            user_id: Set(*manager),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    let mut after = snapshot(&fund);
    after["managerIds"] = json!(managers);
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "fund.create",
        AuditTarget {
            kind: "fund",
            id: Some(fund.id),
        },
        None,
        Some(after),
    )
    .await?;
    txn.commit().await?;
    Ok(fund)
}

/// Changes a fund's settings. The currency is fixed once money is allocated, and the budget can
/// never fall below what is allocated or committed (checked in the update itself).
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn update(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    settings: FundSettings,
) -> AppResult<fund::Model> {
    require_admin(ctx, viewer).await?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let before = find(&txn, id).await?;
    let currency = settings.budget.currency().code().to_owned();
    if currency != before.currency && (before.allocated_minor > 0 || before.committed_minor > 0) {
        return Err(AppError::InvalidState(
            "the currency cannot change once money is allocated to calls".into(),
        ));
    }
    let threshold = settings
        .remittance_threshold
        .map(|m| (m.minor(), m.currency().code().to_owned()));
    let budget = settings.budget.minor();
    let updated = fund::Entity::update_many()
        .col_expr(fund::Column::NameEn, Expr::value(settings.name_en))
        .col_expr(fund::Column::NameZh, Expr::value(settings.name_zh))
        .col_expr(
            fund::Column::DescriptionEn,
            Expr::value(settings.description_en),
        )
        .col_expr(
            fund::Column::DescriptionZh,
            Expr::value(settings.description_zh),
        )
        .col_expr(fund::Column::Currency, Expr::value(currency))
        .col_expr(fund::Column::BudgetMinor, Expr::value(budget))
        .col_expr(
            fund::Column::RemittanceThresholdMinor,
            Expr::value(
                threshold
                    .as_ref()
                    .map_or(before.remittance_threshold_minor, |t| t.0),
            ),
        )
        .col_expr(
            fund::Column::RemittanceThresholdCurrency,
            Expr::value(threshold.map_or(before.remittance_threshold_currency.clone(), |t| t.1)),
        )
        .col_expr(fund::Column::UpdatedAt, Expr::value(now))
        .filter(fund::Column::Id.eq(id))
        .filter(fund::Column::AllocatedMinor.lte(budget))
        .filter(fund::Column::CommittedMinor.lte(budget))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::bad_input(
            "input.budget.amount",
            "the budget cannot be less than what is already allocated to calls",
        ));
    }
    let fund = find(&txn, id).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "fund.update",
        AuditTarget {
            kind: "fund",
            id: Some(id),
        },
        Some(snapshot(&before)),
        Some(snapshot(&fund)),
    )
    .await?;
    txn.commit().await?;
    Ok(fund)
}

/// Funds, public, ordered by id.
pub async fn list(ctx: &AppContext, page: &PageRequest) -> AppResult<Page<fund::Model>> {
    let total = if page.count_total {
        fund::Entity::find().count(&ctx.db).await?
    } else {
        0
    };
    let mut query = fund::Entity::find();
    if let Some(after) = &page.after {
        query = query.filter(fund::Column::Id.gt(after.id));
    }
    let rows = query
        .order_by_asc(fund::Column::Id)
        .limit(page.limit + 1)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|f| {
            (
                Cursor {
                    key: String::new(),
                    id: f.id,
                },
                f,
            )
        })
        .collect();
    Ok(Page::from_rows(rows, page, total))
}

/// Adds a manager (admins) or a reviewer to the pool (the fund's managers).
#[tracing::instrument(skip_all, fields(fund_id = %fund_id, user_id = %user_id, viewer = ?viewer.optional_user_id()))]
pub async fn add_member(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    fund_id: Uuid,
    user_id: Uuid,
    role: FundRole,
) -> AppResult<fund::Model> {
    let by = match role {
        FundRole::Manager => require_admin(ctx, viewer).await?,
        FundRole::Reviewer => require_manager(ctx, viewer, fund_id).await?,
    };
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let fund = find(&txn, fund_id).await?;
    require_users(&txn, &[user_id], "userId").await?;
    let inserted = match role {
        FundRole::Manager => fund_manager::ActiveModel {
            id: Set(Uuid::now_v7()),
            fund_id: Set(fund_id),
            user_id: Set(user_id),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map(|_| ()),
        FundRole::Reviewer => fund_reviewer::ActiveModel {
            id: Set(Uuid::now_v7()),
            fund_id: Set(fund_id),
            user_id: Set(user_id),
            added_by: Set(Some(by)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map(|_| ()),
    };
    inserted.map_err(|e| match unique_violation(&e) {
        Some(_) => AppError::Conflict("this person has this role in the fund already".into()),
        None => e.into(),
    })?;
    let action = match role {
        FundRole::Manager => "fund.add_manager",
        FundRole::Reviewer => "fund.add_reviewer",
    };
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        action,
        AuditTarget {
            kind: "fund",
            id: Some(fund_id),
        },
        None,
        Some(json!({ "userId": user_id })),
    )
    .await?;
    txn.commit().await?;
    Ok(fund)
}

/// Removes a manager (admins; never the last one) or a reviewer from the pool (the managers).
#[tracing::instrument(skip_all, fields(fund_id = %fund_id, user_id = %user_id, viewer = ?viewer.optional_user_id()))]
pub async fn remove_member(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    fund_id: Uuid,
    user_id: Uuid,
    role: FundRole,
) -> AppResult<fund::Model> {
    match role {
        FundRole::Manager => require_admin(ctx, viewer).await?,
        FundRole::Reviewer => require_manager(ctx, viewer, fund_id).await?,
    };
    let txn = ctx.begin_write().await?;
    let fund = find(&txn, fund_id).await?;
    let removed = match role {
        FundRole::Manager => {
            let managers = fund_manager::Entity::find()
                .filter(fund_manager::Column::FundId.eq(fund_id))
                .count(&txn)
                .await?;
            let is_one = is_manager(&txn, fund_id, user_id).await?;
            if is_one && managers <= 1 {
                return Err(AppError::InvalidState(
                    "a fund keeps at least one manager".into(),
                ));
            }
            fund_manager::Entity::delete_many()
                .filter(fund_manager::Column::FundId.eq(fund_id))
                .filter(fund_manager::Column::UserId.eq(user_id))
                .exec(&txn)
                .await?
                .rows_affected
        }
        FundRole::Reviewer => {
            fund_reviewer::Entity::delete_many()
                .filter(fund_reviewer::Column::FundId.eq(fund_id))
                .filter(fund_reviewer::Column::UserId.eq(user_id))
                .exec(&txn)
                .await?
                .rows_affected
        }
    };
    if removed == 0 {
        return Err(AppError::NotFound("fund role"));
    }
    let action = match role {
        FundRole::Manager => "fund.remove_manager",
        FundRole::Reviewer => "fund.remove_reviewer",
    };
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        action,
        AuditTarget {
            kind: "fund",
            id: Some(fund_id),
        },
        Some(json!({ "userId": user_id })),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(fund)
}

/// The user ids of a fund's managers or reviewers.
pub async fn people(
    db: &impl ConnectionTrait,
    fund_id: Uuid,
    role: FundRole,
) -> AppResult<Vec<Uuid>> {
    Ok(match role {
        FundRole::Manager => fund_manager::Entity::find()
            .filter(fund_manager::Column::FundId.eq(fund_id))
            .order_by_asc(fund_manager::Column::CreatedAt)
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect(),
        FundRole::Reviewer => fund_reviewer::Entity::find()
            .filter(fund_reviewer::Column::FundId.eq(fund_id))
            .order_by_asc(fund_reviewer::Column::CreatedAt)
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect(),
    })
}

/// The funds in which a user holds a role.
pub async fn roles_of(db: &impl ConnectionTrait, user: Uuid) -> AppResult<Vec<(Uuid, FundRole)>> {
    let mut roles: Vec<(Uuid, FundRole)> = fund_manager::Entity::find()
        .filter(fund_manager::Column::UserId.eq(user))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.fund_id, FundRole::Manager))
        .collect();
    roles.extend(
        fund_reviewer::Entity::find()
            .filter(fund_reviewer::Column::UserId.eq(user))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.fund_id, FundRole::Reviewer)),
    );
    Ok(roles)
}
