//! Applications over GraphQL: drafting, partners, submission, withdrawal and listing, each
//! application telling its viewer what they may do next.

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, Upload};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{application, application_budget_line, application_partner};

use crate::domain::application::{
    ApplicationStatus as DomainStatus, PartnerStatus as DomainPartnerStatus,
};
use crate::domain::country::CountryCode;
use crate::domain::money::Currency;
use crate::error::{AppError, AppResult};
use crate::graphql::call::{Call, EligibilityReport};
use crate::graphql::context::{parse_id, request};
use crate::graphql::decision::Decision;
use crate::graphql::grant::Grant;
use crate::graphql::loaders::{Loaders, prefetch as prefetch_now};
use crate::graphql::organization::{ApplicantCategory, Organization};
use crate::graphql::pagination::{Conn, PageRequest, connection, wants_total};
use crate::graphql::review::{ReviewAssignment, score_of};
use crate::graphql::types::{
    LocalizedText, MoneyInput, MoneyOutput, money, optional_text, parse_countries, parse_sdg,
    parse_sdgs,
};
use crate::service::application::{
    self as service, ApplicationChanges, ApplicationFilter, ApplicationSort,
};
use crate::service::call::split_delimited;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApplicationStatus {
    Draft,
    Submitted,
    UnderReview,
    Approved,
    Rejected,
    Waitlisted,
    Withdrawn,
}

impl From<DomainStatus> for ApplicationStatus {
    fn from(status: DomainStatus) -> Self {
        match status {
            DomainStatus::Draft => ApplicationStatus::Draft,
            DomainStatus::Submitted => ApplicationStatus::Submitted,
            DomainStatus::UnderReview => ApplicationStatus::UnderReview,
            DomainStatus::Approved => ApplicationStatus::Approved,
            DomainStatus::Rejected => ApplicationStatus::Rejected,
            DomainStatus::Waitlisted => ApplicationStatus::Waitlisted,
            DomainStatus::Withdrawn => ApplicationStatus::Withdrawn,
        }
    }
}

