//! Calls for proposals: created and run by the fund's managers, opened and closed by the
//! scheduler at their times, browsed publicly while open. A call's budget is allocated from the
//! fund with one conditional update, so the fund's allocated total never exceeds its budget, from
//! any number of instances at once.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{call, fund};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::call::{
    AwardBounds, CallEvent, CallSchedule, CallStatus, Rubric, automatic_transition,
    can_edit_rubric_and_rules, change_closing_time, check_call_budget, transition,
};
use crate::domain::country::CountryCode;
use crate::domain::eligibility::{
    EligibilityFacts, EligibilityRules, RuleKind, RuleResult, Subject, evaluate,
};
use crate::domain::identity::GlobalRole;
use crate::domain::money::{Currency, Money};
use crate::domain::organization::ApplicantCategory;
use crate::domain::sdg::SdgGoal;
use crate::error::{AppError, AppResult};
use crate::pagination::{self, Cursor, Direction, Page, PageRequest};
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::fund::{find as find_fund, is_manager};
use crate::service::identity::global_roles;

/// A call's settings, parsed at the edge.
#[derive(Debug, Clone)]
pub struct CallSettings {
    pub title_en: String,
    pub title_zh: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    pub schedule: CallSchedule,
    pub budget: Money,
    pub awards: AwardBounds,
    pub host_countries: Vec<CountryCode>,
    pub sdg_goals: Vec<SdgGoal>,
    /// When given, exactly the call's `REQUIRED_DOCUMENT` rules; when not, they stay.
    pub required_documents: Option<Vec<String>>,
    pub rubric: Option<Rubric>,
    pub reviewers_per_application: i32,
    pub blind_review: bool,
    pub moderation_threshold_bp: i32,
}

/// Filters of the call listing.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub fund_id: Option<Uuid>,
    pub statuses: Vec<CallStatus>,
    pub host_country: Option<CountryCode>,
    pub sdg: Option<SdgGoal>,
    pub applicant_category: Option<ApplicantCategory>,
    pub closes_after: Option<DateTime<Utc>>,
    pub closes_before: Option<DateTime<Utc>>,
}

