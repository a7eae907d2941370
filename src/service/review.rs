//! The review of a call's applications: managers assign reviewers from the fund's pool (by hand
//! or balanced automatically), never one with a conflict of interest; reviewers see only what
//! they were assigned (without the applicant's identity in a blind call), score every criterion
//! with a justification and recommend; each submitted review updates the application's standing,
//! which the call's ranking sorts on. Reviewers are reminded before the due date and once overdue.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{
    application, application_partner as partner, call, organization_member,
    review_assignment as assignment, user_account,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::application::{ApplicationEvent, ApplicationStatus, transition};
use crate::domain::call::CallStatus;
use crate::domain::identity::GlobalRole;
use crate::domain::review::{
    ApplicationToStaff, AssignmentEvent, AssignmentStatus, CriterionScore, Recommendation,
    ReviewError, ScoreSummary, assignment_transition, check_draft, check_submission,
    plan_assignments, summarize,
};
use crate::error::{AppError, AppResult, unique_violation};
use crate::notify::EmailKind;
use crate::pagination::{self, Cursor, Direction, Page, PageRequest};
use crate::service::application::find as find_application;
use crate::service::application::status_of as application_status;
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::call::{find as find_call, rubric_of, status_of as call_status};
use crate::service::fund::{FundRole, is_manager, people};
use crate::service::identity::global_roles;
use crate::service::notification::{email_users, pick};

/// A review as the reviewer wrote it, parsed at the edge.
#[derive(Debug, Clone, Default)]
pub struct ReviewInput {
    pub scores: Vec<CriterionScore>,
    pub recommendation: Option<Recommendation>,
    pub comment: Option<String>,
}

/// What an automatic assignment did.
#[derive(Debug, Clone)]
pub struct AutoAssignment {
    pub created: Vec<assignment::Model>,
    /// Applications that could not get enough reviewers without a conflict, and how many short.
    pub unfilled: Vec<(Uuid, u32)>,
}

/// An application's place in its call's ranking.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub rank: u32,
    /// Shared: the ranking's rows are handed on to the API as they are.
    pub application: std::sync::Arc<application::Model>,
    pub summary: ScoreSummary,
    /// Assignments not recused: assigned or submitted.
    pub active_assignments: u32,
    pub recommendations: HashMap<Recommendation, u32>,
    pub needs_moderation: bool,
}

