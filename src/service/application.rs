//! Applications: drafted by members of an organisation while the call is open, with partners
//! who must accept, budget lines that add up, and a submission that re-checks every eligibility
//! rule and freezes what was submitted. Members see their organisations' applications, partners
//! the ones they are named on, and the fund's managers every submitted one.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use entity::{
    application, application_budget_line as budget_line, application_partner as partner, call,
    organization, organization_member,
};
use sea_orm::sea_query::{Alias, Asterisk, Expr, Order, Query, UnionType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    Statement,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::application::{
    ApplicationEvent, ApplicationStatus, PartnerStatus, check_budget, transition,
};
use crate::domain::call::CallStatus;
use crate::domain::country::CountryCode;
use crate::domain::eligibility::{
    EligibilityFacts, Outcome, PartnerFacts, RuleResult, Subject, evaluate,
};
use crate::domain::identity::GlobalRole;
use crate::domain::money::{Currency, Money};
use crate::domain::organization::ApplicantCategory;
use crate::domain::sdg::SdgGoal;
use crate::domain::submission::{self, Blocker, CallWindow, DraftFacts, NamedPartner, Refusal};
use crate::error::{AppError, AppResult};
use crate::notify::EmailKind;
use crate::pagination::{self, Cursor, Direction, Page, PageRequest};
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::call::{
    delimited, find as find_call, rules_of, split_delimited, status_of as call_status,
};
use crate::service::fund::{find as find_fund, is_manager};
use crate::service::identity::global_roles;
use crate::service::notification::{email_users, pick};
use crate::service::organization::{OWNER, category_of, membership};

/// An application's content, parsed at the edge.
#[derive(Debug, Clone)]
pub struct ApplicationContent {
    pub title_en: Option<String>,
    pub title_zh: Option<String>,
    pub summary_en: Option<String>,
    pub summary_zh: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    pub host_countries: Vec<CountryCode>,
    pub sdg_goals: Vec<SdgGoal>,
    pub requested: Money,
    pub duration_months: Option<i32>,
    pub planned_start: Option<NaiveDate>,
    pub partners: Vec<(Uuid, Money)>,
    pub budget_lines: Vec<(String, Option<String>, Money)>,
}

/// A change to a draft, parsed at the edge: what was sent changes, what was left out stays.
/// `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct ApplicationChanges {
    pub title_en: Option<Option<String>>,
    pub title_zh: Option<Option<String>>,
    pub summary_en: Option<Option<String>>,
    pub summary_zh: Option<Option<String>>,
    pub description_en: Option<Option<String>>,
    pub description_zh: Option<Option<String>>,
    pub host_countries: Option<Vec<CountryCode>>,
    pub sdg_goals: Option<Vec<SdgGoal>>,
    pub requested: Option<Money>,
    pub duration_months: Option<Option<i32>>,
    pub planned_start: Option<Option<NaiveDate>>,
    pub partners: Option<Vec<(Uuid, Money)>>,
    pub budget_lines: Option<Vec<(String, Option<String>, Money)>>,
}

impl ApplicationChanges {
    /// The content of a new draft: nothing to keep, and an amount must be asked for.
    fn into_new_content(self) -> AppResult<ApplicationContent> {
        let requested = self.requested.ok_or_else(|| {
            AppError::bad_input("input.requestedAmount", "give the amount requested")
        })?;
        let empty = ApplicationContent {
            title_en: None,
            title_zh: None,
            summary_en: None,
            summary_zh: None,
            description_en: None,
            description_zh: None,
            host_countries: Vec::new(),
            sdg_goals: Vec::new(),
            requested,
            duration_months: None,
            planned_start: None,
            partners: Vec::new(),
            budget_lines: Vec::new(),
        };
        Ok(self.applied_to(empty))
    }

    /// `current` with these changes made.
    fn applied_to(self, current: ApplicationContent) -> ApplicationContent {
        ApplicationContent {
            title_en: self.title_en.unwrap_or(current.title_en),
            title_zh: self.title_zh.unwrap_or(current.title_zh),
            summary_en: self.summary_en.unwrap_or(current.summary_en),
            summary_zh: self.summary_zh.unwrap_or(current.summary_zh),
            description_en: self.description_en.unwrap_or(current.description_en),
            description_zh: self.description_zh.unwrap_or(current.description_zh),
            host_countries: self.host_countries.unwrap_or(current.host_countries),
            sdg_goals: self.sdg_goals.unwrap_or(current.sdg_goals),
            requested: self.requested.unwrap_or(current.requested),
            duration_months: self.duration_months.unwrap_or(current.duration_months),
            planned_start: self.planned_start.unwrap_or(current.planned_start),
            partners: self.partners.unwrap_or(current.partners),
            budget_lines: self.budget_lines.unwrap_or(current.budget_lines),
        }
    }
}

/// Filters and order of the application listing.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    pub call_id: Option<Uuid>,
    pub statuses: Vec<ApplicationStatus>,
    pub host_country: Option<CountryCode>,
    pub applicant_category: Option<ApplicantCategory>,
    pub sdg: Option<SdgGoal>,
    pub sort: ApplicationSort,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApplicationSort {
    /// Newest first by creation (drafts have no submission time).
    #[default]
    Created,
    /// Earliest submission first.
    Submitted,
    /// Largest request first.
    RequestedAmount,
}

/// What the viewer may do next with an application.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions {
    pub can_edit: bool,
    pub can_submit: bool,
    pub can_withdraw: bool,
}

pub fn status_of(app: &application::Model) -> AppResult<ApplicationStatus> {
    app.status
        .parse()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<application::Model> {
    application::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("application"))
}

async fn is_admin(db: &impl ConnectionTrait, user: Uuid) -> AppResult<bool> {
    Ok(global_roles(db, user).await?.contains(&GlobalRole::Admin))
}

/// The organisations the user belongs to.
async fn organizations_of(db: &impl ConnectionTrait, user: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(organization_member::Entity::find()
        .filter(organization_member::Column::UserId.eq(user))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.organization_id)
        .collect())
}

/// Whether the viewer may see this application: members of the applicant or of a partner, and,
/// once submitted, the fund's managers and admins. Everyone else gets `NOT_FOUND`.
async fn may_see(
    db: &impl ConnectionTrait,
    user: Uuid,
    app: &application::Model,
) -> AppResult<bool> {
    let orgs = organizations_of(db, user).await?;
    if orgs.contains(&app.organization_id) {
        return Ok(true);
    }
    let partners = partner::Entity::find()
        .filter(partner::Column::ApplicationId.eq(app.id))
        .filter(partner::Column::OrganizationId.is_in(orgs))
        .count(db)
        .await?;
    if partners > 0 {
        return Ok(true);
    }
    if status_of(app)? == ApplicationStatus::Draft {
        return Ok(false);
    }
    let call = find_call(db, app.call_id).await?;
    Ok(is_manager(db, call.fund_id, user).await? || is_admin(db, user).await?)
}