pub fn status_of(call: &call::Model) -> AppResult<CallStatus> {
    call.status
        .parse()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

pub fn rules_of(call: &call::Model) -> AppResult<EligibilityRules> {
    serde_json::from_value(call.rules.clone())
        .map_err(|e| AppError::internal(anyhow::anyhow!("stored rules are invalid: {e}")))
}

pub fn rubric_of(call: &call::Model) -> AppResult<Option<Rubric>> {
    call.rubric
        .clone()
        .map(|r| {
            serde_json::from_value(r)
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored rubric is invalid: {e}")))
        })
        .transpose()
}

/// A list as delimited text (`,KE,TZ,`), so one `LIKE '%,KE,%'` finds an item on both databases.
pub fn delimited<T: ToString>(items: &[T]) -> String {
    if items.is_empty() {
        return String::new();
    }
    format!(
        ",{},",
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    )
}

pub fn split_delimited(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The NGO categories the rules let in, for filtering the listing.
fn eligible_categories(rules: &EligibilityRules) -> String {
    let mut categories = vec![
        ApplicantCategory::ChineseNgo,
        ApplicantCategory::InternationalNgo,
        ApplicantCategory::HostCountryNgo,
    ];
    for rule in rules.rules() {
        if let RuleKind::ApplicantCategoryIn {
            categories: allowed,
        } = rule
        {
            categories.retain(|c| allowed.contains(c));
        }
    }
    delimited(&categories.iter().map(|c| c.as_str()).collect::<Vec<_>>())
}

fn snapshot(call: &call::Model) -> serde_json::Value {
    json!({
        "titleEn": call.title_en, "status": call.status, "published": call.published,
        "opensAt": call.opens_at, "closesAt": call.closes_at, "budgetMinor": call.budget_minor,
        "minAwardMinor": call.min_award_minor, "maxAwardMinor": call.max_award_minor,
        "hostCountries": call.host_countries, "sdgGoals": call.sdg_goals,
        "rubric": call.rubric, "rules": call.rules,
    })
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<call::Model> {
    call::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("call"))
}

/// Whether the viewer may see a call in this status: open and later calls are public, drafts
/// only for the fund's managers and admins.
async fn may_see(ctx: &AppContext, viewer: &Viewer, call: &call::Model) -> AppResult<bool> {
    if status_of(call)? != CallStatus::Draft {
        return Ok(true);
    }
    let Some(user) = viewer.optional_user_id() else {
        return Ok(false);
    };
    Ok(is_manager(&ctx.db, call.fund_id, user).await?
        || global_roles(&ctx.db, user)
            .await?
            .contains(&GlobalRole::Admin))
}

pub async fn get(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<call::Model> {
    let call = find(&ctx.db, id).await?;
    if may_see(ctx, viewer, &call).await? {
        Ok(call)
    } else {
        Err(AppError::NotFound("call"))
    }
}

/// The call, for one of its fund's managers to change.
async fn managed(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> AppResult<call::Model> {
    let user = viewer.user_id()?;
    let call = find(db, id).await?;
    if is_manager(db, call.fund_id, user).await? {
        return Ok(call);
    }
    // Others may know an open call exists; a draft stays hidden.
    if status_of(&call)? == CallStatus::Draft
        && !global_roles(db, user).await?.contains(&GlobalRole::Admin)
    {
        Err(AppError::NotFound("call"))
    } else {
        Err(AppError::Forbidden(
            "only managers of the call's fund may do this".into(),
        ))
    }
}

fn check_settings(fund: &fund::Model, settings: &CallSettings) -> AppResult<()> {
    if settings.budget.currency().code() != fund.currency {
        return Err(AppError::bad_input(
            "input.budget.currency",
            format!("the fund's amounts are in {}", fund.currency),
        ));
    }
    check_call_budget(settings.budget.minor(), &settings.awards)
        .map_err(|e| AppError::bad_input("input.maxAward.amount", e))?;
    Ok(())
}

/// A call is planned for the years ahead, not for centuries: a closing time far in the future is
/// a typing mistake.
fn check_horizon(settings: &CallSettings, now: DateTime<Utc>) -> AppResult<()> {
    settings
        .schedule
        .check_horizon(now)
        .map_err(|e| AppError::bad_input("input.closesAt", e))
}

/// Moves `delta` of the fund's budget to (or, negative, back from) its calls. The condition in
/// the update is the guarantee: it holds under any interleaving of requests and instances.
async fn allocate(
    db: &impl ConnectionTrait,
    fund_id: Uuid,
    delta: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let updated = fund::Entity::update_many()
        .col_expr(
            fund::Column::AllocatedMinor,
            Expr::col(fund::Column::AllocatedMinor).add(delta),
        )
        .col_expr(fund::Column::UpdatedAt, Expr::value(now))
        .filter(fund::Column::Id.eq(fund_id))
        .filter(
            Expr::col(fund::Column::AllocatedMinor)
                .add(delta)
                .lte(Expr::col(fund::Column::BudgetMinor)),
        )
        .filter(Expr::col(fund::Column::AllocatedMinor).add(delta).gte(0))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::LimitExceeded(
            "the fund's budget does not have this much left to allocate".into(),
        ));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(fund_id = %fund_id, viewer = ?viewer.optional_user_id()))]
pub async fn create(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    fund_id: Uuid,
    settings: CallSettings,
) -> AppResult<call::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let fund = find_fund(&txn, fund_id).await?;
    if !is_manager(&txn, fund_id, user).await? {
        return Err(AppError::Forbidden(
            "only managers of this fund may create its calls".into(),
        ));
    }
    check_settings(&fund, &settings)?;
    check_horizon(&settings, now)?;
    allocate(&txn, fund_id, settings.budget.minor(), now).await?;
    let mut rules = EligibilityRules::default();
    if let Some(kinds) = settings.required_documents {
        rules
            .set_required_documents(kinds)
            .map_err(|e| AppError::bad_input("input.requiredDocuments", e))?;
    }
    let call = call::ActiveModel {
        id: Set(Uuid::now_v7()),
        fund_id: Set(fund_id),
        title_en: Set(settings.title_en),
        title_zh: Set(settings.title_zh),
        description_en: Set(settings.description_en),
        description_zh: Set(settings.description_zh),
        status: Set(CallStatus::Draft.as_str().to_owned()),
        published: Set(false),
        opens_at: Set(settings.schedule.opens_at()),
        closes_at: Set(settings.schedule.closes_at()),
        budget_minor: Set(settings.budget.minor()),
        min_award_minor: Set(settings.awards.min_minor()),
        max_award_minor: Set(settings.awards.max_minor()),
        committed_minor: Set(0),
        host_countries: Set(delimited(&settings.host_countries)),
        sdg_goals: Set(delimited(
            &settings
                .sdg_goals
                .iter()
                .map(|g| g.number())
                .collect::<Vec<_>>(),
        )),
        eligible_categories: Set(eligible_categories(&rules)),
        rubric: Set(settings.rubric.map(|r| json!(r))),
        rules: Set(json!(rules)),
        reviewers_per_application: Set(settings.reviewers_per_application),
        blind_review: Set(settings.blind_review),
        moderation_threshold_bp: Set(settings.moderation_threshold_bp),
        created_by: Set(user),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "call.create",
        AuditTarget {
            kind: "call",
            id: Some(call.id),
        },
        None,
        Some(snapshot(&call)),
    )
    .await?;
    txn.commit().await?;
    Ok(call)
}

/// Changes a call. A draft changes freely (its budget re-allocated from the fund); an open call
/// only gets a later closing time; after that nothing changes.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn update(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    settings: CallSettings,
) -> AppResult<call::Model> {
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let call = managed(&txn, viewer, id).await?;
    let status = status_of(&call)?;
    let before = snapshot(&call);
    let current = CallSchedule::new(call.opens_at, call.closes_at).map_err(AppError::internal)?;
    let mut active = call.clone().into_active_model();
    match status {
        CallStatus::Draft => {
            let fund = find_fund(&txn, call.fund_id).await?;
            check_settings(&fund, &settings)?;
            check_horizon(&settings, now)?;
            let delta = settings.budget.minor() - call.budget_minor;
            if delta != 0 {
                allocate(&txn, call.fund_id, delta, now).await?;
            }
            active.title_en = Set(settings.title_en);
            active.title_zh = Set(settings.title_zh);
            active.description_en = Set(settings.description_en);
            active.description_zh = Set(settings.description_zh);
            active.opens_at = Set(settings.schedule.opens_at());
            active.closes_at = Set(settings.schedule.closes_at());
            active.budget_minor = Set(settings.budget.minor());
            active.min_award_minor = Set(settings.awards.min_minor());
            active.max_award_minor = Set(settings.awards.max_minor());
            active.host_countries = Set(delimited(&settings.host_countries));
            active.sdg_goals = Set(delimited(
                &settings
                    .sdg_goals
                    .iter()
                    .map(|g| g.number())
                    .collect::<Vec<_>>(),
            ));
            if let Some(kinds) = settings.required_documents {
                let mut rules = rules_of(&call)?;
                rules
                    .set_required_documents(kinds)
                    .map_err(|e| AppError::bad_input("input.requiredDocuments", e))?;
                active.eligible_categories = Set(eligible_categories(&rules));
                active.rules = Set(json!(rules));
            }
            active.rubric = Set(settings.rubric.map(|r| json!(r)));
            active.reviewers_per_application = Set(settings.reviewers_per_application);
            active.blind_review = Set(settings.blind_review);
            active.moderation_threshold_bp = Set(settings.moderation_threshold_bp);
        }
        _ => {
            // Only the closing time may move, and only later; everything else must be as it was,
            // so that applicants and reviewers work to what was published.
            let unchanged = settings.schedule.opens_at() == call.opens_at
                && settings.budget.minor() == call.budget_minor
                && settings.awards.min_minor() == call.min_award_minor
                && settings.awards.max_minor() == call.max_award_minor
                && delimited(&settings.host_countries) == call.host_countries
                && delimited(
                    &settings
                        .sdg_goals
                        .iter()
                        .map(|g| g.number())
                        .collect::<Vec<_>>(),
                ) == call.sdg_goals
                && settings.rubric.map(|r| json!(r)) == call.rubric
                && settings.required_documents.is_none_or(|kinds| {
                    rules_of(&call).is_ok_and(|rules| rules.required_documents() == kinds)
                })
                && settings.reviewers_per_application == call.reviewers_per_application
                && settings.blind_review == call.blind_review;
            if !unchanged {
                return Err(AppError::InvalidState(format!(
                    "a {status} call keeps its schedule, budget, awards, countries, goals and rubric; only the closing time may move later"
                )));
            }
            let schedule =
                change_closing_time(status, &current, settings.schedule.closes_at(), now)
                    .map_err(|e| AppError::bad_input("input.closesAt", e))?;
            active.closes_at = Set(schedule.closes_at());
        }
    }
    active.updated_at = Set(now);
    let call = active.update(&txn).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "call.update",
        AuditTarget {
            kind: "call",
            id: Some(id),
        },
        Some(before),
        Some(snapshot(&call)),
    )
    .await?;
    txn.commit().await?;
    Ok(call)
}

