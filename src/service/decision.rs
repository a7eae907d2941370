//! Decisions on applications and the grants approvals create. Applications are decided on their
//! reviews once the call has closed; a submitted one that needs no review may be rejected at the
//! desk at any time while the call is open or closed. An approval commits money, within the call's
//! award bounds: the call's and the fund's committed totals rise with conditional updates in the
//! decision's transaction, so concurrent approvals from any number of instances can never commit
//! more than the budget. Each decision locks its call's row first, so decisions in one call (and a
//! close racing them) take turns, and the last one always sees that nothing is left to decide.
//! The applicant's members get a decision letter in their language.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{application, application_decision as decision, call, fund, grant, organization};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::application::{ApplicationEvent, ApplicationStatus, transition};
use crate::domain::call::{AwardBounds, CallEvent, transition as call_transition};
use crate::domain::decision::{
    DecisionKind, DecisionOutcome, DecisionRequest, DeskRejectionReason, check_call_takes_decision,
    check_decision, check_desk_rejection, grant_period,
};
use crate::domain::money::{Currency, Money};
use crate::error::{AppError, AppResult};
use crate::notify::EmailKind;
use crate::service::application::{find as find_application, members_of, status_of};
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::call::find as find_call;
use crate::service::call::status_of as call_status;
use crate::service::fund::is_manager;
use crate::service::idempotency::{self, IdempotencyKey, Keyed, Outcome};
use crate::service::notification::{email_users, pick};
use crate::service::review::is_conflicted;

/// A decision as the manager gave it, parsed at the edge.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub outcome: DecisionOutcome,
    pub amount: Option<Money>,
    pub conditions: Option<String>,
    pub rationale: Option<String>,
    /// Whether the applicant may read the rationale (in the letter and through the API).
    pub share_rationale: bool,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

/// A desk rejection as the manager gave it, parsed at the edge.
#[derive(Debug, Clone)]
pub struct DeskRejectionInput {
    pub reason: DeskRejectionReason,
    pub rationale: Option<String>,
    /// Whether the applicant may read the rationale (in the letter and through the API).
    pub share_rationale: bool,
}

/// The latest decision on an application, if any.
pub async fn latest(
    db: &impl ConnectionTrait,
    application_id: Uuid,
) -> AppResult<Option<decision::Model>> {
    Ok(decision::Entity::find()
        .filter(decision::Column::ApplicationId.eq(application_id))
        .order_by_desc(decision::Column::DecidedAt)
        .order_by_desc(decision::Column::Id)
        .one(db)
        .await?)
}

async fn add_committed(
    db: &impl ConnectionTrait,
    call: &call::Model,
    amount: i64,
    now: DateTime<Utc>,
    currency: Currency,
) -> AppResult<()> {
    let committed = call::Entity::update_many()
        .col_expr(
            call::Column::CommittedMinor,
            Expr::col(call::Column::CommittedMinor).add(amount),
        )
        .col_expr(call::Column::UpdatedAt, Expr::value(now))
        .filter(call::Column::Id.eq(call.id))
        .filter(
            Expr::col(call::Column::CommittedMinor)
                .add(amount)
                .lte(Expr::col(call::Column::BudgetMinor)),
        )
        .exec(db)
        .await?;
    if committed.rows_affected != 1 {
        let current = find_call(db, call.id).await?;
        let remaining = Money::new(
            std::cmp::max(current.budget_minor - current.committed_minor, 0),
            currency,
        )
        .map_err(AppError::internal)?;
        return Err(AppError::InvalidState(format!(
            "the award exceeds the call's remaining budget of {remaining}"
        )));
    }
    let fund_committed = fund::Entity::update_many()
        .col_expr(
            fund::Column::CommittedMinor,
            Expr::col(fund::Column::CommittedMinor).add(amount),
        )
        .col_expr(fund::Column::UpdatedAt, Expr::value(now))
        .filter(fund::Column::Id.eq(call.fund_id))
        .filter(
            Expr::col(fund::Column::CommittedMinor)
                .add(amount)
                .lte(Expr::col(fund::Column::BudgetMinor)),
        )
        .exec(db)
        .await?;
    if fund_committed.rows_affected != 1 {
        return Err(AppError::InvalidState(
            "the award exceeds the fund's uncommitted budget".into(),
        ));
    }
    Ok(())
}