pub fn status_of(row: &assignment::Model) -> AppResult<AssignmentStatus> {
    row.status
        .parse()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

/// The scores stored on an assignment (a draft's or a submitted review's).
pub fn scores_of(row: &assignment::Model) -> AppResult<Vec<CriterionScore>> {
    row.scores
        .clone()
        .map(|scores| {
            serde_json::from_value(scores)
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored scores are invalid: {e}")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

fn review_error(error: ReviewError) -> AppError {
    AppError::bad_input(error.field(), error)
}

fn transition_error(error: impl std::fmt::Display) -> AppError {
    AppError::InvalidState(error.to_string())
}

async fn find_assignment(db: &impl ConnectionTrait, id: Uuid) -> AppResult<assignment::Model> {
    assignment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("review assignment"))
}

/// The viewer, who must manage the call's fund. Anyone may know of an open call, so others are
/// refused with `FORBIDDEN`; a draft stays hidden from all but the fund's managers and admins.
async fn require_manager(
    db: &impl ConnectionTrait,
    user: Uuid,
    call: &call::Model,
) -> AppResult<()> {
    if is_manager(db, call.fund_id, user).await? {
        return Ok(());
    }
    if call_status(call)? == CallStatus::Draft
        && !global_roles(db, user).await?.contains(&GlobalRole::Admin)
    {
        return Err(AppError::NotFound("call"));
    }
    Err(AppError::Forbidden(
        "only managers of this fund may do this".into(),
    ))
}

/// Takes the row lock on a call (PostgreSQL) or the write lock (SQLite, already held), so that
/// assignments in one call are planned one at a time and loads stay balanced.
async fn lock_call(db: &impl ConnectionTrait, call: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    call::Entity::update_many()
        .col_expr(call::Column::UpdatedAt, Expr::value(now))
        .filter(call::Column::Id.eq(call))
        .exec(db)
        .await?;
    Ok(())
}

/// The organisations each of `users` belongs to.
async fn organizations_of(
    db: &impl ConnectionTrait,
    users: &[Uuid],
) -> AppResult<HashMap<Uuid, HashSet<Uuid>>> {
    let mut orgs: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    for member in organization_member::Entity::find()
        .filter(organization_member::Column::UserId.is_in(users.iter().copied()))
        .all(db)
        .await?
    {
        orgs.entry(member.user_id)
            .or_default()
            .insert(member.organization_id);
    }
    Ok(orgs)
}

/// The organisations behind each application: the applicant and its partners. A member of any
/// of them has a conflict of interest.
async fn parties_of(
    db: &impl ConnectionTrait,
    apps: &[&application::Model],
) -> AppResult<HashMap<Uuid, HashSet<Uuid>>> {
    let mut parties: HashMap<Uuid, HashSet<Uuid>> = apps
        .iter()
        .map(|a| (a.id, HashSet::from([a.organization_id])))
        .collect();
    for p in partner::Entity::find()
        .filter(partner::Column::ApplicationId.is_in(apps.iter().map(|a| a.id)))
        .all(db)
        .await?
    {
        parties
            .entry(p.application_id)
            .or_default()
            .insert(p.organization_id);
    }
    Ok(parties)
}

/// Whether `user` belongs to the applicant or a partner of `app`.
pub async fn is_conflicted(
    db: &impl ConnectionTrait,
    user: Uuid,
    app: &application::Model,
) -> AppResult<bool> {
    let parties = parties_of(db, &[app]).await?;
    let orgs = organizations_of(db, &[user]).await?;
    Ok(match (parties.get(&app.id), orgs.get(&user)) {
        (Some(parties), Some(orgs)) => !parties.is_disjoint(orgs),
        _ => false,
    })
}

/// Moves submitted applications into review as they get their first reviewer, each with its
/// audit event.
async fn start_review(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    actor: &AuditActor,
    apps: &[&application::Model],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let from = ApplicationStatus::Submitted;
    let to = transition(from, ApplicationEvent::StartReview).map_err(transition_error)?;
    for app in apps {
        if application_status(app)? != from {
            continue;
        }
        let moved = application::Entity::update_many()
            .col_expr(application::Column::Status, Expr::value(to.as_str()))
            .col_expr(application::Column::UpdatedAt, Expr::value(now))
            .filter(application::Column::Id.eq(app.id))
            .filter(application::Column::Status.eq(from.as_str()))
            .exec(db)
            .await?;
        if moved.rows_affected == 1 {
            audit::record(
                db,
                &ctx.clock,
                actor,
                "application.start_review",
                AuditTarget {
                    kind: "application",
                    id: Some(app.id),
                },
                Some(json!({ "status": from.as_str() })),
                Some(json!({ "status": to.as_str() })),
            )
            .await?;
        }
    }
    Ok(())
}

/// Refuses a viewer who may not act on the application: `FORBIDDEN` for those who can see it
/// (its applicant's and partners' members), `NOT_FOUND` for everyone else.
pub async fn refuse(
    db: &impl ConnectionTrait,
    user: Uuid,
    app: &application::Model,
    what: &str,
) -> AppError {
    match is_conflicted(db, user, app).await {
        Ok(true) => AppError::Forbidden(format!("only managers of this fund may {what}")),
        Ok(false) => AppError::NotFound("application"),
        Err(error) => error,
    }
}

fn reviewable(app: &application::Model) -> AppResult<()> {
    match application_status(app)? {
        ApplicationStatus::Submitted | ApplicationStatus::UnderReview => Ok(()),
        other => Err(AppError::InvalidState(format!(
            "an application that is {other} cannot be given reviewers"
        ))),
    }
}

fn due_in_future(due_at: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()> {
    if due_at <= now {
        return Err(AppError::bad_input(
            "dueAt",
            "the due date must be in the future",
        ));
    }
    Ok(())
}

fn new_assignment(
    app: &application::Model,
    reviewer: Uuid,
    manager: Uuid,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> assignment::Model {
    assignment::Model {
        id: Uuid::now_v7(),
        application_id: app.id,
        call_id: app.call_id,
        reviewer_id: reviewer,
        status: AssignmentStatus::Assigned.as_str().to_owned(),
        due_at,
        assigned_by: manager,
        recusal_reason: None,
        recused_at: None,
        reminder_sent_at: None,
        overdue_sent_at: None,
        scores: None,
        recommendation: None,
        comment: None,
        score_bp: None,
        submitted_at: None,
        created_at: now,
        updated_at: now,
    }
}

fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Emails a reviewer about an assignment. Nothing in it names the applicant, so it is safe in a
/// blind call.
async fn email_reviewer(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    kind: EmailKind,
    row: &assignment::Model,
    app: &application::Model,
    call: &call::Model,
) -> AppResult<()> {
    email_users(
        ctx,
        db,
        kind,
        &[row.reviewer_id],
        &format!("{}:{}", kind.as_str(), row.id),
        |user, zh| {
            json!({
                "name": user.name, "reference": app.reference,
                "title": pick(zh, app.title_zh.as_deref(), app.title_en.as_deref()),
                "call": pick(zh, call.title_zh.as_deref(), Some(&call.title_en)),
                "due_at": format_time(row.due_at),
            })
        },
    )
    .await
}

fn assignment_snapshot(row: &assignment::Model) -> serde_json::Value {
    json!({
        "applicationId": row.application_id, "reviewerId": row.reviewer_id,
        "status": row.status, "dueAt": row.due_at,
    })
}

/// Assigns a reviewer from the fund's pool to an application under (or awaiting) review.
#[tracing::instrument(skip_all, fields(application_id = %application_id, reviewer = %reviewer, viewer = ?viewer.optional_user_id()))]
pub async fn assign(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    application_id: Uuid,
    reviewer: Uuid,
    due_at: DateTime<Utc>,
) -> AppResult<assignment::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let app = find_application(&txn, application_id).await?;
    let call = find_call(&txn, app.call_id).await?;
    if !is_manager(&txn, call.fund_id, user).await? {
        return Err(refuse(&txn, user, &app, "assign reviewers").await);
    }
    reviewable(&app)?;
    due_in_future(due_at, now)?;
    if !people(&txn, call.fund_id, FundRole::Reviewer)
        .await?
        .contains(&reviewer)
    {
        return Err(AppError::bad_input(
            "reviewerId",
            "the reviewer is not in the fund's reviewer pool",
        ));
    }
    if is_conflicted(&txn, reviewer, &app).await? {
        return Err(AppError::bad_input(
            "reviewerId",
            "conflict of interest: the reviewer belongs to the applicant or a partner organisation",
        ));
    }
    lock_call(&txn, call.id, now).await?;
    if let Some(existing) = assignment::Entity::find()
        .filter(assignment::Column::ApplicationId.eq(app.id))
        .filter(assignment::Column::ReviewerId.eq(reviewer))
        .one(&txn)
        .await?
    {
        return Err(if status_of(&existing)? == AssignmentStatus::Recused {
            AppError::bad_input(
                "reviewerId",
                "the reviewer declared a conflict of interest on this application",
            )
        } else {
            AppError::Conflict("the reviewer is already assigned to this application".into())
        });
    }
    let row = new_assignment(&app, reviewer, user, due_at, now)
        .into_active_model()
        .insert(&txn)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(_) => {
                AppError::Conflict("the reviewer is already assigned to this application".into())
            }
            None => e.into(),
        })?;
    start_review(ctx, &txn, actor, &[&app], now).await?;
    email_reviewer(ctx, &txn, EmailKind::ReviewAssigned, &row, &app, &call).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "review.assign",
        AuditTarget {
            kind: "review_assignment",
            id: Some(row.id),
        },
        None,
        Some(assignment_snapshot(&row)),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Removes an assignment whose review has not been submitted.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn unassign(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<assignment::Model> {
    let user = viewer.user_id()?;
    let txn = ctx.begin_write().await?;
    let row = find_assignment(&txn, id).await?;
    let call = find_call(&txn, row.call_id).await?;
    if !is_manager(&txn, call.fund_id, user).await? {
        // Only its reviewer and the fund's managers know the assignment exists.
        return Err(if row.reviewer_id == user {
            AppError::Forbidden("only managers of this fund may do this".into())
        } else {
            AppError::NotFound("review assignment")
        });
    }
    let from = status_of(&row)?;
    assignment_transition(from, AssignmentEvent::Unassign).map_err(transition_error)?;
    let deleted = assignment::Entity::delete_many()
        .filter(assignment::Column::Id.eq(id))
        .filter(assignment::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if deleted.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the assignment changed meanwhile; reload it".into(),
        ));
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "review.unassign",
        AuditTarget {
            kind: "review_assignment",
            id: Some(id),
        },
        Some(assignment_snapshot(&row)),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Gives every submitted or under-review application of the call the call's number of
/// reviewers, balanced across the pool, never a conflicted or recused one. One transaction:
/// all the assignments are made, or none.
#[tracing::instrument(skip_all, fields(call_id = %call_id, viewer = ?viewer.optional_user_id()))]
pub async fn auto_assign(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    call_id: Uuid,
    due_at: DateTime<Utc>,
) -> AppResult<AutoAssignment> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let call = find_call(&txn, call_id).await?;
    require_manager(&txn, user, &call).await?;
    due_in_future(due_at, now)?;
    lock_call(&txn, call.id, now).await?;
    let apps = application::Entity::find()
        .filter(application::Column::CallId.eq(call.id))
        .filter(application::Column::Status.is_in([
            ApplicationStatus::Submitted.as_str(),
            ApplicationStatus::UnderReview.as_str(),
        ]))
        .all(&txn)
        .await?;
    let pool = people(&txn, call.fund_id, FundRole::Reviewer).await?;
    let existing = assignment::Entity::find()
        .filter(assignment::Column::CallId.eq(call.id))
        .all(&txn)
        .await?;
    let app_refs: Vec<&application::Model> = apps.iter().collect();
    let parties = parties_of(&txn, &app_refs).await?;
    let reviewer_orgs = organizations_of(&txn, &pool).await?;
    let mut load: HashMap<Uuid, u32> = HashMap::new();
    let mut by_application: HashMap<Uuid, (Vec<Uuid>, Vec<Uuid>)> = HashMap::new();
    for row in &existing {
        let (assigned, excluded) = by_application.entry(row.application_id).or_default();
        if status_of(row)? == AssignmentStatus::Recused {
            excluded.push(row.reviewer_id);
        } else {
            assigned.push(row.reviewer_id);
            *load.entry(row.reviewer_id).or_default() += 1;
        }
    }
    let staffing: Vec<ApplicationToStaff> = apps
        .iter()
        .map(|app| {
            let (assigned, mut excluded) = by_application.remove(&app.id).unwrap_or_default();
            if let Some(parties) = parties.get(&app.id) {
                excluded.extend(pool.iter().copied().filter(|reviewer| {
                    reviewer_orgs
                        .get(reviewer)
                        .is_some_and(|orgs| !orgs.is_disjoint(parties))
                }));
            }
            ApplicationToStaff {
                application: app.id,
                assigned,
                excluded,
            }
        })
        .collect();
    let per_application = u32::try_from(call.reviewers_per_application.max(1)).unwrap_or(1);
    let plan = plan_assignments(&staffing, &pool, &load, per_application);

    let by_id: HashMap<Uuid, &application::Model> = apps.iter().map(|a| (a.id, a)).collect();
    let mut rows = Vec::with_capacity(plan.assignments.len());
    for (application_id, reviewer) in &plan.assignments {
        let app = by_id
            .get(application_id)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("planned an unknown application")))?;
        rows.push(new_assignment(app, *reviewer, user, due_at, now));
    }
    for chunk in rows.chunks(500) {
        assignment::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(_) => {
                AppError::Conflict("assignments changed meanwhile; run the assignment again".into())
            }
            None => e.into(),
        })?;
    }
    let staffed: HashSet<Uuid> = plan.assignments.iter().map(|(a, _)| *a).collect();
    let started: Vec<&application::Model> =
        apps.iter().filter(|a| staffed.contains(&a.id)).collect();
    start_review(ctx, &txn, actor, &started, now).await?;
    for row in &rows {
        if let Some(app) = by_id.get(&row.application_id) {
            email_reviewer(ctx, &txn, EmailKind::ReviewAssigned, row, app, &call).await?;
        }
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "review.auto_assign",
        AuditTarget {
            kind: "call",
            id: Some(call.id),
        },
        None,
        Some(json!({
            "assignments": plan.assignments.iter().map(|(a, r)| json!({ "applicationId": a, "reviewerId": r })).collect::<Vec<_>>(),
            "unfilled": plan.unfilled.iter().map(|(a, n)| json!({ "applicationId": a, "missing": n })).collect::<Vec<_>>(),
            "dueAt": due_at,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(AutoAssignment {
        created: rows,
        unfilled: plan.unfilled,
    })
}

/// The viewer's own assignment; anyone else learns nothing about it.
async fn own_assignment(
    db: &impl ConnectionTrait,
    user: Uuid,
    id: Uuid,
) -> AppResult<assignment::Model> {
    let row = find_assignment(db, id).await?;
    if row.reviewer_id == user {
        return Ok(row);
    }
    let call = find_call(db, row.call_id).await?;
    if is_manager(db, call.fund_id, user).await? {
        Err(AppError::Forbidden(
            "only the assigned reviewer may do this".into(),
        ))
    } else {
        Err(AppError::NotFound("review assignment"))
    }
}

/// The reviewer declares a conflict of interest: they are recused, the fund's managers are told
/// to assign someone else, and the declaration goes to the audit trail.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn declare_conflict(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    reason: String,
) -> AppResult<assignment::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let row = own_assignment(&txn, user, id).await?;
    let from = status_of(&row)?;
    let to = assignment_transition(from, AssignmentEvent::Recuse)
        .map_err(transition_error)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("recusal removes nothing")))?;
    let updated = assignment::Entity::update_many()
        .col_expr(assignment::Column::Status, Expr::value(to.as_str()))
        .col_expr(
            assignment::Column::RecusalReason,
            Expr::value(reason.clone()),
        )
        .col_expr(assignment::Column::RecusedAt, Expr::value(now))
        .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
        .filter(assignment::Column::Id.eq(id))
        .filter(assignment::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the assignment changed meanwhile; reload it".into(),
        ));
    }
    let row = find_assignment(&txn, id).await?;
    let app = find_application(&txn, row.application_id).await?;
    let call = find_call(&txn, row.call_id).await?;
    let reviewer = user_account::Entity::find_by_id(user)
        .one(&txn)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let managers = people(&txn, call.fund_id, FundRole::Manager).await?;
    email_users(
        ctx,
        &txn,
        EmailKind::ConflictDeclared,
        &managers,
        &format!("conflict_declared:{}", row.id),
        |manager, zh| {
            json!({
                "name": manager.name, "reviewer": reviewer, "reference": app.reference,
                "title": pick(zh, app.title_zh.as_deref(), app.title_en.as_deref()),
                "call": pick(zh, call.title_zh.as_deref(), Some(&call.title_en)),
                "reason": reason,
            })
        },
    )
    .await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "review.declare_conflict",
        AuditTarget {
            kind: "review_assignment",
            id: Some(id),
        },
        Some(json!({ "status": from.as_str() })),
        Some(json!({ "status": to.as_str(), "reason": reason })),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