/// Applies a state change with a conditional update, so two concurrent transitions cannot both
/// win.
async fn apply(
    db: &impl ConnectionTrait,
    call: &call::Model,
    from: CallStatus,
    to: CallStatus,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let updated = call::Entity::update_many()
        .col_expr(call::Column::Status, Expr::value(to.as_str()))
        .col_expr(call::Column::UpdatedAt, Expr::value(now))
        .filter(call::Column::Id.eq(call.id))
        .filter(call::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Asks for a draft to open: at once if its window has started, else when it does (the
/// scheduler). A call opens with a rubric, and never after its closing time.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn open(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<call::Model> {
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let call = managed(&txn, viewer, id).await?;
    let status = status_of(&call)?;
    transition(status, CallEvent::Open).map_err(|e| AppError::InvalidState(e.to_string()))?;
    if call.rubric.is_none() {
        return Err(AppError::InvalidState(
            "give the call a review rubric before opening it".into(),
        ));
    }
    if now >= call.closes_at {
        return Err(AppError::InvalidState(
            "the closing time has passed; move it later first".into(),
        ));
    }
    call::Entity::update_many()
        .col_expr(call::Column::Published, Expr::value(true))
        .col_expr(call::Column::UpdatedAt, Expr::value(now))
        .filter(call::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    if now >= call.opens_at && !apply(&txn, &call, CallStatus::Draft, CallStatus::Open, now).await?
    {
        return Err(AppError::Conflict(
            "the call changed meanwhile; reload it".into(),
        ));
    }
    let call = find(&txn, id).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "call.open",
        AuditTarget {
            kind: "call",
            id: Some(id),
        },
        Some(json!({ "status": status.as_str(), "published": false })),
        Some(json!({ "status": call.status, "published": true })),
    )
    .await?;
    txn.commit().await?;
    Ok(call)
}

/// Closes an open call, for one of its fund's managers (the scheduler closes calls at their
/// closing time too). A manager may close before the announced closing time: the closing time
/// becomes now, the audit event keeps the announced one, and the members of every organisation
/// that still has a draft in the call are told, each in their language, that it can no longer be
/// submitted.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn close(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<call::Model> {
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let call = managed(&txn, viewer, id).await?;
    let status = status_of(&call)?;
    let schedule = CallSchedule::new(call.opens_at, call.closes_at).map_err(AppError::internal)?;
    let closing = crate::domain::call::close_by_manager(status, &schedule, now)
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    let closes_at = closing.schedule.closes_at();
    let updated = call::Entity::update_many()
        .col_expr(call::Column::Status, Expr::value(closing.to.as_str()))
        .col_expr(call::Column::ClosesAt, Expr::value(closes_at))
        .col_expr(call::Column::UpdatedAt, Expr::value(now))
        .filter(call::Column::Id.eq(id))
        .filter(call::Column::Status.eq(status.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the call changed meanwhile; reload it".into(),
        ));
    }
    let drafts_told = if closing.early {
        tell_drafts_closed_early(ctx, &txn, &call, closes_at).await?
    } else {
        0
    };
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "call.close",
        AuditTarget {
            kind: "call",
            id: Some(id),
        },
        Some(json!({ "status": status.as_str(), "closesAt": call.closes_at })),
        Some(json!({
            "status": closing.to.as_str(), "closesAt": closes_at, "early": closing.early,
            "draftsTold": drafts_told,
        })),
    )
    .await?;
    let call = find(&txn, id).await?;
    txn.commit().await?;
    Ok(call)
}