pub async fn get(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<application::Model> {
    let user = viewer.user_id()?;
    let app = find(&ctx.db, id).await?;
    if may_see(&ctx.db, user, &app).await? {
        Ok(app)
    } else {
        Err(AppError::NotFound("application"))
    }
}

/// The application, for a member of the applicant organisation to change.
async fn as_applicant(
    db: &impl ConnectionTrait,
    user: Uuid,
    id: Uuid,
) -> AppResult<application::Model> {
    let app = find(db, id).await?;
    if membership(db, app.organization_id, user).await?.is_some() {
        return Ok(app);
    }
    if may_see(db, user, &app).await? {
        Err(AppError::Forbidden(
            "only members of the applicant organisation may do this".into(),
        ))
    } else {
        Err(AppError::NotFound("application"))
    }
}

fn window(call: &call::Model, now: DateTime<Utc>) -> AppResult<CallWindow> {
    Ok(
        if call_status(call)? != CallStatus::Open || now < call.opens_at {
            CallWindow::NotOpen
        } else if now >= call.closes_at {
            CallWindow::Closed
        } else {
            CallWindow::Accepting
        },
    )
}

fn accepting(call: &call::Model, now: DateTime<Utc>) -> AppResult<()> {
    match window(call, now)? {
        CallWindow::Accepting => Ok(()),
        CallWindow::NotOpen => Err(AppError::InvalidState(
            "the call is not open for applications".into(),
        )),
        CallWindow::Closed => Err(AppError::InvalidState(
            "the call closed; applications are no longer accepted".into(),
        )),
    }
}

/// Everything that decides whether a draft can be submitted now, gathered once and evaluated by
/// the domain: the eligibility rules of the call against the draft, and the other blockers. The
/// report an applicant reads and the submission both come from here, so they cannot disagree.
pub struct DraftCheck {
    pub results: Vec<RuleResult>,
    pub blockers: Vec<Blocker>,
    pub currency: Currency,
    partners: Vec<partner::Model>,
    partner_orgs: Vec<organization::Model>,
    lines: Vec<budget_line::Model>,
    documents: Vec<entity::application_document::Model>,
}

impl DraftCheck {
    /// Whether a submission now would succeed: no blocker, and every rule passes.
    pub fn ready(&self) -> bool {
        self.blockers.is_empty() && self.results.iter().all(|r| r.outcome == Outcome::Pass)
    }

    /// What a submission now is refused with: the first blocker, else every rule that does not
    /// pass (a pending one counts as failed: what is not there at submission never will be).
    pub fn refusal(&self) -> Option<AppError> {
        if let Some(blocker) = self.blockers.first() {
            return Some(match blocker.refusal {
                Refusal::State => AppError::InvalidState(blocker.reason_en.clone()),
                Refusal::Input(field) => AppError::bad_input(field, &blocker.reason_en),
            });
        }
        let unmet: Vec<&RuleResult> = self
            .results
            .iter()
            .filter(|r| r.outcome != Outcome::Pass)
            .collect();
        if unmet.is_empty() {
            return None;
        }
        let failures = unmet
            .iter()
            .map(|f| json!({ "rule": f.rule.kind_name(), "outcome": "FAIL", "reasonEn": f.reason_en, "reasonZh": f.reason_zh }))
            .collect::<Vec<_>>();
        let message = unmet
            .iter()
            .map(|f| f.reason_en.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Some(AppError::Ineligible {
            message: format!("the application does not meet the call's rules: {message}"),
            failures: json!(failures),
        })
    }
}

/// Gathers the facts of a draft and evaluates them (see [`DraftCheck`]).
async fn check_draft(
    db: &impl ConnectionTrait,
    app: &application::Model,
    call: &call::Model,
    currency: Currency,
    org: &organization::Model,
    now: DateTime<Utc>,
) -> AppResult<DraftCheck> {
    let partners = partners_of(db, app.id).await?;
    let lines = budget_lines_of(db, app.id).await?;
    let attached = documents(db, app.id).await?;
    let partner_orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(partners.iter().map(|p| p.organization_id)))
        .all(db)
        .await?;
    let registrations = entity::host_country_registration::Entity::find()
        .filter(
            entity::host_country_registration::Column::OrganizationId
                .is_in(partners.iter().map(|p| p.organization_id)),
        )
        .all(db)
        .await?;
    let other_open = open_applications(db, call.id, org.id, Some(app.id)).await?;
    let country = |code: &str| CountryCode::parse(code).map_err(AppError::internal);
    let answer = |p: &partner::Model| {
        p.status
            .parse::<PartnerStatus>()
            .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
    };
    let facts = EligibilityFacts {
        subject: Subject::Draft,
        category: category_of(org),
        organization_country: country(&org.country)?,
        registered_on: org.registered_on,
        evaluation_date: now.date_naive(),
        host_countries: split_delimited(&app.host_countries)
            .iter()
            .map(|c| country(c))
            .collect::<AppResult<_>>()?,
        requested_minor: Some(app.requested_minor),
        currency,
        document_kinds: attached.iter().map(|d| d.kind.clone()).collect(),
        partners: partners
            .iter()
            .filter_map(|p| {
                partner_orgs
                    .iter()
                    .find(|o| o.id == p.organization_id)
                    .map(|o| (p, o))
            })
            .map(|(p, o)| {
                let status = answer(p)?;
                Ok(PartnerFacts {
                    category: category_of(o),
                    country: country(&o.country)?,
                    accepted: status == PartnerStatus::Accepted,
                    pending: status == PartnerStatus::Pending,
                    registrations: registrations
                        .iter()
                        .filter(|r| r.organization_id == o.id)
                        .map(|r| Ok((country(&r.country)?, r.valid_until)))
                        .collect::<AppResult<_>>()?,
                })
            })
            .collect::<AppResult<_>>()?,
        other_open_applications_in_call: other_open,
    };
    let draft = DraftFacts {
        window: window(call, now)?,
        titled: app.title_en.is_some() || app.title_zh.is_some(),
        requested_minor: app.requested_minor,
        currency,
        min_award_minor: call.min_award_minor,
        max_award_minor: call.max_award_minor,
        lines: lines.iter().map(|l| l.amount_minor).collect(),
        partners: partners
            .iter()
            .map(|p| {
                let name = partner_orgs
                    .iter()
                    .find(|o| o.id == p.organization_id)
                    .map(|o| o.name_en.clone())
                    .unwrap_or_default();
                Ok(NamedPartner {
                    name,
                    status: answer(p)?,
                    share_minor: p.budget_share_minor,
                })
            })
            .collect::<AppResult<_>>()?,
    };
    Ok(DraftCheck {
        results: evaluate(&rules_of(call)?, &facts),
        blockers: submission::blockers(&draft),
        currency,
        partners,
        partner_orgs,
        lines,
        documents: attached,
    })
}

/// The organisation's applications in the call that count as open (neither withdrawn nor
/// rejected), leaving out `except`.
pub async fn open_applications(
    db: &impl ConnectionTrait,
    call: Uuid,
    organization: Uuid,
    except: Option<Uuid>,
) -> AppResult<u32> {
    let mut query = application::Entity::find()
        .filter(application::Column::CallId.eq(call))
        .filter(application::Column::OrganizationId.eq(organization))
        .filter(application::Column::Status.is_not_in([
            ApplicationStatus::Withdrawn.as_str(),
            ApplicationStatus::Rejected.as_str(),
        ]));
    if let Some(except) = except {
        query = query.filter(application::Column::Id.ne(except));
    }
    let count = query.count(db).await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// The check of a draft for whoever may see it: the same evaluation submission makes. `None`
/// once the application is no longer a draft.
pub async fn draft_check(
    ctx: &AppContext,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<DraftCheck>> {
    let app = get(ctx, viewer, id).await?;
    if status_of(&app)? != ApplicationStatus::Draft {
        return Ok(None);
    }
    let call = find_call(&ctx.db, app.call_id).await?;
    let fund = find_fund(&ctx.db, call.fund_id).await?;
    let currency = Currency::parse(&fund.currency).map_err(AppError::internal)?;
    let org = organization::Entity::find_by_id(app.organization_id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    check_draft(&ctx.db, &app, &call, currency, &org, ctx.clock.now())
        .await
        .map(Some)
}

/// Checks the content against the call and the rules that do not need the database.
async fn check_content(
    db: &impl ConnectionTrait,
    call: &call::Model,
    applicant: Uuid,
    content: &ApplicationContent,
) -> AppResult<()> {
    let fund = find_fund(db, call.fund_id).await?;
    if content.requested.currency().code() != fund.currency {
        return Err(AppError::bad_input(
            "input.requestedAmount.currency",
            format!("the call's amounts are in {}", fund.currency),
        ));
    }
    let call_countries = split_delimited(&call.host_countries);
    if let Some(outside) = content
        .host_countries
        .iter()
        .find(|c| !call_countries.is_empty() && !call_countries.iter().any(|k| k == c.as_str()))
    {
        return Err(AppError::bad_input(
            "input.hostCountries",
            format!("{} is not a host country of this call", outside.as_str()),
        ));
    }
    for (_, _, amount) in &content.budget_lines {
        if amount.currency() != content.requested.currency() {
            return Err(AppError::bad_input(
                "input.budgetLines",
                "budget lines are in the call's currency",
            ));
        }
    }
    for (_, share) in &content.partners {
        if share.currency() != content.requested.currency() {
            return Err(AppError::bad_input(
                "input.partners",
                "partner shares are in the call's currency",
            ));
        }
    }
    let lines: Vec<i64> = content
        .budget_lines
        .iter()
        .map(|(_, _, m)| m.minor())
        .collect();
    let shares: Vec<i64> = content.partners.iter().map(|(_, m)| m.minor()).collect();
    if !lines.is_empty() {
        check_budget(content.requested.minor(), &lines, &shares).map_err(|e| {
            let (reason, _) = submission::budget_reason(
                &e,
                content.requested.minor(),
                content.requested.currency(),
            );
            AppError::bad_input("input.budgetLines", reason)
        })?;
    }
    let mut seen = Vec::new();
    for (org_id, _) in &content.partners {
        if *org_id == applicant || seen.contains(org_id) {
            return Err(AppError::bad_input(
                "input.partners",
                "each partner is another organisation, named once",
            ));
        }
        seen.push(*org_id);
        let org = organization::Entity::find_by_id(*org_id)
            .one(db)
            .await?
            .ok_or_else(|| AppError::bad_input("input.partners", "no such organisation"))?;
        if !category_of(&org).can_receive_money() {
            return Err(AppError::bad_input(
                "input.partners",
                format!(
                    "{} is not an NGO and cannot receive a budget share",
                    org.name_en
                ),
            ));
        }
    }
    Ok(())
}

/// Takes the next number of a counter with one statement (`INSERT … ON CONFLICT DO UPDATE …
/// RETURNING`), so concurrent applications never share a reference.
async fn next_number(db: &impl ConnectionTrait, scope: &str, now: DateTime<Utc>) -> AppResult<i64> {
    let backend = db.get_database_backend();
    let sql = "INSERT INTO reference_counter (scope, value, created_at, updated_at) VALUES ($1, 1, $2, $2)
               ON CONFLICT (scope) DO UPDATE SET value = reference_counter.value + 1, updated_at = $2
               RETURNING value";
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [scope.into(), now.into()],
        ))
        .await?
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("the reference counter returned nothing"))
        })?;
    Ok(row.try_get::<i64>("", "value")?)
}