/// Decides an application under review (or on the waitlist) once its call has closed. An approval
/// awards at least the call's minimum and at most the smaller of the requested amount and the
/// call's maximum. Managers who belong to the applicant or a partner organisation may not decide
/// it.
#[tracing::instrument(skip_all, fields(application_id = %application_id, viewer = ?viewer.optional_user_id()))]
pub async fn decide(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    application_id: Uuid,
    input: DecisionInput,
    key: Option<IdempotencyKey>,
) -> AppResult<Outcome<application::Model>> {
    let user = viewer.user_id()?;
    let keyed = key.map(|key| Keyed {
        mutation: "decideApplication",
        key,
        arguments: json!({
            "applicationId": application_id, "outcome": input.outcome.as_str(),
            "amount": input.amount.map(|m| m.to_string()), "conditions": input.conditions,
            "rationale": input.rationale, "shareRationale": input.share_rationale,
            "startsOn": input.starts_on, "endsOn": input.ends_on,
        }),
    });
    let outcome = idempotency::run_with_replay(ctx, user, keyed.as_ref(), async |txn| {
        decide_in(ctx, txn, user, actor, application_id, &input).await
    })
    .await?;
    Ok(Outcome {
        value: find_application(&ctx.db, outcome.value).await?,
        replayed: outcome.replayed,
    })
}

/// The application and its call, for a manager of the call's fund without a conflict of interest
/// to decide. The call's row is locked (on PostgreSQL; SQLite writers already take turns) so that
/// decisions in one call, and a close racing them, are serialised. Others get `NOT_FOUND`, or
/// `FORBIDDEN` when they can see the application.
async fn deciding(
    txn: &DatabaseTransaction,
    user: Uuid,
    application_id: Uuid,
    what: &str,
) -> AppResult<(application::Model, call::Model)> {
    let app = find_application(txn, application_id).await?;
    let call = call::Entity::find_by_id(app.call_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("call"))?;
    if !is_manager(txn, call.fund_id, user).await? {
        return Err(crate::service::review::refuse(txn, user, &app, what).await);
    }
    if is_conflicted(txn, user, &app).await? {
        return Err(AppError::Forbidden(
            "conflict of interest: you belong to the applicant or a partner organisation".into(),
        ));
    }
    // Read again under the call's lock: a decision that waited for it sees the one before.
    let app = find_application(txn, application_id).await?;
    Ok((app, call))
}