/// Emails the members of each organisation with a draft in `call`, which closed early at
/// `closed_at`: one email per member per draft, de-duplicated by the draft. Returns how many
/// drafts there were.
async fn tell_drafts_closed_early(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    call: &call::Model,
    closed_at: DateTime<Utc>,
) -> AppResult<usize> {
    use entity::{application, organization, organization_member};

    use crate::service::notification::{email_users, pick};

    let drafts = application::Entity::find()
        .filter(application::Column::CallId.eq(call.id))
        .filter(
            application::Column::Status
                .eq(crate::domain::application::ApplicationStatus::Draft.as_str()),
        )
        .order_by_asc(application::Column::CreatedAt)
        .all(db)
        .await?;
    if drafts.is_empty() {
        return Ok(0);
    }
    let org_ids: Vec<Uuid> = drafts.iter().map(|d| d.organization_id).collect();
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(org_ids.iter().copied()))
        .all(db)
        .await?;
    let members = organization_member::Entity::find()
        .filter(organization_member::Column::OrganizationId.is_in(org_ids))
        .all(db)
        .await?;
    let format = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let (closed_at, announced) = (format(closed_at), format(call.closes_at));
    for app in &drafts {
        let org = orgs
            .iter()
            .find(|o| o.id == app.organization_id)
            .ok_or(AppError::NotFound("organization"))?;
        let users: Vec<Uuid> = members
            .iter()
            .filter(|m| m.organization_id == org.id)
            .map(|m| m.user_id)
            .collect();
        email_users(
            ctx,
            db,
            crate::notify::EmailKind::CallClosedEarly,
            &users,
            &format!("call_closed_early:{}", app.id),
            |user, zh| {
                json!({
                    "name": user.name, "reference": app.reference,
                    "title": pick(zh, app.title_zh.as_deref(), app.title_en.as_deref()),
                    "call": pick(zh, call.title_zh.as_deref(), Some(&call.title_en)),
                    "organization": pick(zh, org.name_zh.as_deref(), Some(&org.name_en)),
                    "closed_at": closed_at, "closes_at": announced,
                })
            },
        )
        .await?;
    }
    Ok(drafts.len())
}