/// Writes the budget lines and partners of a draft. A partner named before keeps its row and its
/// answer unless its own terms (its budget share) changed; then it is asked again. Returns the
/// partners to tell: the newly named and those whose terms changed.
async fn write_children(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    content: &ApplicationContent,
    keep: &[partner::Model],
    now: DateTime<Utc>,
) -> AppResult<Vec<partner::Model>> {
    budget_line::Entity::delete_many()
        .filter(budget_line::Column::ApplicationId.eq(app_id))
        .exec(db)
        .await?;
    for (position, (category, description, amount)) in content.budget_lines.iter().enumerate() {
        budget_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            application_id: Set(app_id),
            position: Set(position as i32),
            category: Set(category.clone()),
            description: Set(description.clone()),
            amount_minor: Set(amount.minor()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    let removed: Vec<Uuid> = keep
        .iter()
        .filter(|p| {
            !content
                .partners
                .iter()
                .any(|(org, _)| *org == p.organization_id)
        })
        .map(|p| p.id)
        .collect();
    if !removed.is_empty() {
        partner::Entity::delete_many()
            .filter(partner::Column::Id.is_in(removed))
            .exec(db)
            .await?;
    }
    let mut to_tell = Vec::new();
    for (org_id, share) in &content.partners {
        match keep.iter().find(|p| p.organization_id == *org_id) {
            // What the partner answered to is unchanged: its answer stands.
            Some(previous) if previous.budget_share_minor == share.minor() => {}
            Some(previous) => {
                let mut asked_again: partner::ActiveModel = previous.clone().into();
                asked_again.budget_share_minor = Set(share.minor());
                asked_again.status = Set(PartnerStatus::Pending.as_str().to_owned());
                asked_again.responded_by = Set(None);
                asked_again.responded_at = Set(None);
                asked_again.updated_at = Set(now);
                to_tell.push(asked_again.update(db).await?);
            }
            None => {
                let named = partner::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    application_id: Set(app_id),
                    organization_id: Set(*org_id),
                    budget_share_minor: Set(share.minor()),
                    status: Set(PartnerStatus::Pending.as_str().to_owned()),
                    responded_by: Set(None),
                    responded_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(db)
                .await?;
                to_tell.push(named);
            }
        }
    }
    Ok(to_tell)
}

/// Emails the members of each partner organisation asked to take part (newly named, or with new
/// terms), in their language, with what is asked of them and how to answer.
async fn tell_partners(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    app: &application::Model,
    applicant: &organization::Model,
    call: &call::Model,
    currency: Currency,
    asked: &[partner::Model],
) -> AppResult<()> {
    if asked.is_empty() {
        return Ok(());
    }
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(asked.iter().map(|p| p.organization_id)))
        .all(db)
        .await?;
    let requested = Money::new(app.requested_minor, currency).map_err(AppError::internal)?;
    for row in asked {
        let Some(org) = orgs.iter().find(|o| o.id == row.organization_id) else {
            continue;
        };
        let share = Money::new(row.budget_share_minor, currency).map_err(AppError::internal)?;
        let members = members_of(db, org.id).await?;
        email_users(
            ctx,
            db,
            EmailKind::PartnershipRequested,
            &members,
            // The version tells a second request (new terms) from the first.
            &format!("partnership_requested:{}:{}", row.id, app.version),
            |user, zh| {
                json!({
                    "name": user.name, "reference": app.reference,
                    "title": pick(zh, app.title_zh.as_deref(), app.title_en.as_deref()),
                    "call": pick(zh, call.title_zh.as_deref(), Some(&call.title_en)),
                    "lead": pick(zh, applicant.name_zh.as_deref(), Some(&applicant.name_en)),
                    "organization": pick(zh, org.name_zh.as_deref(), Some(&org.name_en)),
                    "budget_share": share.to_string(), "requested": requested.to_string(),
                })
            },
        )
        .await?;
    }
    Ok(())
}

/// An application's partners, in the order they were named.
async fn partners_of(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Vec<partner::Model>> {
    Ok(partner::Entity::find()
        .filter(partner::Column::ApplicationId.eq(id))
        .order_by_asc(partner::Column::CreatedAt)
        .all(db)
        .await?)
}

/// An application's budget lines, in order.
async fn budget_lines_of(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<Vec<budget_line::Model>> {
    Ok(budget_line::Entity::find()
        .filter(budget_line::Column::ApplicationId.eq(id))
        .order_by_asc(budget_line::Column::Position)
        .all(db)
        .await?)
}

/// The draft's content as stored, to apply a partial change to.
async fn current_content(
    db: &impl ConnectionTrait,
    app: &application::Model,
    partners: &[partner::Model],
    currency: Currency,
) -> AppResult<ApplicationContent> {
    let money = |minor: i64| Money::new(minor, currency).map_err(AppError::internal);
    let lines = budget_lines_of(db, app.id).await?;
    Ok(ApplicationContent {
        title_en: app.title_en.clone(),
        title_zh: app.title_zh.clone(),
        summary_en: app.summary_en.clone(),
        summary_zh: app.summary_zh.clone(),
        description_en: app.description_en.clone(),
        description_zh: app.description_zh.clone(),
        host_countries: split_delimited(&app.host_countries)
            .iter()
            .map(|c| CountryCode::parse(c).map_err(AppError::internal))
            .collect::<AppResult<_>>()?,
        sdg_goals: split_delimited(&app.sdg_goals)
            .iter()
            .map(|g| {
                g.parse::<u8>()
                    .map_err(AppError::internal)
                    .and_then(|n| SdgGoal::new(n).map_err(AppError::internal))
            })
            .collect::<AppResult<_>>()?,
        requested: money(app.requested_minor)?,
        duration_months: app.duration_months,
        planned_start: app.planned_start,
        partners: partners
            .iter()
            .map(|p| Ok((p.organization_id, money(p.budget_share_minor)?)))
            .collect::<AppResult<_>>()?,
        budget_lines: lines
            .iter()
            .map(|l| {
                Ok((
                    l.category.clone(),
                    l.description.clone(),
                    money(l.amount_minor)?,
                ))
            })
            .collect::<AppResult<_>>()?,
    })
}

fn content_snapshot(app: &application::Model) -> serde_json::Value {
    json!({
        "reference": app.reference, "titleEn": app.title_en, "titleZh": app.title_zh,
        "hostCountries": app.host_countries, "sdgGoals": app.sdg_goals,
        "requestedMinor": app.requested_minor, "status": app.status,
    })
}

#[tracing::instrument(skip_all, fields(call_id = %call_id, organization_id = %organization_id, viewer = ?viewer.optional_user_id()))]
pub async fn create(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    call_id: Uuid,
    organization_id: Uuid,
    changes: ApplicationChanges,
) -> AppResult<application::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let org = organization::Entity::find_by_id(organization_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if membership(&txn, org.id, user).await?.is_none() {
        return Err(AppError::NotFound("organization"));
    }
    let call = find_call(&txn, call_id).await?;
    if call_status(&call)? == CallStatus::Draft {
        return Err(AppError::NotFound("call"));
    }
    accepting(&call, now)?;
    let content = changes.into_new_content()?;
    check_content(&txn, &call, org.id, &content).await?;
    let number = next_number(&txn, &format!("application:{}", now.format("%Y")), now).await?;
    let app = application::ActiveModel {
        id: Set(Uuid::now_v7()),
        call_id: Set(call.id),
        fund_id: Set(call.fund_id),
        organization_id: Set(org.id),
        applicant_category: Set(category_of(&org).as_str().to_owned()),
        reference: Set(format!("BF-{}-{number:04}", now.format("%Y"))),
        title_en: Set(content.title_en.clone()),
        title_zh: Set(content.title_zh.clone()),
        summary_en: Set(content.summary_en.clone()),
        summary_zh: Set(content.summary_zh.clone()),
        description_en: Set(content.description_en.clone()),
        description_zh: Set(content.description_zh.clone()),
        host_countries: Set(delimited(&content.host_countries)),
        sdg_goals: Set(delimited(
            &content
                .sdg_goals
                .iter()
                .map(|g| g.number())
                .collect::<Vec<_>>(),
        )),
        requested_minor: Set(content.requested.minor()),
        duration_months: Set(content.duration_months),
        planned_start: Set(content.planned_start),
        status: Set(ApplicationStatus::Draft.as_str().to_owned()),
        submitted_at: Set(None),
        reminder_sent_at: Set(None),
        review_count: Set(0),
        score_bp: Set(None),
        score_spread_bp: Set(None),
        version: Set(1),
        created_by: Set(user),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let asked = write_children(&txn, app.id, &content, &[], now).await?;
    let currency = content.requested.currency();
    tell_partners(ctx, &txn, &app, &org, &call, currency, &asked).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "application.create",
        AuditTarget {
            kind: "application",
            id: Some(app.id),
        },
        None,
        Some(content_snapshot(&app)),
    )
    .await?;
    txn.commit().await?;
    Ok(app)
}

#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn update(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    changes: ApplicationChanges,
    base_version: Option<i32>,
) -> AppResult<application::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let app = as_applicant(&txn, user, id).await?;
    if status_of(&app)? != ApplicationStatus::Draft {
        return Err(AppError::InvalidState(
            "only a draft can change; what was submitted stays as it was".into(),
        ));
    }
    if let Some(base) = base_version
        && base != app.version
    {
        return Err(stale(base, app.version));
    }
    let call = find_call(&txn, app.call_id).await?;
    accepting(&call, now)?;
    let fund = find_fund(&txn, call.fund_id).await?;
    let currency = Currency::parse(&fund.currency).map_err(AppError::internal)?;
    let previous_partners = partners_of(&txn, id).await?;
    let content =
        changes.applied_to(current_content(&txn, &app, &previous_partners, currency).await?);
    check_content(&txn, &call, app.organization_id, &content).await?;
    let org = organization::Entity::find_by_id(app.organization_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let before = content_snapshot(&app);
    let version = app.version;
    let mut active: application::ActiveModel = app.into();
    active.applicant_category = Set(category_of(&org).as_str().to_owned());
    active.title_en = Set(content.title_en.clone());
    active.title_zh = Set(content.title_zh.clone());
    active.summary_en = Set(content.summary_en.clone());
    active.summary_zh = Set(content.summary_zh.clone());
    active.description_en = Set(content.description_en.clone());
    active.description_zh = Set(content.description_zh.clone());
    active.host_countries = Set(delimited(&content.host_countries));
    active.sdg_goals = Set(delimited(
        &content
            .sdg_goals
            .iter()
            .map(|g| g.number())
            .collect::<Vec<_>>(),
    ));
    active.requested_minor = Set(content.requested.minor());
    active.duration_months = Set(content.duration_months);
    active.planned_start = Set(content.planned_start);
    active.version = Set(version + 1);
    active.updated_at = Set(now);
    // The version in the condition makes a save that raced another one fail instead of
    // overwriting it (the transaction rolls back whatever this save wrote).
    let updated = application::Entity::update_many()
        .set(active)
        .filter(application::Column::Id.eq(id))
        .filter(application::Column::Version.eq(version))
        .filter(application::Column::Status.eq(ApplicationStatus::Draft.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        let now_version = find(&txn, id).await?.version;
        return Err(stale(base_version.unwrap_or(version), now_version));
    }
    let app = find(&txn, id).await?;
    let asked = write_children(&txn, id, &content, &previous_partners, now).await?;
    tell_partners(ctx, &txn, &app, &org, &call, currency, &asked).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "application.update",
        AuditTarget {
            kind: "application",
            id: Some(id),
        },
        Some(before),
        Some(content_snapshot(&app)),
    )
    .await?;
    txn.commit().await?;
    Ok(app)
}

fn stale(base: i32, current: i32) -> AppError {
    AppError::Conflict(format!(
        "the draft changed since version {base} (it is now version {current}); reload it and \
         make the change again"
    ))
}

/// An owner of a partner organisation accepts or declines being named on a draft.
#[tracing::instrument(skip_all, fields(id = %id, organization_id = %organization_id, viewer = ?viewer.optional_user_id()))]
pub async fn respond_to_partnership(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    organization_id: Uuid,
    accept: bool,
) -> AppResult<application::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let app = find(&txn, id).await?;
    let row = partner::Entity::find()
        .filter(partner::Column::ApplicationId.eq(id))
        .filter(partner::Column::OrganizationId.eq(organization_id))
        .one(&txn)
        .await?;
    let role = membership(&txn, organization_id, user).await?;
    let Some(row) = row.filter(|_| role.is_some()) else {
        // Someone who may not see the application learns nothing of it, not even that it exists.
        return Err(if may_see(&txn, user, &app).await? {
            AppError::NotFound("partnership")
        } else {
            AppError::NotFound("application")
        });
    };
    if role.as_deref() != Some(OWNER) {
        return Err(AppError::Forbidden(
            "only owners of the partner organisation may answer".into(),
        ));
    }
    if status_of(&app)? != ApplicationStatus::Draft {
        return Err(AppError::InvalidState(
            "the application is no longer a draft".into(),
        ));
    }
    let status = if accept {
        PartnerStatus::Accepted
    } else {
        PartnerStatus::Declined
    };
    partner::Entity::update_many()
        .col_expr(partner::Column::Status, Expr::value(status.as_str()))
        .col_expr(partner::Column::RespondedBy, Expr::value(user))
        .col_expr(partner::Column::RespondedAt, Expr::value(now))
        .col_expr(partner::Column::UpdatedAt, Expr::value(now))
        .filter(partner::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "application.respond_to_partnership",
        AuditTarget {
            kind: "application",
            id: Some(id),
        },
        Some(json!({ "organizationId": organization_id, "status": row.status })),
        Some(json!({ "organizationId": organization_id, "status": status.as_str() })),
    )
    .await?;
    txn.commit().await?;
    Ok(app)
}

/// The call, with a shared lock on its row (PostgreSQL; SQLite writers already take turns): a
/// manager closing the call early waits for this submission, or this submission waits for the
/// close and sees it.
async fn call_for_submission(db: &impl ConnectionTrait, id: Uuid) -> AppResult<call::Model> {
    call::Entity::find_by_id(id)
        .lock_shared()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("call"))
}