fn scores_json(scores: &[CriterionScore]) -> AppResult<serde_json::Value> {
    serde_json::to_value(scores).map_err(AppError::internal)
}

/// Checks that the reviewer may still write: their assignment is open and the application has
/// not been decided.
async fn writable(
    db: &impl ConnectionTrait,
    row: &assignment::Model,
    event: AssignmentEvent,
) -> AppResult<(AssignmentStatus, application::Model, call::Model)> {
    let from = status_of(row)?;
    assignment_transition(from, event).map_err(transition_error)?;
    let app = find_application(db, row.application_id).await?;
    if application_status(&app)? != ApplicationStatus::UnderReview {
        return Err(AppError::InvalidState(
            "the application is no longer under review".into(),
        ));
    }
    let call = find_call(db, row.call_id).await?;
    Ok((from, app, call))
}

/// Saves a draft of the review; it may be partial, and only the reviewer sees it.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn save_draft(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    input: ReviewInput,
) -> AppResult<assignment::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let row = own_assignment(&txn, user, id).await?;
    let (from, _, call) = writable(&txn, &row, AssignmentEvent::SaveDraft).await?;
    let rubric = rubric_of(&call)?
        .ok_or_else(|| AppError::InvalidState("the call has no rubric to score".into()))?;
    check_draft(&rubric, &input.scores, input.comment.as_deref()).map_err(review_error)?;
    let updated = assignment::Entity::update_many()
        .col_expr(
            assignment::Column::Scores,
            Expr::value(scores_json(&input.scores)?),
        )
        .col_expr(
            assignment::Column::Recommendation,
            Expr::value(input.recommendation.map(|r| r.as_str().to_owned())),
        )
        .col_expr(assignment::Column::Comment, Expr::value(input.comment))
        .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
        .filter(assignment::Column::Id.eq(id))
        .filter(assignment::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::InvalidState(
            "the review was submitted meanwhile and can no longer change".into(),
        ));
    }
    let row = find_assignment(&txn, id).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "review.save_draft",
        AuditTarget {
            kind: "review_assignment",
            id: Some(id),
        },
        None,
        Some(json!({ "scores": row.scores, "recommendation": row.recommendation })),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Submits the review: every criterion scored within its range with a justification, and a