/// Archives a decided call, or abandons a draft (its budget goes back to the fund).
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn archive(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<call::Model> {
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let call = managed(&txn, viewer, id).await?;
    let status = status_of(&call)?;
    let to = transition(status, CallEvent::Archive)
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    if !apply(&txn, &call, status, to, now).await? {
        return Err(AppError::Conflict(
            "the call changed meanwhile; reload it".into(),
        ));
    }
    if status == CallStatus::Draft {
        allocate(&txn, call.fund_id, -call.budget_minor, now).await?;
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "call.archive",
        AuditTarget {
            kind: "call",
            id: Some(id),
        },
        Some(json!({ "status": status.as_str() })),
        Some(json!({ "status": to.as_str() })),
    )
    .await?;
    let call = find(&txn, id).await?;
    txn.commit().await?;
    Ok(call)
}

/// Opens published drafts whose time has come and closes open calls whose time has passed. Run by
/// the worker; each change is a conditional update, so several workers may run it at once.
#[tracing::instrument(skip_all)]
pub async fn apply_schedule(ctx: &AppContext) -> AppResult<usize> {
    let now = ctx.clock.now();
    let candidates = call::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(call::Column::Status.eq(CallStatus::Draft.as_str()))
                        .add(call::Column::Published.eq(true))
                        .add(call::Column::OpensAt.lte(now)),
                )
                .add(
                    Condition::all()
                        .add(call::Column::Status.eq(CallStatus::Open.as_str()))
                        .add(call::Column::ClosesAt.lte(now)),
                ),
        )
        .all(&ctx.db)
        .await?;
    let mut changed = 0;
    for call in candidates {
        let status = status_of(&call)?;
        let Ok(schedule) = CallSchedule::new(call.opens_at, call.closes_at) else {
            continue;
        };
        let Some(event) = automatic_transition(status, &schedule, call.published, now) else {
            continue;
        };
        let to =
            transition(status, event).map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
        let txn = ctx.begin_write().await?;
        if apply(&txn, &call, status, to, now).await? {
            audit::record(
                &txn,
                &ctx.clock,
                &AuditActor::default(),
                &format!("call.{}", event.as_str().to_lowercase()),
                AuditTarget {
                    kind: "call",
                    id: Some(call.id),
                },
                Some(json!({ "status": status.as_str() })),
                Some(json!({ "status": to.as_str(), "by": "schedule" })),
            )
            .await?;
            changed += 1;
        }
        txn.commit().await?;
    }
    Ok(changed)
}