impl From<ApplicationStatus> for DomainStatus {
    fn from(status: ApplicationStatus) -> Self {
        match status {
            ApplicationStatus::Draft => DomainStatus::Draft,
            ApplicationStatus::Submitted => DomainStatus::Submitted,
            ApplicationStatus::UnderReview => DomainStatus::UnderReview,
            ApplicationStatus::Approved => DomainStatus::Approved,
            ApplicationStatus::Rejected => DomainStatus::Rejected,
            ApplicationStatus::Waitlisted => DomainStatus::Waitlisted,
            ApplicationStatus::Withdrawn => DomainStatus::Withdrawn,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PartnershipStatus {
    Pending,
    Accepted,
    Declined,
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<std::sync::Arc<Loaders>>()
}

pub(crate) async fn call_of(
    ctx: &Context<'_>,
    app: &application::Model,
) -> AppResult<std::sync::Arc<entity::call::Model>> {
    loaders(ctx)
        .calls
        .load_one(app.call_id)
        .await?
        .ok_or(AppError::NotFound("call"))
}

pub(crate) async fn currency_of(
    ctx: &Context<'_>,
    app: &application::Model,
) -> AppResult<Currency> {
    let call = call_of(ctx, app).await?;
    let fund = loaders(ctx)
        .funds
        .load_one(call.fund_id)
        .await?
        .ok_or(AppError::NotFound("fund"))?;
    Currency::parse(&fund.currency).map_err(AppError::internal)
}

pub(crate) async fn organization_by_id(
    ctx: &Context<'_>,
    id: uuid::Uuid,
) -> AppResult<Organization> {
    loaders(ctx)
        .organizations
        .load_one(id)
        .await?
        .map(Organization)
        .ok_or(AppError::NotFound("organization"))
}

/// An application by id, through the request's cache. Callers have checked that the viewer may
/// see it.
pub(crate) async fn application_by_id(
    ctx: &Context<'_>,
    id: uuid::Uuid,
) -> AppResult<application::Model> {
    loaders(ctx)
        .applications
        .load_one(id)
        .await?
        .map(std::sync::Arc::unwrap_or_clone)
        .ok_or(AppError::NotFound("application"))
}

/// Whether the viewer manages the fund: managers see scores, reviews, whole decisions and money.
pub(crate) async fn viewer_manages_fund(ctx: &Context<'_>, fund_id: uuid::Uuid) -> AppResult<bool> {
    let Some(user) = request(ctx).viewer.optional_user_id() else {
        return Ok(false);
    };
    Ok(loaders(ctx)
        .managed_funds
        .load_one(user)
        .await?
        .unwrap_or_default()
        .contains(&fund_id))
}

/// Whether the viewer belongs to the organisation.
pub(crate) async fn viewer_belongs_to(
    ctx: &Context<'_>,
    organization_id: uuid::Uuid,
) -> AppResult<bool> {
    let Some(user) = request(ctx).viewer.optional_user_id() else {
        return Ok(false);
    };
    Ok(loaders(ctx)
        .memberships
        .load_one(user)
        .await?
        .unwrap_or_default()
        .contains(&organization_id))
}

/// Whether the viewer manages the application's fund.
pub(crate) async fn viewer_manages(ctx: &Context<'_>, app: &application::Model) -> AppResult<bool> {
    let call = call_of(ctx, app).await?;
    viewer_manages_fund(ctx, call.fund_id).await
}

/// Loads what the selected nested fields of a page of applications read, one statement per
/// relation, into the request's loaders: the page then costs the same statements at any size,
/// and nothing that was not asked for.
async fn prefetch(
    ctx: &Context<'_>,
    node: async_graphql::Lookahead<'_>,
    apps: &[&application::Model],
) -> AppResult<()> {
    let wants = |fields: &[&str]| fields.iter().any(|f| node.field(f).exists());
    let loaders = loaders(ctx);
    let ids: Vec<uuid::Uuid> = apps.iter().map(|a| a.id).collect();
    let mut organizations: Vec<uuid::Uuid> = Vec::new();
    if wants(&["organization"]) {
        organizations.extend(apps.iter().map(|a| a.organization_id));
    }
    if wants(&["partners"]) {
        let partners = prefetch_now(&loaders.partners, ids.iter().copied()).await?;
        if node.field("partners").field("organization").exists() {
            organizations.extend(partners.values().flatten().map(|p| p.organization_id));
        }
    }
    if !organizations.is_empty() {
        prefetch_now(&loaders.organizations, organizations).await?;
    }
    if wants(&["budgetLines"]) {
        prefetch_now(&loaders.budget_lines, ids.iter().copied()).await?;
    }
    if wants(&["documents"]) {
        prefetch_now(&loaders.documents, ids.iter().copied()).await?;
    }
    let by_manager = [
        "score",
        "scoreSpread",
        "reviewCount",
        "needsModeration",
        "reviewAssignments",
        "decision",
        "grant",
    ];
    let by_member = [
        "viewerCanEdit",
        "viewerCanSubmit",
        "viewerCanWithdraw",
        "grant",
    ];
    let in_currency = ["requestedAmount", "partners", "budgetLines", "decision"];
    let needs_call =
        wants(&["call"]) || wants(&by_manager) || wants(&by_member) || wants(&in_currency);
    if needs_call {
        let calls = prefetch_now(&loaders.calls, apps.iter().map(|a| a.call_id)).await?;
        if wants(&in_currency) || node.field("call").field("fund").exists() {
            prefetch_now(&loaders.funds, calls.values().map(|c| c.fund_id)).await?;
        }
    }
    if wants(&["reviewAssignments"]) {
        prefetch_now(&loaders.assignments, ids.iter().copied()).await?;
    }
    if wants(&["decision"]) {
        prefetch_now(&loaders.decisions, ids.iter().copied()).await?;
    }
    if wants(&["grant"]) {
        prefetch_now(&loaders.grants, ids.iter().copied()).await?;
    }
    if let Some(user) = request(ctx).viewer.optional_user_id() {
        if wants(&by_member) {
            loaders.memberships.load_one(user).await?;
        }
        if wants(&by_manager) {
            loaders.managed_funds.load_one(user).await?;
        }
    }
    Ok(())
}

/// What the viewer may do next: members of the applicant act on it while the call allows.
async fn permissions(
    ctx: &Context<'_>,
    app: &application::Model,
) -> AppResult<service::Permissions> {
    let request = request(ctx);
    let Some(user) = request.viewer.optional_user_id() else {
        return Ok(service::Permissions::default());
    };
    let orgs = loaders(ctx)
        .memberships
        .load_one(user)
        .await?
        .unwrap_or_default();
    if !orgs.contains(&app.organization_id) {
        return Ok(service::Permissions::default());
    }
    let call = call_of(ctx, app).await?;
    service::permissions_for(service::status_of(app)?, &call, request.app.clock.now())
}

/// Shared (with the ranking, and the request's loaders) rather than copied per field.
pub struct Application(pub std::sync::Arc<application::Model>, ViewerManages);

/// Whether the viewer manages the application's fund, worked out once per application: several
/// of its fields are for managers only.
#[derive(Default)]
pub struct ViewerManages(tokio::sync::OnceCell<bool>);

impl From<application::Model> for Application {
    fn from(model: application::Model) -> Self {
        Application::shared(std::sync::Arc::new(model))
    }
}

impl Application {
    pub fn shared(model: std::sync::Arc<application::Model>) -> Self {
        Application(model, ViewerManages::default())
    }

    async fn manages(&self, ctx: &Context<'_>) -> AppResult<bool> {
        self.1
            .0
            .get_or_try_init(|| viewer_manages(ctx, &self.0))
            .await
            .copied()
    }

    /// `value` for the fund's managers, none for everyone else.
    async fn manager_only<T>(&self, ctx: &Context<'_>, value: T) -> AppResult<Option<T>> {
        Ok(self.manages(ctx).await?.then_some(value))
    }
}

#[Object]
impl Application {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Human-readable reference, such as `BF-2027-0042`.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// The call (never a draft: applications exist only in calls that opened).
    async fn call(&self, ctx: &Context<'_>) -> AppResult<Call> {
        call_of(ctx, &self.0)
            .await
            .map(|call| Call(std::sync::Arc::unwrap_or_clone(call)))
    }
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        organization_by_id(ctx, self.0.organization_id).await
    }
    async fn applicant_category(&self) -> Option<ApplicantCategory> {
        self.0
            .applicant_category
            .parse::<crate::domain::organization::ApplicantCategory>()
            .ok()
            .map(Into::into)
    }
    async fn title(&self) -> LocalizedText {
        LocalizedText {
            en: self.0.title_en.clone(),
            zh: self.0.title_zh.clone(),
        }
    }
    async fn summary(&self) -> LocalizedText {
        LocalizedText {
            en: self.0.summary_en.clone(),
            zh: self.0.summary_zh.clone(),
        }
    }
    async fn description(&self) -> LocalizedText {
        LocalizedText {
            en: self.0.description_en.clone(),
            zh: self.0.description_zh.clone(),
        }
    }
    async fn host_countries(&self) -> Vec<String> {
        split_delimited(&self.0.host_countries)
    }
    async fn sdg_goals(&self) -> Vec<i32> {
        split_delimited(&self.0.sdg_goals)
            .iter()
            .filter_map(|g| g.parse().ok())
            .collect()
    }
    async fn requested_amount(&self, ctx: &Context<'_>) -> AppResult<MoneyOutput> {
        money(self.0.requested_minor, currency_of(ctx, &self.0).await?)
    }
    async fn duration_months(&self) -> Option<i32> {
        self.0.duration_months
    }
    async fn planned_start(&self) -> Option<NaiveDate> {
        self.0.planned_start
    }
    async fn status(&self) -> AppResult<ApplicationStatus> {
        service::status_of(&self.0).map(Into::into)
    }
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }
    /// Exactly what was submitted (content, organisation, partners, budget lines, documents),
    /// whatever changed afterwards; none for a draft.
    async fn submitted_version(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Option<Json<serde_json::Value>>> {
        Ok(loaders(ctx)
            .snapshots
            .load_one(self.0.id)
            .await?
            .and_then(|row| row.snapshot.clone())
            .map(Json))
    }
    async fn partners(&self, ctx: &Context<'_>) -> AppResult<Vec<ApplicationPartner>> {
        let currency = currency_of(ctx, &self.0).await?;
        Ok(loaders(ctx)
            .partners
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|p| ApplicationPartner(p, currency))
            .collect())
    }
    async fn budget_lines(&self, ctx: &Context<'_>) -> AppResult<Vec<BudgetLine>> {
        let currency = currency_of(ctx, &self.0).await?;
        Ok(loaders(ctx)
            .budget_lines
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|l| BudgetLine(l, currency))
            .collect())
    }
    /// Attached documents; download each from `downloadPath` with the same bearer token.
    async fn documents(&self, ctx: &Context<'_>) -> AppResult<Vec<ApplicationDocument>> {
        Ok(loaders(ctx)
            .documents
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(ApplicationDocument)
            .collect())
    }
    /// Raised by every save of the draft; send it as `baseVersion` with a change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The draft checked exactly as submission would check it now: every eligibility rule
    /// against what the draft says, and what else stops it (partners' answers, the budget, the
    /// award bounds, the call's deadline). None once the application is no longer a draft.
    /// It reads the draft's facts afresh (about ten statements), so it is meant for one
    /// application at a time; its complexity keeps it out of long pages.
    #[graphql(complexity = 200)]
    async fn eligibility(&self, ctx: &Context<'_>) -> AppResult<Option<EligibilityReport>> {
        let request = request(ctx);
        Ok(
            service::draft_check(request.app, &request.viewer, self.0.id)
                .await?
                .map(EligibilityReport::of_draft),
        )
    }
    async fn viewer_can_edit(&self, ctx: &Context<'_>) -> AppResult<bool> {
        Ok(permissions(ctx, &self.0).await?.can_edit)
    }
    async fn viewer_can_submit(&self, ctx: &Context<'_>) -> AppResult<bool> {
        Ok(permissions(ctx, &self.0).await?.can_submit)
    }
    async fn viewer_can_withdraw(&self, ctx: &Context<'_>) -> AppResult<bool> {
        Ok(permissions(ctx, &self.0).await?.can_withdraw)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Mean of the submitted reviews' weighted scores, 0–100; for the fund's managers only.
    async fn score(&self, ctx: &Context<'_>) -> AppResult<Option<f64>> {
        Ok(self
            .manager_only(ctx, score_of(self.0.score_bp))
            .await?
            .flatten())
    }
    /// Highest minus lowest submitted score, 0–100; for the fund's managers only.
    async fn score_spread(&self, ctx: &Context<'_>) -> AppResult<Option<f64>> {
        Ok(self
            .manager_only(ctx, score_of(self.0.score_spread_bp))
            .await?
            .flatten())
    }
    /// Submitted reviews; for the fund's managers only.
    async fn review_count(&self, ctx: &Context<'_>) -> AppResult<Option<i32>> {
        self.manager_only(ctx, self.0.review_count).await
    }
    /// Reviewers disagree by more than the call's threshold; for the fund's managers only.
    async fn needs_moderation(&self, ctx: &Context<'_>) -> AppResult<Option<bool>> {
        let call = call_of(ctx, &self.0).await?;
        let standing = crate::service::review::standing(&self.0);
        let flag = crate::domain::review::needs_moderation(
            standing.spread_bp,
            u32::try_from(call.moderation_threshold_bp).ok(),
        );
        self.manager_only(ctx, flag).await
    }
    /// Reviewer assignments with their submitted reviews; for the fund's managers only.
    async fn review_assignments(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Option<Vec<ReviewAssignment>>> {
        if !self.manages(ctx).await? {
            return Ok(None);
        }
        Ok(Some(
            loaders(ctx)
                .assignments
                .load_one(self.0.id)
                .await?
                .unwrap_or_default()
                .into_iter()
                .map(ReviewAssignment)
                .collect(),
        ))
    }
    /// The latest decision. The applicant reads the rationale only when the managers shared it.
    async fn decision(&self, ctx: &Context<'_>) -> AppResult<Option<Decision>> {
        let Some(decision) = loaders(ctx).decisions.load_one(self.0.id).await?.flatten() else {
            return Ok(None);
        };
        Ok(Some(Decision {
            decision,
            currency: currency_of(ctx, &self.0).await?,
            full: self.manages(ctx).await?,
        }))
    }
    /// The grant an approval created; for the applicant's members and the fund's managers.
    async fn grant(&self, ctx: &Context<'_>) -> AppResult<Option<Grant>> {
        if !viewer_belongs_to(ctx, self.0.organization_id).await? && !self.manages(ctx).await? {
            return Ok(None);
        }
        Ok(loaders(ctx)
            .grants
            .load_one(self.0.id)
            .await?
            .flatten()
            .map(Grant))
    }
}

pub struct ApplicationPartner(pub(crate) application_partner::Model, pub(crate) Currency);

#[Object]
impl ApplicationPartner {
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        organization_by_id(ctx, self.0.organization_id).await
    }
    async fn budget_share(&self) -> AppResult<MoneyOutput> {
        money(self.0.budget_share_minor, self.1)
    }
    async fn status(&self) -> AppResult<PartnershipStatus> {
        partnership_status(&self.0)
    }
}

/// A stored partner answer; an unknown value is a fault, never a default.
fn partnership_status(row: &application_partner::Model) -> AppResult<PartnershipStatus> {
    match row.status.parse::<DomainPartnerStatus>() {
        Ok(DomainPartnerStatus::Pending) => Ok(PartnershipStatus::Pending),
        Ok(DomainPartnerStatus::Accepted) => Ok(PartnershipStatus::Accepted),
        Ok(DomainPartnerStatus::Declined) => Ok(PartnershipStatus::Declined),
        Err(e) => Err(AppError::internal(anyhow::anyhow!("{e}"))),
    }
}

pub struct ApplicationDocument(pub entity::application_document::Model);

#[Object]
impl ApplicationDocument {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    /// Size in bytes.
    async fn size(&self) -> i64 {
        self.0.size_bytes
    }
    /// Hex SHA-256 of the content.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// `GET` this path on the API server, with the bearer token, to download the file.
    async fn download_path(&self) -> String {
        format!("/documents/{}", self.0.id)
    }
    async fn uploaded_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct BudgetLine(
    pub(crate) application_budget_line::Model,
    pub(crate) Currency,
);

#[Object]
impl BudgetLine {
    async fn category(&self) -> &str {
        &self.0.category
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn amount(&self) -> AppResult<MoneyOutput> {
        money(self.0.amount_minor, self.1)
    }
}

#[derive(InputObject)]
pub struct PartnerInput {
    pub organization_id: ID,
    pub budget_share: MoneyInput,
}

#[derive(InputObject)]
pub struct BudgetLineInput {
    pub category: String,
    pub description: Option<String>,
    pub amount: MoneyInput,
}

/// A draft's content. Creating a draft needs `requestedAmount`; a change sends only what changes:
/// a field left out stays as it is, and `null` clears an optional text or number (an empty list
/// clears a list).
#[derive(InputObject)]
pub struct ApplicationInput {
    pub title_en: MaybeUndefined<String>,
    pub title_zh: MaybeUndefined<String>,
    pub summary_en: MaybeUndefined<String>,
    pub summary_zh: MaybeUndefined<String>,
    pub description_en: MaybeUndefined<String>,
    pub description_zh: MaybeUndefined<String>,
    pub host_countries: Option<Vec<String>>,
    pub sdg_goals: Option<Vec<i32>>,
    pub requested_amount: Option<MoneyInput>,
    pub duration_months: MaybeUndefined<i32>,
    pub planned_start: MaybeUndefined<NaiveDate>,
    /// Every partner, with its share: a partner whose share is unchanged keeps its answer; a
    /// new partner, or one with a new share, is asked (again) and its members are emailed.
    pub partners: Option<Vec<PartnerInput>>,
    pub budget_lines: Option<Vec<BudgetLineInput>>,
}

/// `Some(value)` for a sent field (`Some(None)` for an explicit `null`), `None` when left out.
fn sent<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

fn text(
    value: MaybeUndefined<String>,
    field: &str,
    max: usize,
) -> AppResult<Option<Option<String>>> {
    sent(value)
        .map(|text| optional_text(text, field, max))
        .transpose()
}

impl ApplicationInput {
    fn parse(self) -> AppResult<ApplicationChanges> {
        let duration_months = sent(self.duration_months);
        if duration_months
            .flatten()
            .is_some_and(|m| !(1..=120).contains(&m))
        {
            return Err(AppError::bad_input(
                "input.durationMonths",
                "between 1 and 120 months",
            ));
        }
        Ok(ApplicationChanges {
            title_en: text(self.title_en, "input.titleEn", 300)?,
            title_zh: text(self.title_zh, "input.titleZh", 300)?,
            summary_en: text(self.summary_en, "input.summaryEn", 2_000)?,
            summary_zh: text(self.summary_zh, "input.summaryZh", 2_000)?,
            description_en: text(self.description_en, "input.descriptionEn", 50_000)?,
            description_zh: text(self.description_zh, "input.descriptionZh", 50_000)?,
            host_countries: self
                .host_countries
                .map(|codes| parse_countries(&codes, "input.hostCountries"))
                .transpose()?,
            sdg_goals: self
                .sdg_goals
                .map(|goals| parse_sdgs(&goals, "input.sdgGoals"))
                .transpose()?,
            requested: self
                .requested_amount
                .map(|amount| amount.parse("input.requestedAmount"))
                .transpose()?,
            duration_months,
            planned_start: sent(self.planned_start),
            partners: self
                .partners
                .map(|partners| {
                    partners
                        .into_iter()
                        .enumerate()
                        .map(|(i, p)| {
                            Ok((
                                parse_id(
                                    &p.organization_id,
                                    &format!("input.partners.{i}.organizationId"),
                                )?,
                                p.budget_share
                                    .parse(&format!("input.partners.{i}.budgetShare"))?,
                            ))
                        })
                        .collect::<AppResult<_>>()
                })
                .transpose()?,
            budget_lines: self
                .budget_lines
                .map(|lines| {
                    lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, l)| {
                            let category = optional_text(
                                Some(l.category),
                                &format!("input.budgetLines.{i}.category"),
                                100,
                            )?
                            .ok_or_else(|| {
                                AppError::bad_input(
                                    format!("input.budgetLines.{i}.category"),
                                    "give the line a category",
                                )
                            })?;
                            Ok((
                                category,
                                optional_text(
                                    l.description,
                                    &format!("input.budgetLines.{i}.description"),
                                    500,
                                )?,
                                l.amount.parse(&format!("input.budgetLines.{i}.amount"))?,
                            ))
                        })
                        .collect::<AppResult<_>>()
                })
                .transpose()?,
        })
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ApplicationOrder {
    /// Newest first.
    #[default]
    Newest,
    /// Earliest submission first (submitted applications only).
    Submitted,
    /// Largest request first.
    RequestedAmount,
}

#[derive(InputObject, Default)]
pub struct ApplicationFilterInput {
    pub call_id: Option<ID>,
    pub statuses: Option<Vec<ApplicationStatus>>,
    pub host_country: Option<String>,
    pub applicant_category: Option<ApplicantCategory>,
    pub sdg_goal: Option<i32>,
}

/// An application that names the organisation as a partner, as the partner's members see it.
pub struct Partnership(application_partner::Model);

#[Object]
impl Partnership {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The application, as its partners see it; answer with `respondToPartnership`.
    async fn application(&self, ctx: &Context<'_>) -> AppResult<Application> {
        loaders(ctx)
            .applications
            .load_one(self.0.application_id)
            .await?
            .map(Application::shared)
            .ok_or(AppError::NotFound("application"))
    }
    /// The partner organisation named.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        organization_by_id(ctx, self.0.organization_id).await
    }
    /// The applicant, which leads the project.
    async fn lead(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        let app = application_by_id(ctx, self.0.application_id).await?;
        organization_by_id(ctx, app.organization_id).await
    }
    /// The share of the budget asked of the partner.
    async fn budget_share(&self, ctx: &Context<'_>) -> AppResult<MoneyOutput> {
        let app = application_by_id(ctx, self.0.application_id).await?;
        money(self.0.budget_share_minor, currency_of(ctx, &app).await?)
    }
    async fn status(&self) -> AppResult<PartnershipStatus> {
        partnership_status(&self.0)
    }
    /// When the partner was named, or last asked again with new terms.
    async fn asked_at(&self) -> DateTime<Utc> {
        self.0.updated_at.max(self.0.created_at)
    }
    async fn responded_at(&self) -> Option<DateTime<Utc>> {
        self.0.responded_at
    }
}

#[derive(Default)]
pub struct ApplicationQuery;

#[Object]
impl ApplicationQuery {
    /// An application the viewer may see.
    async fn application(&self, ctx: &Context<'_>, id: ID) -> AppResult<Application> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::get(request.app, &request.viewer, id)
            .await
            .map(Application::from)
    }