async fn decide_in(
    ctx: &AppContext,
    txn: &DatabaseTransaction,
    user: Uuid,
    actor: &AuditActor,
    application_id: Uuid,
    input: &DecisionInput,
) -> AppResult<Uuid> {
    let now = ctx.clock.now();
    let (app, call) = deciding(txn, user, application_id, "decide applications").await?;
    check_call_takes_decision(call_status(&call)?, DecisionKind::Review)
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    let awards =
        AwardBounds::new(call.min_award_minor, call.max_award_minor).map_err(AppError::internal)?;
    let fund = crate::service::fund::find(txn, call.fund_id).await?;
    let currency = Currency::parse(&fund.currency).map_err(AppError::internal)?;
    if let Some(amount) = &input.amount
        && amount.currency() != currency
    {
        return Err(AppError::bad_input(
            "input.amount",
            format!("the fund pays in {currency}"),
        ));
    }
    let amount_minor = input.amount.as_ref().map(Money::minor);
    check_decision(
        &DecisionRequest {
            outcome: input.outcome,
            amount_minor,
            conditions: input.conditions.as_deref(),
            rationale: input.rationale.as_deref(),
        },
        app.requested_minor,
        &awards,
    )
    .map_err(|e| AppError::bad_input(e.field(), e))?;
    let from = status_of(&app)?;
    let to = transition(from, input.outcome.event())
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    let period = match input.outcome {
        DecisionOutcome::Approve => Some(
            grant_period(
                input.starts_on,
                input.ends_on,
                app.planned_start,
                app.duration_months,
                now.date_naive(),
            )
            .map_err(|e| AppError::bad_input(e.field(), e))?,
        ),
        _ => None,
    };

    let updated = application::Entity::update_many()
        .col_expr(application::Column::Status, Expr::value(to.as_str()))
        .col_expr(application::Column::UpdatedAt, Expr::value(now))
        .filter(application::Column::Id.eq(app.id))
        .filter(application::Column::Status.eq(from.as_str()))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the application was decided meanwhile; reload it".into(),
        ));
    }
    let conditions = input
        .conditions
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let rationale = input.rationale.as_deref().map(str::trim).map(str::to_owned);
    let row = decision::ActiveModel {
        id: Set(Uuid::now_v7()),
        application_id: Set(app.id),
        outcome: Set(input.outcome.as_str().to_owned()),
        amount_minor: Set(amount_minor),
        conditions: Set(conditions.clone()),
        rationale: Set(rationale.clone()),
        rationale_shared: Set(input.share_rationale),
        decided_by: Set(user),
        desk_rejection: Set(None),
        decided_at: Set(now),
    }
    .insert(txn)
    .await?;
    let mut grant_id = None;
    if let (Some(amount), Some((starts_on, ends_on))) = (amount_minor, period) {
        add_committed(txn, &call, amount, now, currency).await?;
        let created = grant::ActiveModel {
            id: Set(Uuid::now_v7()),
            application_id: Set(app.id),
            fund_id: Set(call.fund_id),
            call_id: Set(call.id),
            organization_id: Set(app.organization_id),
            reference: Set(app.reference.clone()),
            amount_minor: Set(amount),
            currency: Set(currency.code().to_owned()),
            conditions: Set(conditions.clone()),
            starts_on: Set(starts_on),
            ends_on: Set(ends_on),
            status: Set(crate::domain::decision::GrantStatus::Active
                .as_str()
                .to_owned()),
            accepted_at: Set(None),
            accepted_by: Set(None),
            planned_minor: Set(0),
            disbursed_minor: Set(0),
            bank_details: Set(None),
            bank_details_status: Set(None),
            bank_details_updated_at: Set(None),
            bank_details_updated_by: Set(None),
            host_countries: Set(app.host_countries.clone()),
            sdg_goals: Set(app.sdg_goals.clone()),
            applicant_category: Set(app.applicant_category.clone()),
            created_by: Set(user),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(txn)
        .await?;
        grant_id = Some(created.id);
        audit::record(
            txn,
            &ctx.clock,
            actor,
            "grant.create",
            AuditTarget {
                kind: "grant",
                id: Some(created.id),
            },
            None,
            Some(json!({
                "applicationId": app.id, "amountMinor": amount, "currency": currency.code(),
                "startsOn": starts_on, "endsOn": ends_on, "conditions": conditions,
            })),
        )
        .await?;
    }
    send_letter(ctx, txn, &app, &call, &row, currency).await?;
    audit::record(
        txn,
        &ctx.clock,
        actor,
        "application.decide",
        AuditTarget {
            kind: "application",
            id: Some(app.id),
        },
        Some(json!({ "status": from.as_str() })),
        Some(json!({
            "status": to.as_str(), "outcome": input.outcome.as_str(), "amountMinor": amount_minor,
            "conditions": conditions, "rationale": rationale,
            "rationaleShared": input.share_rationale, "grantId": grant_id,
        })),
    )
    .await?;
    settle_call(ctx, txn, actor, &call, now).await?;
    Ok(app.id)
}