/// Submits a draft: the call must still accept submissions, every partner must have accepted,
/// and every eligibility rule must pass. What was submitted is frozen in a snapshot, and the
/// applicant's members and the fund's managers are told, each in their language.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn submit(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<application::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let app = as_applicant(&txn, user, id).await?;
    let from = status_of(&app)?;
    let to = transition(from, ApplicationEvent::Submit)
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    let call = call_for_submission(&txn, app.call_id).await?;
    accepting(&call, now)?;
    let fund = find_fund(&txn, call.fund_id).await?;
    let currency = Currency::parse(&fund.currency).map_err(AppError::internal)?;
    let org = organization::Entity::find_by_id(app.organization_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let check = check_draft(&txn, &app, &call, currency, &org, now).await?;
    if let Some(refusal) = check.refusal() {
        return Err(refusal);
    }
    let DraftCheck {
        partners,
        partner_orgs,
        lines,
        documents: attached,
        ..
    } = check;

    let snapshot = submitted_version(
        &app,
        &fund.currency,
        &org,
        &partners,
        &partner_orgs,
        &lines,
        &attached,
    );
    let updated = application::Entity::update_many()
        .col_expr(application::Column::Status, Expr::value(to.as_str()))
        .col_expr(application::Column::SubmittedAt, Expr::value(now))
        .col_expr(
            entity::application_snapshot::Column::Snapshot,
            Expr::value(snapshot),
        )
        .col_expr(
            application::Column::ApplicantCategory,
            Expr::value(category_of(&org).as_str()),
        )
        .col_expr(application::Column::UpdatedAt, Expr::value(now))
        .filter(application::Column::Id.eq(id))
        .filter(application::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the application changed meanwhile; reload it".into(),
        ));
    }
    let app = find(&txn, id).await?;
    notify_submission(ctx, &txn, &app, &org, &call, currency).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "application.submit",
        AuditTarget {
            kind: "application",
            id: Some(id),
        },
        Some(json!({ "status": from.as_str() })),
        Some(content_snapshot(&app)),
    )
    .await?;
    txn.commit().await?;
    Ok(app)
}