/// recommendation. It cannot change afterwards. The application's standing is recomputed from
/// all its submitted reviews while its row is locked, so concurrent submissions cannot lose one.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn submit(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    input: ReviewInput,
) -> AppResult<assignment::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let row = own_assignment(&txn, user, id).await?;
    let (from, app, call) = writable(&txn, &row, AssignmentEvent::Submit).await?;
    let rubric = rubric_of(&call)?
        .ok_or_else(|| AppError::InvalidState("the call has no rubric to score".into()))?;
    let score = check_submission(
        &rubric,
        &input.scores,
        input.recommendation,
        input.comment.as_deref(),
    )
    .map_err(review_error)?;
    let to = assignment_transition(from, AssignmentEvent::Submit)
        .map_err(transition_error)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("submission removes nothing")))?;
    let score = i32::try_from(score).map_err(AppError::internal)?;
    let updated = assignment::Entity::update_many()
        .col_expr(assignment::Column::Status, Expr::value(to.as_str()))
        .col_expr(
            assignment::Column::Scores,
            Expr::value(scores_json(&input.scores)?),
        )
        .col_expr(
            assignment::Column::Recommendation,
            Expr::value(input.recommendation.map(|r| r.as_str().to_owned())),
        )
        .col_expr(assignment::Column::Comment, Expr::value(input.comment))
        .col_expr(assignment::Column::ScoreBp, Expr::value(score))
        .col_expr(assignment::Column::SubmittedAt, Expr::value(now))
        .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
        .filter(assignment::Column::Id.eq(id))
        .filter(assignment::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::InvalidState(
            "the review was submitted already and cannot change".into(),
        ));
    }
    refresh_standing(&txn, app.id, now).await?;
    let row = find_assignment(&txn, id).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "review.submit",
        AuditTarget {
            kind: "review_assignment",
            id: Some(id),
        },
        Some(json!({ "status": from.as_str() })),
        Some(json!({
            "status": to.as_str(), "scoreBp": score, "scores": row.scores,
            "recommendation": row.recommendation,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Recomputes an application's review count, mean score and spread from its submitted reviews.
async fn refresh_standing(
    db: &impl ConnectionTrait,
    application_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    // Lock first: on PostgreSQL the count below then sees every review committed before ours.
    application::Entity::update_many()
        .col_expr(application::Column::UpdatedAt, Expr::value(now))
        .filter(application::Column::Id.eq(application_id))
        .exec(db)
        .await?;
    let scores: Vec<u32> = assignment::Entity::find()
        .filter(assignment::Column::ApplicationId.eq(application_id))
        .filter(assignment::Column::Status.eq(AssignmentStatus::Submitted.as_str()))
        .all(db)
        .await?
        .iter()
        .filter_map(|r| r.score_bp.and_then(|s| u32::try_from(s).ok()))
        .collect();
    let summary = summarize(&scores);
    let as_i32 = |v: Option<u32>| v.and_then(|v| i32::try_from(v).ok());
    application::Entity::update_many()
        .col_expr(
            application::Column::ReviewCount,
            Expr::value(i32::try_from(summary.count).unwrap_or(i32::MAX)),
        )
        .col_expr(
            application::Column::ScoreBp,
            Expr::value(as_i32(summary.mean_bp)),
        )
        .col_expr(
            application::Column::ScoreSpreadBp,
            Expr::value(as_i32(summary.spread_bp)),
        )
        .filter(application::Column::Id.eq(application_id))
        .exec(db)
        .await?;
    Ok(())
}

/// One assignment, for its reviewer or the fund's managers.
pub async fn get(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<assignment::Model> {
    let user = viewer.user_id()?;
    let row = find_assignment(&ctx.db, id).await?;
    if row.reviewer_id == user {
        return Ok(row);
    }
    let call = find_call(&ctx.db, row.call_id).await?;
    if is_manager(&ctx.db, call.fund_id, user).await? {
        Ok(row)
    } else {
        Err(AppError::NotFound("review assignment"))
    }
}

fn cursor_of(row: &assignment::Model) -> Cursor {
    Cursor {
        key: row.due_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        id: row.id,
    }
}

/// The viewer's own assignments, soonest due first.
pub async fn mine(
    ctx: &AppContext,
    viewer: &Viewer,
    statuses: &[AssignmentStatus],
    page: &PageRequest,
) -> AppResult<Page<assignment::Model>> {
    let user = viewer.user_id()?;
    let mut condition = Condition::all().add(assignment::Column::ReviewerId.eq(user));
    if !statuses.is_empty() {
        condition =
            condition.add(assignment::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
    }
    let total = if page.count_total {
        assignment::Entity::find()
            .filter(condition.clone())
            .count(&ctx.db)
            .await?
    } else {
        0
    };
    let mut query = assignment::Entity::find().filter(condition);
    if let Some(after) = &page.after {
        query = query.filter(pagination::after(
            assignment::Column::DueAt,
            assignment::Column::Id,
            after.time_key()?,
            after.id,
            Direction::Ascending,
        ));
    }
    let rows = query
        .order_by_asc(assignment::Column::DueAt)
        .order_by_asc(assignment::Column::Id)
        .limit(page.limit + 1)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|row| (cursor_of(&row), row))
        .collect();
    Ok(Page::from_rows(rows, page, total))
}

/// Whether the viewer has an assignment (not recused) on the application: what lets a reviewer
/// read it and download its documents.
pub async fn is_assigned(
    db: &impl ConnectionTrait,
    user: Uuid,
    application_id: Uuid,
) -> AppResult<bool> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::ApplicationId.eq(application_id))
        .filter(assignment::Column::ReviewerId.eq(user))
        .filter(assignment::Column::Status.ne(AssignmentStatus::Recused.as_str()))
        .count(db)
        .await?
        > 0)
}

/// The call's applications by score for its managers: reviewed ones first, best first; then
/// those without a submitted review, earliest submitted first.
pub async fn ranking(ctx: &AppContext, viewer: &Viewer, call_id: Uuid) -> AppResult<Vec<Ranked>> {
    let user = viewer.user_id()?;
    let call = find_call(&ctx.db, call_id).await?;
    require_manager(&ctx.db, user, &call).await?;
    let mut apps = application::Entity::find()
        .filter(application::Column::CallId.eq(call.id))
        .filter(application::Column::Status.is_not_in([
            ApplicationStatus::Draft.as_str(),
            ApplicationStatus::Withdrawn.as_str(),
        ]))
        .all(&ctx.db)
        .await?;
    apps.sort_by(|a, b| {
        b.score_bp
            .is_some()
            .cmp(&a.score_bp.is_some())
            .then(b.score_bp.cmp(&a.score_bp))
            .then(a.submitted_at.cmp(&b.submitted_at))
            .then(a.id.cmp(&b.id))
    });
    // Only what the ranking counts: the reviews themselves (scores, comments) stay unread.
    let rows: Vec<(Uuid, String, Option<String>)> = assignment::Entity::find()
        .select_only()
        .column(assignment::Column::ApplicationId)
        .column(assignment::Column::Status)
        .column(assignment::Column::Recommendation)
        .filter(assignment::Column::CallId.eq(call.id))
        .filter(assignment::Column::Status.ne(AssignmentStatus::Recused.as_str()))
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let mut active: HashMap<Uuid, u32> = HashMap::new();
    let mut recommendations: HashMap<Uuid, HashMap<Recommendation, u32>> = HashMap::new();
    let submitted = AssignmentStatus::Submitted.as_str();
    for (application_id, status, recommendation) in &rows {
        *active.entry(*application_id).or_default() += 1;
        if status == submitted
            && let Some(recommendation) = recommendation
                .as_deref()
                .and_then(|r| r.parse::<Recommendation>().ok())
        {
            *recommendations
                .entry(*application_id)
                .or_default()
                .entry(recommendation)
                .or_default() += 1;
        }
    }
    let threshold = u32::try_from(call.moderation_threshold_bp).ok();
    Ok(apps
        .into_iter()
        .enumerate()
        .map(|(index, app)| {
            let summary = standing(&app);
            Ranked {
                rank: u32::try_from(index + 1).unwrap_or(u32::MAX),
                active_assignments: active.get(&app.id).copied().unwrap_or(0),
                recommendations: recommendations.remove(&app.id).unwrap_or_default(),
                needs_moderation: crate::domain::review::needs_moderation(
                    summary.spread_bp,
                    threshold,
                ),
                summary,
                application: std::sync::Arc::new(app),
            }
        })
        .collect())
}

/// The application's standing as stored beside it.
pub fn standing(app: &application::Model) -> ScoreSummary {
    ScoreSummary {
        count: u32::try_from(app.review_count).unwrap_or(0),
        mean_bp: app.score_bp.and_then(|s| u32::try_from(s).ok()),
        spread_bp: app.score_spread_bp.and_then(|s| u32::try_from(s).ok()),
    }
}

/// Reminds reviewers a configured time before their due date, and once more when overdue; once
/// each, marked with a conditional update so several workers remind once.
#[tracing::instrument(skip_all)]
pub async fn send_reminders(ctx: &AppContext) -> AppResult<usize> {
    let now = ctx.clock.now();
    let horizon = now + chrono::Duration::hours(ctx.config.review_reminder_hours);
    let open = AssignmentStatus::Assigned.as_str();
    let due_soon = assignment::Entity::find()
        .filter(assignment::Column::Status.eq(open))
        .filter(assignment::Column::DueAt.gt(now))
        .filter(assignment::Column::DueAt.lte(horizon))
        .filter(assignment::Column::ReminderSentAt.is_null())
        .all(&ctx.db)
        .await?;
    let overdue = assignment::Entity::find()
        .filter(assignment::Column::Status.eq(open))
        .filter(assignment::Column::DueAt.lte(now))
        .filter(assignment::Column::OverdueSentAt.is_null())
        .all(&ctx.db)
        .await?;
    let mut sent = 0;
    for (rows, kind, mark) in [
        (
            due_soon,
            EmailKind::ReviewReminder,
            assignment::Column::ReminderSentAt,
        ),
        (
            overdue,
            EmailKind::ReviewOverdue,
            assignment::Column::OverdueSentAt,
        ),
    ] {
        for row in rows {
            let txn = ctx.begin_write().await?;
            let marked = assignment::Entity::update_many()
                .col_expr(mark, Expr::value(now))
                .filter(assignment::Column::Id.eq(row.id))
                .filter(assignment::Column::Status.eq(open))
                .filter(mark.is_null())
                .exec(&txn)
                .await?;
            if marked.rows_affected == 1 {
                let app = find_application(&txn, row.application_id).await?;
                let call = find_call(&txn, row.call_id).await?;
                email_reviewer(ctx, &txn, kind, &row, &app, &call).await?;
                sent += 1;
            }
            txn.commit().await?;
        }
    }
    Ok(sent)
}