    /// The applications that name an organisation the viewer belongs to as a partner, newest
    /// first, with what is asked of it and its answer.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn partnerships(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        statuses: Option<Vec<PartnershipStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Partnership>> {
        let organization_id = parse_id(&organization_id, "organizationId")?;
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let statuses: Vec<DomainPartnerStatus> = statuses
            .unwrap_or_default()
            .into_iter()
            .map(|status| match status {
                PartnershipStatus::Pending => DomainPartnerStatus::Pending,
                PartnershipStatus::Accepted => DomainPartnerStatus::Accepted,
                PartnershipStatus::Declined => DomainPartnerStatus::Declined,
            })
            .collect();
        let request = request(ctx);
        let rows = service::partnerships(
            request.app,
            &request.viewer,
            organization_id,
            &statuses,
            &page,
        )
        .await?;
        Ok(connection(rows.map(Partnership), &page))
    }

    /// Applications the viewer may see: their organisations', and the submitted ones of the
    /// funds they manage.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn applications(
        &self,
        ctx: &Context<'_>,
        filter: Option<ApplicationFilterInput>,
        order: Option<ApplicationOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Application>> {
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let filter = filter.unwrap_or_default();
        let parsed = ApplicationFilter {
            call_id: filter
                .call_id
                .map(|id| parse_id(&id, "filter.callId"))
                .transpose()?,
            statuses: filter
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            host_country: filter
                .host_country
                .map(|c| {
                    CountryCode::parse(&c).map_err(|e| AppError::bad_input("filter.hostCountry", e))
                })
                .transpose()?,
            applicant_category: filter.applicant_category.map(Into::into),
            sdg: filter
                .sdg_goal
                .map(|g| parse_sdg(g, "filter.sdgGoal"))
                .transpose()?,
            sort: match order.unwrap_or_default() {
                ApplicationOrder::Newest => ApplicationSort::Created,
                ApplicationOrder::Submitted => ApplicationSort::Submitted,
                ApplicationOrder::RequestedAmount => ApplicationSort::RequestedAmount,
            },
        };
        let request = request(ctx);
        let service::Listing { page: rows, reach } =
            service::list(request.app, &request.viewer, &parsed, &page).await?;
        let loaders = loaders(ctx);
        let user = request.viewer.user_id()?;
        loaders.managed_funds.feed_one(user, reach.funds).await;
        loaders
            .memberships
            .feed_one(user, reach.organizations)
            .await;
        let apps: Vec<&application::Model> = rows.items.iter().map(|(_, app)| app).collect();
        prefetch(ctx, ctx.look_ahead().field("edges").field("node"), &apps).await?;
        Ok(connection(rows.map(Application::from), &page))
    }
}

#[derive(Default)]
pub struct ApplicationMutation;

#[Object]
impl ApplicationMutation {
    /// Starts a draft for an organisation the viewer belongs to, in an open call.
    async fn create_application(
        &self,
        ctx: &Context<'_>,
        call_id: ID,
        organization_id: ID,
        input: ApplicationInput,
    ) -> AppResult<Application> {
        let call_id = parse_id(&call_id, "callId")?;
        let organization_id = parse_id(&organization_id, "organizationId")?;
        let changes = input.parse()?;
        let request = request(ctx);
        service::create(
            request.app,
            &request.viewer,
            &request.actor(),
            call_id,
            organization_id,
            changes,
        )
        .await
        .map(Application::from)
    }