/// Rejects a submitted application at the desk, without review (out of scope, a duplicate, …),
/// while the call is open or after it closed. Same permissions as [`decide`]. The decision records
/// the reason; the applicant's members get the decision letter, and a closed call whose last
/// undecided application this was becomes `DECIDED`.
#[tracing::instrument(skip_all, fields(application_id = %application_id, viewer = ?viewer.optional_user_id()))]
pub async fn desk_reject(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    application_id: Uuid,
    input: DeskRejectionInput,
    key: Option<IdempotencyKey>,
) -> AppResult<Outcome<application::Model>> {
    let user = viewer.user_id()?;
    let keyed = key.map(|key| Keyed {
        mutation: "deskRejectApplication",
        key,
        arguments: json!({
            "applicationId": application_id, "reason": input.reason.as_str(),
            "rationale": input.rationale, "shareRationale": input.share_rationale,
        }),
    });
    let outcome = idempotency::run_with_replay(ctx, user, keyed.as_ref(), async |txn| {
        desk_reject_in(ctx, txn, user, actor, application_id, &input).await
    })
    .await?;
    Ok(Outcome {
        value: find_application(&ctx.db, outcome.value).await?,
        replayed: outcome.replayed,
    })
}

async fn desk_reject_in(
    ctx: &AppContext,
    txn: &DatabaseTransaction,
    user: Uuid,
    actor: &AuditActor,
    application_id: Uuid,
    input: &DeskRejectionInput,
) -> AppResult<Uuid> {
    let now = ctx.clock.now();
    let (app, call) = deciding(txn, user, application_id, "reject applications").await?;
    check_call_takes_decision(call_status(&call)?, DecisionKind::Desk)
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    check_desk_rejection(input.rationale.as_deref())
        .map_err(|e| AppError::bad_input(e.field(), e))?;
    let from = status_of(&app)?;
    let to = transition(from, ApplicationEvent::DeskReject).map_err(|e| {
        AppError::InvalidState(format!(
            "{e}: only a submitted application without reviewers is rejected at the desk"
        ))
    })?;
    let fund = crate::service::fund::find(txn, call.fund_id).await?;
    let currency = Currency::parse(&fund.currency).map_err(AppError::internal)?;

    let updated = application::Entity::update_many()
        .col_expr(application::Column::Status, Expr::value(to.as_str()))
        .col_expr(application::Column::UpdatedAt, Expr::value(now))
        .filter(application::Column::Id.eq(app.id))
        .filter(application::Column::Status.eq(from.as_str()))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the application changed meanwhile; reload it".into(),
        ));
    }
    let rationale = input.rationale.as_deref().map(str::trim).map(str::to_owned);
    let row = decision::ActiveModel {
        id: Set(Uuid::now_v7()),
        application_id: Set(app.id),
        outcome: Set(DecisionOutcome::Reject.as_str().to_owned()),
        amount_minor: Set(None),
        conditions: Set(None),
        rationale: Set(rationale.clone()),
        rationale_shared: Set(input.share_rationale),
        decided_by: Set(user),
        desk_rejection: Set(Some(input.reason.as_str().to_owned())),
        decided_at: Set(now),
    }
    .insert(txn)
    .await?;
    send_letter(ctx, txn, &app, &call, &row, currency).await?;
    audit::record(
        txn,
        &ctx.clock,
        actor,
        "application.desk_reject",
        AuditTarget {
            kind: "application",
            id: Some(app.id),
        },
        Some(json!({ "status": from.as_str() })),
        Some(json!({
            "status": to.as_str(), "outcome": DecisionOutcome::Reject.as_str(),
            "deskRejection": input.reason.as_str(), "rationale": rationale,
            "rationaleShared": input.share_rationale,
        })),
    )
    .await?;
    settle_call(ctx, txn, actor, &call, now).await?;
    Ok(app.id)
}