async fn notify_submission(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    app: &application::Model,
    org: &organization::Model,
    call: &call::Model,
    currency: Currency,
) -> AppResult<()> {
    let members = members_of(db, org.id).await?;
    let managers =
        crate::service::fund::people(db, call.fund_id, crate::service::fund::FundRole::Manager)
            .await?;
    let requested = Money::new(app.requested_minor, currency).map_err(AppError::internal)?;
    let submitted_at = app
        .submitted_at
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    for (users, kind) in [
        (&members, EmailKind::ApplicationSubmitted),
        (&managers, EmailKind::ApplicationReceived),
    ] {
        email_users(
            ctx,
            db,
            kind,
            users,
            &format!("{}:{}", kind.as_str(), app.id),
            |user, zh| {
                json!({
                    "name": user.name, "reference": app.reference,
                    "title": pick(zh, app.title_zh.as_deref(), app.title_en.as_deref()),
                    "call": pick(zh, call.title_zh.as_deref(), Some(&call.title_en)),
                    "organization": pick(zh, org.name_zh.as_deref(), Some(&org.name_en)),
                    "requested": requested.to_string(), "submitted_at": submitted_at,
                })
            },
        )
        .await?;
    }
    Ok(())
}

/// The user ids of an organisation's members.
pub async fn members_of(db: &impl ConnectionTrait, organization: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(organization_member::Entity::find()
        .filter(organization_member::Column::OrganizationId.eq(organization))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn withdraw(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<application::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let app = as_applicant(&txn, user, id).await?;
    let from = status_of(&app)?;
    let to = transition(from, ApplicationEvent::Withdraw)
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    let updated = application::Entity::update_many()
        .col_expr(application::Column::Status, Expr::value(to.as_str()))
        .col_expr(application::Column::UpdatedAt, Expr::value(now))
        .filter(application::Column::Id.eq(id))
        .filter(application::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the application changed meanwhile; reload it".into(),
        ));
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "application.withdraw",
        AuditTarget {
            kind: "application",
            id: Some(id),
        },
        Some(json!({ "status": from.as_str() })),
        Some(json!({ "status": to.as_str() })),
    )
    .await?;
    let app = find(&txn, id).await?;
    txn.commit().await?;
    Ok(app)
}