    /// Changes a draft while the call is open: only the fields sent change. With `baseVersion`
    /// (the `version` the change was made on), a draft saved by someone else meanwhile is not
    /// overwritten: the save is refused with `CONFLICT`.
    async fn update_application(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ApplicationInput,
        base_version: Option<i32>,
    ) -> AppResult<Application> {
        let id = parse_id(&id, "id")?;
        let changes = input.parse()?;
        let request = request(ctx);
        service::update(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            changes,
            base_version,
        )
        .await
        .map(Application::from)
    }

    /// An owner of a partner organisation accepts or declines the partnership.
    async fn respond_to_partnership(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
        organization_id: ID,
        accept: bool,
    ) -> AppResult<Application> {
        let id = parse_id(&application_id, "applicationId")?;
        let organization_id = parse_id(&organization_id, "organizationId")?;
        let request = request(ctx);
        service::respond_to_partnership(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            organization_id,
            accept,
        )
        .await
        .map(Application::from)
    }

    /// Submits a draft: refused with `INELIGIBLE` and the failed rules, or after the closing time.
    async fn submit_application(&self, ctx: &Context<'_>, id: ID) -> AppResult<Application> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::submit(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(Application::from)
    }

    /// Attaches a document to a draft (GraphQL multipart request): PDF, PNG, JPEG or
    /// Office/OpenDocument, checked by content, within the upload limit.
    async fn upload_document(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
        kind: String,
        file: Upload,
    ) -> AppResult<ApplicationDocument> {
        let id = parse_id(&application_id, "applicationId")?;
        let kind = crate::domain::document::parse_kind(&kind)
            .map_err(|e| AppError::bad_input("kind", e))?;
        let value = file
            .value(ctx)
            .map_err(|_| AppError::bad_input("file", "the file did not arrive"))?;
        let upload = service::Upload {
            kind,
            file_name: crate::domain::document::clean_file_name(&value.filename),
            content_type: value.content_type.unwrap_or_default(),
            content: value.content,
        };
        let request = request(ctx);
        service::upload_document(request.app, &request.viewer, &request.actor(), id, upload)
            .await
            .map(ApplicationDocument)
    }

    /// Removes a document from a draft.
    async fn remove_document(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::remove_document(request.app, &request.viewer, &request.actor(), id).await?;
        Ok(true)
    }

    /// Withdraws a draft or a submitted application.
    async fn withdraw_application(&self, ctx: &Context<'_>, id: ID) -> AppResult<Application> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::withdraw(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(Application::from)
    }
}