async fn send_letter(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    app: &application::Model,
    call: &call::Model,
    row: &decision::Model,
    currency: Currency,
) -> AppResult<()> {
    let org = organization::Entity::find_by_id(app.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let amount = row
        .amount_minor
        .map(|minor| Money::new(minor, currency).map(|m| m.to_string()))
        .transpose()
        .map_err(AppError::internal)?;
    let rationale = row.rationale.clone().filter(|_| row.rationale_shared);
    let members = members_of(db, org.id).await?;
    email_users(
        ctx,
        db,
        EmailKind::DecisionLetter,
        &members,
        &format!("decision_letter:{}", row.id),
        |user, zh| {
            json!({
                "name": user.name, "reference": app.reference,
                "title": pick(zh, app.title_zh.as_deref(), app.title_en.as_deref()),
                "call": pick(zh, call.title_zh.as_deref(), Some(&call.title_en)),
                "organization": pick(zh, org.name_zh.as_deref(), Some(&org.name_en)),
                "outcome": row.outcome, "amount": amount, "conditions": row.conditions,
                "rationale": rationale,
            })
        },
    )
    .await
}

/// Statuses that still wait for a decision.
const UNDECIDED: [ApplicationStatus; 2] =
    [ApplicationStatus::Submitted, ApplicationStatus::UnderReview];

/// Moves a closed call to `DECIDED` once no application waits for a decision (waitlisted ones
/// have theirs, though it may still change). Returns whether it moved.
async fn settle_call(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    actor: &AuditActor,
    call: &call::Model,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let status = call_status(call)?;
    let Ok(to) = call_transition(status, CallEvent::Decide) else {
        return Ok(false);
    };
    let waiting = application::Entity::find()
        .filter(application::Column::CallId.eq(call.id))
        .filter(application::Column::Status.is_in(UNDECIDED.map(|s| s.as_str())))
        .count(db)
        .await?;
    if waiting > 0 {
        return Ok(false);
    }
    let updated = call::Entity::update_many()
        .col_expr(call::Column::Status, Expr::value(to.as_str()))
        .col_expr(call::Column::UpdatedAt, Expr::value(now))
        .filter(call::Column::Id.eq(call.id))
        .filter(call::Column::Status.eq(status.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(false);
    }
    audit::record(
        db,
        &ctx.clock,
        actor,
        "call.decide",
        AuditTarget {
            kind: "call",
            id: Some(call.id),
        },
        Some(json!({ "status": status.as_str() })),
        Some(json!({ "status": to.as_str() })),
    )
    .await?;
    Ok(true)
}

/// Marks a closed call decided, for a manager; refused while an application waits.
#[tracing::instrument(skip_all, fields(call_id = %call_id, viewer = ?viewer.optional_user_id()))]
pub async fn mark_call_decided(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    call_id: Uuid,
) -> AppResult<call::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let call = find_call(&txn, call_id).await?;
    let status = call_status(&call)?;
    if !is_manager(&txn, call.fund_id, user).await? {
        // A draft is known only inside its fund: anyone else learns nothing of it.
        let admin = crate::service::identity::global_roles(&txn, user)
            .await?
            .contains(&crate::domain::identity::GlobalRole::Admin);
        if status == crate::domain::call::CallStatus::Draft && !admin {
            return Err(AppError::NotFound("call"));
        }
        return Err(AppError::Forbidden(
            "only managers of this fund may do this".into(),
        ));
    }
    call_transition(status, CallEvent::Decide)
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    if !settle_call(ctx, &txn, actor, &call, now).await? {
        return Err(AppError::InvalidState(
            "some applications still wait for a decision".into(),
        ));
    }
    let call = find_call(&txn, call_id).await?;
    txn.commit().await?;
    Ok(call)
}

/// The grant an approval created, if any.
pub async fn grant_of(
    db: &impl ConnectionTrait,
    application_id: Uuid,
) -> AppResult<Option<grant::Model>> {
    Ok(grant::Entity::find()
        .filter(grant::Column::ApplicationId.eq(application_id))
        .one(db)
        .await?)
}