/// What a member of the applicant may do next, so frontends need not copy the rules.
pub fn permissions_for(
    status: ApplicationStatus,
    call: &call::Model,
    now: DateTime<Utc>,
) -> AppResult<Permissions> {
    let open = accepting(call, now).is_ok();
    Ok(Permissions {
        can_edit: status == ApplicationStatus::Draft && open,
        can_submit: transition(status, ApplicationEvent::Submit).is_ok() && open,
        can_withdraw: transition(status, ApplicationEvent::Withdraw).is_ok(),
    })
}

fn cursor_of(app: &application::Model, sort: ApplicationSort) -> Cursor {
    let key = match sort {
        ApplicationSort::Created => app.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        ApplicationSort::Submitted => app
            .submitted_at
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
            .unwrap_or_default(),
        ApplicationSort::RequestedAmount => app.requested_minor.to_string(),
    };
    Cursor { key, id: app.id }
}

/// Applications the viewer may see: their organisations' (drafts included), and the submitted
/// ones of the funds they manage (all, for admins).
pub async fn list(
    ctx: &AppContext,
    viewer: &Viewer,
    filter: &ApplicationFilter,
    page: &PageRequest,
) -> AppResult<Listing> {
    let user = viewer.user_id()?;
    let reach = reach_of(&ctx.db, user, filter.call_id).await?;
    let mut condition = Condition::all();
    if let Some(call) = filter.call_id {
        condition = condition.add(application::Column::CallId.eq(call));
    }
    if !filter.statuses.is_empty() {
        condition = condition
            .add(application::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(country) = filter.host_country {
        condition = condition
            .add(application::Column::HostCountries.like(format!("%,{},%", country.as_str())));
    }
    if let Some(goal) = filter.sdg {
        condition =
            condition.add(application::Column::SdgGoals.like(format!("%,{},%", goal.number())));
    }
    if let Some(category) = filter.applicant_category {
        condition = condition.add(application::Column::ApplicantCategory.eq(category.as_str()));
    }
    if filter.sort == ApplicationSort::Submitted {
        condition = condition.add(application::Column::SubmittedAt.is_not_null());
    }
    let mut branches = reach.branches();
    if branches.is_empty() {
        return Ok(Listing {
            page: Page::from_rows(Vec::new(), page, 0),
            reach,
        });
    }
    let scope = branches
        .iter()
        .fold(Condition::any(), |any, branch| any.add(branch.clone()));
    if branches.len() > MAX_MERGED_BRANCHES {
        // Past a few dozen funds and organisations, one statement over the whole reach beats a
        // union of that many ranges (and stays within the databases' limits on unions).
        branches = vec![scope.clone()];
    }
    let total = if page.count_total {
        application::Entity::find()
            .filter(condition.clone())
            .filter(scope)
            .count(&ctx.db)
            .await?
    } else {
        0
    };
    if let Some(after) = &page.after {
        use application::Column as C;
        condition = condition.add(match filter.sort {
            ApplicationSort::Created => pagination::after(
                C::CreatedAt,
                C::Id,
                after.time_key()?,
                after.id,
                Direction::Descending,
            ),
            ApplicationSort::Submitted => pagination::after(
                C::SubmittedAt,
                C::Id,
                after.time_key()?,
                after.id,
                Direction::Ascending,
            ),
            ApplicationSort::RequestedAmount => pagination::after(
                C::RequestedMinor,
                C::Id,
                after.number_key()?,
                after.id,
                Direction::Descending,
            ),
        });
    }
    let limit = page.limit + 1;
    let ordered = |query: sea_orm::Select<application::Entity>| match filter.sort {
        ApplicationSort::Created => query
            .order_by_desc(application::Column::CreatedAt)
            .order_by_desc(application::Column::Id),
        ApplicationSort::Submitted => query
            .order_by_asc(application::Column::SubmittedAt)
            .order_by_asc(application::Column::Id),
        ApplicationSort::RequestedAmount => query
            .order_by_desc(application::Column::RequestedMinor)
            .order_by_desc(application::Column::Id),
    };
    // One page per branch, each read from its own index range in order; the outer query merges
    // them. The branches are disjoint, so nothing is counted twice.
    let mut pages = branches.into_iter().map(|branch| {
        ordered(
            application::Entity::find()
                .filter(condition.clone())
                .filter(branch),
        )
        .limit(limit)
        .into_query()
    });
    let rows = match (pages.next(), pages.len()) {
        (Some(only), 0) => {
            application::Entity::find()
                .from_raw_sql(ctx.db.get_database_backend().build(&only))
                .all(&ctx.db)
                .await?
        }
        (Some(first), _) => {
            let mut merged = Query::select()
                .column(Asterisk)
                .from_subquery(first, Alias::new("branch_0"))
                .to_owned();
            for (index, next) in pages.enumerate() {
                merged.union(
                    UnionType::All,
                    Query::select()
                        .column(Asterisk)
                        .from_subquery(next, Alias::new(format!("branch_{}", index + 1)))
                        .to_owned(),
                );
            }
            let mut outer = Query::select()
                .column(Asterisk)
                .from_subquery(merged, Alias::new("scoped"))
                .to_owned();
            let (key, direction) = match filter.sort {
                ApplicationSort::Created => (application::Column::CreatedAt, Order::Desc),
                ApplicationSort::Submitted => (application::Column::SubmittedAt, Order::Asc),
                ApplicationSort::RequestedAmount => {
                    (application::Column::RequestedMinor, Order::Desc)
                }
            };
            outer
                .order_by(key, direction.clone())
                .order_by(application::Column::Id, direction)
                .limit(limit);
            application::Entity::find()
                .from_raw_sql(ctx.db.get_database_backend().build(&outer))
                .all(&ctx.db)
                .await?
        }
        (None, _) => Vec::new(),
    };
    let rows = rows
        .into_iter()
        .map(|a| (cursor_of(&a, filter.sort), a))
        .collect();
    Ok(Listing {
        page: Page::from_rows(rows, page, total),
        reach,
    })
}

/// A page of applications, with the viewer's reach it was read with (the API primes its
/// access checks with it, so they cost no further statements).
pub struct Listing {
    pub page: Page<application::Model>,
    pub reach: Reach,
}

/// Most index ranges one listing merges; a wider reach is read as one filtered range.
const MAX_MERGED_BRANCHES: usize = 32;

/// What a user may list: applications of the organisations they belong to (drafts included),
/// submitted applications of the funds they manage, and as an admin every submitted one.
#[derive(Debug, Default)]
pub struct Reach {
    user: Uuid,
    admin: bool,
    /// The funds the viewer manages.
    pub funds: Vec<Uuid>,
    /// The organisations the viewer belongs to.
    pub organizations: Vec<Uuid>,
    /// When the listing is of one call: that call's fund.
    call_fund: Option<Uuid>,
}

impl Reach {
    /// The reach as disjoint conditions, each served by one index: per managed fund
    /// (`fund_id`, sort key) and per organisation (`organization_id`, sort key). An admin's reach
    /// is nearly the whole table, read in order from the sort key's own index.
    fn branches(&self) -> Vec<Condition> {
        let not_draft = || application::Column::Status.ne(ApplicationStatus::Draft.as_str());
        if self.admin {
            let mut scope = Condition::any().add(not_draft());
            if !self.organizations.is_empty() {
                scope = scope.add(
                    application::Column::OrganizationId.is_in(self.organizations.iter().copied()),
                );
            }
            return vec![scope];
        }
        let mut branches: Vec<Condition> = match self.call_fund {
            // Listing one call: the call's own index serves it, and only its fund can match.
            Some(fund) if self.funds.contains(&fund) => vec![Condition::all().add(not_draft())],
            Some(_) => Vec::new(),
            None => self
                .funds
                .iter()
                .map(|fund| {
                    Condition::all()
                        .add(application::Column::FundId.eq(*fund))
                        .add(not_draft())
                })
                .collect(),
        };
        for organization in &self.organizations {
            let mut own =
                Condition::all().add(application::Column::OrganizationId.eq(*organization));
            if !self.funds.is_empty() {
                // What a managed fund's branch already lists is left out here.
                own = own.add(
                    Condition::any()
                        .add(application::Column::Status.eq(ApplicationStatus::Draft.as_str()))
                        .add(
                            application::Column::FundId.not_in_subquery(
                                Query::select()
                                    .column(entity::fund_manager::Column::FundId)
                                    .from(entity::fund_manager::Entity)
                                    .and_where(entity::fund_manager::Column::UserId.eq(self.user))
                                    .to_owned(),
                            ),
                        ),
                );
            }
            branches.push(own);
        }
        branches
    }
}

/// The viewer's memberships, managed funds and admin role, and the fund of the call listed if
/// any, in one statement.
async fn reach_of(db: &impl ConnectionTrait, user: Uuid, call: Option<Uuid>) -> AppResult<Reach> {
    #[derive(Debug, FromQueryResult)]
    struct Row {
        kind: String,
        target: Uuid,
    }
    let organizations = Query::select()
        .expr_as(Expr::val("ORGANIZATION"), Alias::new("kind"))
        .expr_as(
            Expr::col(organization_member::Column::OrganizationId),
            Alias::new("target"),
        )
        .from(organization_member::Entity)
        .and_where(organization_member::Column::UserId.eq(user))
        .to_owned();
    let funds = Query::select()
        .expr_as(Expr::val("FUND"), Alias::new("kind"))
        .expr_as(
            Expr::col(entity::fund_manager::Column::FundId),
            Alias::new("target"),
        )
        .from(entity::fund_manager::Entity)
        .and_where(entity::fund_manager::Column::UserId.eq(user))
        .to_owned();
    let admin = Query::select()
        .expr_as(Expr::val("ADMIN"), Alias::new("kind"))
        .expr_as(
            Expr::col(entity::user_role::Column::UserId),
            Alias::new("target"),
        )
        .from(entity::user_role::Entity)
        .and_where(entity::user_role::Column::UserId.eq(user))
        .and_where(entity::user_role::Column::Role.eq(GlobalRole::Admin.as_str()))
        .to_owned();
    let mut query = organizations;
    query
        .union(UnionType::All, funds)
        .union(UnionType::All, admin);
    if let Some(call) = call {
        query.union(
            UnionType::All,
            Query::select()
                .expr_as(Expr::val("CALL_FUND"), Alias::new("kind"))
                .expr_as(Expr::col(call::Column::FundId), Alias::new("target"))
                .from(call::Entity)
                .and_where(call::Column::Id.eq(call))
                .to_owned(),
        );
    }
    let rows = Row::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    let mut reach = Reach {
        user,
        ..Reach::default()
    };
    for row in rows {
        match row.kind.as_str() {
            "ORGANIZATION" => reach.organizations.push(row.target),
            "FUND" => reach.funds.push(row.target),
            "CALL_FUND" => reach.call_fund = Some(row.target),
            _ => reach.admin = true,
        }
    }
    Ok(reach)
}

/// What submission freezes: the content, the applicant, the partners, the budget lines and the
/// documents as they are at that moment. `submittedVersion` shows it; the seed writes the same.
pub fn submitted_version(
    app: &application::Model,
    currency: &str,
    org: &organization::Model,
    partners: &[partner::Model],
    partner_orgs: &[organization::Model],
    lines: &[budget_line::Model],
    attached: &[entity::application_document::Model],
) -> serde_json::Value {
    json!({
        "content": {
            "titleEn": app.title_en, "titleZh": app.title_zh,
            "summaryEn": app.summary_en, "summaryZh": app.summary_zh,
            "descriptionEn": app.description_en, "descriptionZh": app.description_zh,
            "hostCountries": split_delimited(&app.host_countries), "sdgGoals": split_delimited(&app.sdg_goals),
            "requestedMinor": app.requested_minor, "currency": currency,
            "durationMonths": app.duration_months, "plannedStart": app.planned_start,
        },
        "organization": { "id": org.id, "nameEn": org.name_en, "nameZh": org.name_zh, "type": org.org_type, "country": org.country, "registryIdentifier": org.registry_identifier, "registeredOn": org.registered_on, "category": category_of(org).as_str() },
        "partners": partners.iter().map(|p| {
            let o = partner_orgs.iter().find(|o| o.id == p.organization_id);
            json!({ "organizationId": p.organization_id, "nameEn": o.map(|o| o.name_en.clone()), "country": o.map(|o| o.country.clone()), "category": o.map(|o| category_of(o).as_str()), "budgetShareMinor": p.budget_share_minor })
        }).collect::<Vec<_>>(),
        "budgetLines": lines.iter().map(|l| json!({ "category": l.category, "description": l.description, "amountMinor": l.amount_minor })).collect::<Vec<_>>(),
        "documents": attached.iter().map(|d| json!({ "id": d.id, "kind": d.kind, "fileName": d.file_name, "contentType": d.content_type, "size": d.size_bytes, "sha256": d.sha256 })).collect::<Vec<_>>(),
    })
}

/// Most documents one application may carry.
pub const MAX_DOCUMENTS: u64 = 20;

/// An upload as it arrived, parsed at the edge.
#[derive(Debug)]
pub struct Upload {
    pub kind: String,
    pub file_name: String,
    pub content_type: String,
    pub content: bytes::Bytes,
}

/// Attaches a document to a draft. The content is checked against its declared type, hashed, and
/// stored before the row is written; if the row cannot be written the stored file is removed.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn upload_document(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    upload: Upload,
) -> AppResult<entity::application_document::Model> {
    use entity::application_document as document;
    use sha2::{Digest, Sha256};
    let user = viewer.user_id()?;
    let format = crate::domain::document::check_format(&upload.content_type, &upload.content)
        .map_err(|e| AppError::bad_input("file", e))?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let app = as_applicant(&txn, user, id).await?;
    if status_of(&app)? != ApplicationStatus::Draft {
        return Err(AppError::InvalidState(
            "documents are attached to drafts; what was submitted stays as it was".into(),
        ));
    }
    let count = document::Entity::find()
        .filter(document::Column::ApplicationId.eq(id))
        .count(&txn)
        .await?;
    if count >= MAX_DOCUMENTS {
        return Err(AppError::LimitExceeded(format!(
            "an application carries at most {MAX_DOCUMENTS} documents"
        )));
    }
    let sha256: String = Sha256::digest(&upload.content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = Uuid::now_v7().to_string();
    ctx.documents.put(&key, &upload.content).await?;
    let row = document::ActiveModel {
        id: Set(Uuid::now_v7()),
        application_id: Set(id),
        kind: Set(upload.kind),
        file_name: Set(upload.file_name),
        content_type: Set(format.content_type().to_owned()),
        size_bytes: Set(upload.content.len() as i64),
        sha256: Set(sha256),
        storage_key: Set(key.clone()),
        uploaded_by: Set(user),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let written = async {
        let row = row.insert(&txn).await?;
        audit::record(&txn, &ctx.clock, actor, "application.upload_document", AuditTarget { kind: "application", id: Some(id) }, None, Some(json!({ "documentId": row.id, "kind": row.kind, "fileName": row.file_name, "sha256": row.sha256, "size": row.size_bytes }))).await?;
        txn.commit().await?;
        Ok::<_, AppError>(row)
    }
    .await;
    if written.is_err()
        && let Err(error) = ctx.documents.delete(&key).await
    {
        tracing::warn!(
            error = format!("{error:#}"),
            "could not remove an orphaned document"
        );
    }
    written
}

/// Removes a document from a draft.
#[tracing::instrument(skip_all, fields(document_id = %document_id, viewer = ?viewer.optional_user_id()))]
pub async fn remove_document(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    document_id: Uuid,
) -> AppResult<()> {
    use entity::application_document as document;
    let user = viewer.user_id()?;
    let txn = ctx.begin_write().await?;
    let row = document::Entity::find_by_id(document_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("document"))?;
    let app = as_applicant(&txn, user, row.application_id)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound("document"),
            other => other,
        })?;
    if status_of(&app)? != ApplicationStatus::Draft {
        return Err(AppError::InvalidState(
            "documents of a submitted application stay".into(),
        ));
    }
    document::Entity::delete_by_id(document_id)
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "application.remove_document",
        AuditTarget {
            kind: "application",
            id: Some(app.id),
        },
        Some(json!({ "documentId": row.id, "kind": row.kind, "sha256": row.sha256 })),
        None,
    )
    .await?;
    txn.commit().await?;
    if let Err(error) = ctx.documents.delete(&row.storage_key).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "could not remove a deleted document's content"
        );
    }
    Ok(())
}