/// Changes the eligibility rules of a draft call. NGO_ONLY can be neither removed nor weakened.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn change_rules(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    change: impl FnOnce(&mut EligibilityRules) -> AppResult<()>,
) -> AppResult<call::Model> {
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let call = managed(&txn, viewer, id).await?;
    if !can_edit_rubric_and_rules(status_of(&call)?) {
        return Err(AppError::InvalidState(
            "the rules are frozen once the call opens".into(),
        ));
    }
    let mut rules = rules_of(&call)?;
    let before = call.rules.clone();
    change(&mut rules)?;
    let mut active = call.into_active_model();
    active.rules = Set(json!(rules));
    active.eligible_categories = Set(eligible_categories(&rules));
    active.updated_at = Set(now);
    let call = active.update(&txn).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "call.change_rules",
        AuditTarget {
            kind: "call",
            id: Some(id),
        },
        Some(json!({ "rules": before })),
        Some(json!({ "rules": call.rules })),
    )
    .await?;
    txn.commit().await?;
    Ok(call)
}

/// Calls the viewer may see, ordered by closing time: open and later calls for everyone, drafts
/// also for the fund's managers and admins.
pub async fn list(
    ctx: &AppContext,
    viewer: &Viewer,
    filter: &CallFilter,
    page: &PageRequest,
) -> AppResult<Page<call::Model>> {
    let mut visible = Condition::any().add(call::Column::Status.ne(CallStatus::Draft.as_str()));
    if let Some(user) = viewer.optional_user_id() {
        if global_roles(&ctx.db, user)
            .await?
            .contains(&GlobalRole::Admin)
        {
            visible = Condition::all();
        } else {
            let managed: Vec<Uuid> = crate::service::fund::roles_of(&ctx.db, user)
                .await?
                .into_iter()
                .filter(|(_, role)| *role == crate::service::fund::FundRole::Manager)
                .map(|(fund, _)| fund)
                .collect();
            if !managed.is_empty() {
                visible = visible.add(call::Column::FundId.is_in(managed));
            }
        }
    } else {
        // Anonymous visitors browse what is open.
        visible = Condition::all().add(call::Column::Status.eq(CallStatus::Open.as_str()));
    }
    let mut condition = Condition::all().add(visible);
    if let Some(fund) = filter.fund_id {
        condition = condition.add(call::Column::FundId.eq(fund));
    }
    if !filter.statuses.is_empty() {
        condition =
            condition.add(call::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(country) = filter.host_country {
        condition =
            condition.add(call::Column::HostCountries.like(format!("%,{},%", country.as_str())));
    }
    if let Some(goal) = filter.sdg {
        condition = condition.add(call::Column::SdgGoals.like(format!("%,{},%", goal.number())));
    }
    if let Some(category) = filter.applicant_category {
        condition = condition
            .add(call::Column::EligibleCategories.like(format!("%,{},%", category.as_str())));
    }
    if let Some(after) = filter.closes_after {
        condition = condition.add(call::Column::ClosesAt.gte(after));
    }
    if let Some(before) = filter.closes_before {
        condition = condition.add(call::Column::ClosesAt.lt(before));
    }
    let total = if page.count_total {
        call::Entity::find()
            .filter(condition.clone())
            .count(&ctx.db)
            .await?
    } else {
        0
    };
    let mut query = call::Entity::find().filter(condition);
    if let Some(after) = &page.after {
        query = query.filter(pagination::after(
            call::Column::ClosesAt,
            call::Column::Id,
            after.time_key()?,
            after.id,
            Direction::Ascending,
        ));
    }
    let rows = query
        .order_by_asc(call::Column::ClosesAt)
        .order_by_asc(call::Column::Id)
        .limit(page.limit + 1)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|c| {
            (
                Cursor {
                    key: c.closes_at.to_rfc3339_opts(SecondsFormat::Micros, true),
                    id: c.id,
                },
                c,
            )
        })
        .collect();
    Ok(Page::from_rows(rows, page, total))
}

/// The full eligibility report of an organisation for a call, before it writes an application:
/// every rule, passed, failed or pending, and why. Rules about the application are pending (it
/// does not exist yet); its open applications in the call count. The viewer must belong to the
/// organisation. A draft's own check is [`crate::service::application::draft_check`].
pub async fn eligibility(
    ctx: &AppContext,
    viewer: &Viewer,
    call_id: Uuid,
    organization_id: Uuid,
) -> AppResult<Vec<RuleResult>> {
    let call = get(ctx, viewer, call_id).await?;
    let org = crate::service::organization::get(ctx, viewer, organization_id).await?;
    let fund = find_fund(&ctx.db, call.fund_id).await?;
    let currency = Currency::parse(&fund.currency).map_err(AppError::internal)?;
    let country = CountryCode::parse(&org.country).map_err(AppError::internal)?;
    let open =
        crate::service::application::open_applications(&ctx.db, call.id, org.id, None).await?;
    let facts = EligibilityFacts {
        subject: Subject::Prospective,
        category: crate::service::organization::category_of(&org),
        organization_country: country,
        registered_on: org.registered_on,
        evaluation_date: ctx.clock.now().date_naive(),
        host_countries: Vec::new(),
        requested_minor: None,
        currency,
        document_kinds: Vec::new(),
        partners: Vec::new(),
        other_open_applications_in_call: open,
    };
    Ok(evaluate(&rules_of(&call)?, &facts))
}