/// A document's metadata and content, for those who may see its application and for its
/// assigned reviewers.
pub async fn download_document(
    ctx: &AppContext,
    viewer: &Viewer,
    document_id: Uuid,
) -> AppResult<(entity::application_document::Model, Vec<u8>)> {
    let row = entity::application_document::Entity::find_by_id(document_id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound("document"))?;
    let user = viewer.user_id()?;
    let app = find(&ctx.db, row.application_id).await?;
    let mut row = row;
    if !may_see(&ctx.db, user, &app).await? {
        if !crate::service::review::is_assigned(&ctx.db, user, app.id).await? {
            return Err(AppError::NotFound("document"));
        }
        // File names often carry the applicant's name: a blind call's reviewers get a neutral one.
        if find_call(&ctx.db, app.call_id).await?.blind_review {
            row.file_name = crate::domain::document::neutral_file_name(&row.kind, &row.file_name);
        }
    }
    let content = ctx.documents.get(&row.storage_key).await?;
    Ok((row, content))
}

/// The documents of an application, oldest first.
pub async fn documents(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<Vec<entity::application_document::Model>> {
    Ok(entity::application_document::Entity::find()
        .filter(entity::application_document::Column::ApplicationId.eq(id))
        .order_by_asc(entity::application_document::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Reminds the members of organisations with a draft in an open call that closes within the
/// configured time, once per draft: the mark is set with a conditional update, so several
/// instances running this at once remind once, and the emails' de-duplication keys hold even if
/// two did.
#[tracing::instrument(skip_all)]
pub async fn send_draft_reminders(ctx: &AppContext) -> AppResult<usize> {
    let now = ctx.clock.now();
    let horizon = now + chrono::Duration::hours(ctx.config.draft_reminder_hours);
    let calls = call::Entity::find()
        .filter(call::Column::Status.eq(CallStatus::Open.as_str()))
        .filter(call::Column::ClosesAt.gt(now))
        .filter(call::Column::ClosesAt.lte(horizon))
        .all(&ctx.db)
        .await?;
    let mut reminded = 0;
    for call in calls {
        let drafts = application::Entity::find()
            .filter(application::Column::CallId.eq(call.id))
            .filter(application::Column::Status.eq(ApplicationStatus::Draft.as_str()))
            .filter(application::Column::ReminderSentAt.is_null())
            .all(&ctx.db)
            .await?;
        for app in drafts {
            let txn = ctx.begin_write().await?;
            let marked = application::Entity::update_many()
                .col_expr(application::Column::ReminderSentAt, Expr::value(now))
                .filter(application::Column::Id.eq(app.id))
                .filter(application::Column::ReminderSentAt.is_null())
                .filter(application::Column::Status.eq(ApplicationStatus::Draft.as_str()))
                .exec(&txn)
                .await?;
            if marked.rows_affected == 1 {
                let org = organization::Entity::find_by_id(app.organization_id)
                    .one(&txn)
                    .await?
                    .ok_or(AppError::NotFound("organization"))?;
                let members = members_of(&txn, org.id).await?;
                email_users(
                    ctx,
                    &txn,
                    EmailKind::DraftReminder,
                    &members,
                    &format!("draft_reminder:{}", app.id),
                    |user, zh| {
                        json!({
                            "name": user.name, "reference": app.reference,
                            "title": pick(zh, app.title_zh.as_deref(), app.title_en.as_deref()),
                            "call": pick(zh, call.title_zh.as_deref(), Some(&call.title_en)),
                            "organization": pick(zh, org.name_zh.as_deref(), Some(&org.name_en)),
                            "closes_at": call.closes_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                        })
                    },
                )
                .await?;
                reminded += 1;
            }
            txn.commit().await?;
        }
    }
    Ok(reminded)
}

/// The partnerships of an organisation, newest first: each application that names it, with the
/// terms asked of it and its answer, for the organisation's members (and admins) to read and
/// answer. Anyone else gets `NOT_FOUND` for the organisation.
pub async fn partnerships(
    ctx: &AppContext,
    viewer: &Viewer,
    organization_id: Uuid,
    statuses: &[PartnerStatus],
    page: &PageRequest,
) -> AppResult<Page<partner::Model>> {
    let user = viewer.user_id()?;
    if membership(&ctx.db, organization_id, user).await?.is_none()
        && !is_admin(&ctx.db, user).await?
    {
        return Err(AppError::NotFound("organization"));
    }
    let mut condition = Condition::all().add(partner::Column::OrganizationId.eq(organization_id));
    if !statuses.is_empty() {
        condition =
            condition.add(partner::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
    }
    let total = if page.count_total {
        partner::Entity::find()
            .filter(condition.clone())
            .count(&ctx.db)
            .await?
    } else {
        0
    };
    if let Some(after) = &page.after {
        condition = condition.add(pagination::after(
            partner::Column::CreatedAt,
            partner::Column::Id,
            after.time_key()?,
            after.id,
            Direction::Descending,
        ));
    }
    let rows = partner::Entity::find()
        .filter(condition)
        .order_by_desc(partner::Column::CreatedAt)
        .order_by_desc(partner::Column::Id)
        .limit(page.limit + 1)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|p| {
            (
                Cursor {
                    key: p.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
                    id: p.id,
                },
                p,
            )
        })
        .collect();
    Ok(Page::from_rows(rows, page, total))
}
