//! Calls for proposals over GraphQL: managers create and run them, anyone browses open ones, and
//! organisations check their eligibility before they write.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::call;

use crate::domain::call::{
    AwardBounds, CallSchedule, CallStatus as DomainStatus, Criterion, Rubric,
};
use crate::domain::country::CountryCode;
use crate::domain::eligibility::{Outcome, RuleKind, RuleResult};
use crate::domain::money::Currency;
use crate::domain::submission::{Blocker, BlockerKind, Refusal};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::graphql::context::{parse_id, request};
use crate::graphql::fund::Fund;
use crate::graphql::organization::ApplicantCategory;
use crate::graphql::pagination::{Conn, PageRequest, connection, wants_total};
use crate::graphql::types::{
    LocalizedText, MoneyInput, MoneyOutput, money, optional_text, parse_countries, parse_sdg,
    parse_sdgs,
};
use crate::service::call::{self as service, CallFilter, CallSettings, split_delimited};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CallStatus {
    Draft,
    Open,
    Closed,
    Decided,
    Archived,
}

impl From<DomainStatus> for CallStatus {
    fn from(status: DomainStatus) -> Self {
        match status {
            DomainStatus::Draft => CallStatus::Draft,
            DomainStatus::Open => CallStatus::Open,
            DomainStatus::Closed => CallStatus::Closed,
            DomainStatus::Decided => CallStatus::Decided,
            DomainStatus::Archived => CallStatus::Archived,
        }
    }
}

impl From<CallStatus> for DomainStatus {
    fn from(status: CallStatus) -> Self {
        match status {
            CallStatus::Draft => DomainStatus::Draft,
            CallStatus::Open => DomainStatus::Open,
            CallStatus::Closed => DomainStatus::Closed,
            CallStatus::Decided => DomainStatus::Decided,
            CallStatus::Archived => DomainStatus::Archived,
        }
    }
}

/// One criterion of the review rubric.
#[derive(SimpleObject)]
pub struct RubricCriterion {
    pub key: String,
    pub name: LocalizedText,
    pub description: Option<String>,
    pub weight: i32,
    pub max_score: i32,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum EligibilityRuleKind {
    NgoOnly,
    ApplicantCategoryIn,
    HostCountryIn,
    MinYearsRegistered,
    HostCountryPartnerRequired,
    RequestedAmountInRange,
    RequiredDocument,
    MaxOpenApplicationsPerOrganization,
}

/// An eligibility rule of a call; the fields its kind uses are set.
pub struct EligibilityRule {
    rule: RuleKind,
    currency: Currency,
}

#[Object]
impl EligibilityRule {
    async fn kind(&self) -> EligibilityRuleKind {
        match &self.rule {
            RuleKind::NgoOnly => EligibilityRuleKind::NgoOnly,
            RuleKind::ApplicantCategoryIn { .. } => EligibilityRuleKind::ApplicantCategoryIn,
            RuleKind::HostCountryIn { .. } => EligibilityRuleKind::HostCountryIn,
            RuleKind::MinYearsRegistered { .. } => EligibilityRuleKind::MinYearsRegistered,
            RuleKind::HostCountryPartnerRequired => EligibilityRuleKind::HostCountryPartnerRequired,
            RuleKind::RequestedAmountInRange { .. } => EligibilityRuleKind::RequestedAmountInRange,
            RuleKind::RequiredDocument { .. } => EligibilityRuleKind::RequiredDocument,
            RuleKind::MaxOpenApplicationsPerOrganization { .. } => {
                EligibilityRuleKind::MaxOpenApplicationsPerOrganization
            }
        }
    }
    async fn categories(&self) -> Option<Vec<ApplicantCategory>> {
        match &self.rule {
            RuleKind::ApplicantCategoryIn { categories } => {
                Some(categories.iter().map(|c| (*c).into()).collect())
            }
            _ => None,
        }
    }
    async fn countries(&self) -> Option<Vec<String>> {
        match &self.rule {
            RuleKind::HostCountryIn { countries } => {
                Some(countries.iter().map(|c| c.as_str().to_owned()).collect())
            }
            _ => None,
        }
    }
    async fn years(&self) -> Option<i32> {
        match &self.rule {
            RuleKind::MinYearsRegistered { years } => Some(*years as i32),
            _ => None,
        }
    }
    async fn min_amount(&self) -> AppResult<Option<MoneyOutput>> {
        match &self.rule {
            RuleKind::RequestedAmountInRange { min_minor, .. } => {
                money(*min_minor, self.currency).map(Some)
            }
            _ => Ok(None),
        }
    }
    async fn max_amount(&self) -> AppResult<Option<MoneyOutput>> {
        match &self.rule {
            RuleKind::RequestedAmountInRange { max_minor, .. } => {
                money(*max_minor, self.currency).map(Some)
            }
            _ => Ok(None),
        }
    }
    async fn document_kind(&self) -> Option<&str> {
        match &self.rule {
            RuleKind::RequiredDocument { document_kind } => Some(document_kind),
            _ => None,
        }
    }
    async fn max_applications(&self) -> Option<i32> {
        match &self.rule {
            RuleKind::MaxOpenApplicationsPerOrganization { max } => Some(*max as i32),
            _ => None,
        }
    }
}

pub struct Call(pub call::Model);

async fn fund_of(
    ctx: &Context<'_>,
    call: &call::Model,
) -> AppResult<std::sync::Arc<entity::fund::Model>> {
    ctx.data_unchecked::<std::sync::Arc<crate::graphql::loaders::Loaders>>()
        .funds
        .load_one(call.fund_id)
        .await?
        .ok_or(AppError::NotFound("fund"))
}

async fn fund_currency(ctx: &Context<'_>, call: &call::Model) -> AppResult<Currency> {
    Currency::parse(&fund_of(ctx, call).await?.currency).map_err(AppError::internal)
}

#[Object]
impl Call {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn fund(&self, ctx: &Context<'_>) -> AppResult<Fund> {
        fund_of(ctx, &self.0)
            .await
            .map(|fund| Fund(std::sync::Arc::unwrap_or_clone(fund)))
    }
    async fn title(&self) -> LocalizedText {
        LocalizedText {
            en: Some(self.0.title_en.clone()),
            zh: self.0.title_zh.clone(),
        }
    }
    async fn description(&self) -> LocalizedText {
        LocalizedText {
            en: self.0.description_en.clone(),
            zh: self.0.description_zh.clone(),
        }
    }
    async fn status(&self) -> AppResult<CallStatus> {
        service::status_of(&self.0).map(Into::into)
    }
    /// A manager asked for the call to open; it opens at `opensAt`.
    async fn published(&self) -> bool {
        self.0.published
    }
    async fn opens_at(&self) -> DateTime<Utc> {
        self.0.opens_at
    }
    async fn closes_at(&self) -> DateTime<Utc> {
        self.0.closes_at
    }
    /// Whether applications can be submitted now: the call is open and its closing time has not
    /// passed.
    async fn accepting_submissions(&self, ctx: &Context<'_>) -> AppResult<bool> {
        let now = request(ctx).app.clock.now();
        Ok(service::status_of(&self.0)? == DomainStatus::Open
            && self.0.opens_at <= now
            && now < self.0.closes_at)
    }
    async fn budget(&self, ctx: &Context<'_>) -> AppResult<MoneyOutput> {
        money(self.0.budget_minor, fund_currency(ctx, &self.0).await?)
    }
    async fn min_award(&self, ctx: &Context<'_>) -> AppResult<MoneyOutput> {
        money(self.0.min_award_minor, fund_currency(ctx, &self.0).await?)
    }
    async fn max_award(&self, ctx: &Context<'_>) -> AppResult<MoneyOutput> {
        money(self.0.max_award_minor, fund_currency(ctx, &self.0).await?)
    }
    /// ISO 3166-1 alpha-2 codes of the eligible host countries.
    async fn host_countries(&self) -> Vec<String> {
        split_delimited(&self.0.host_countries)
    }
    /// UN Sustainable Development Goals, 1 to 17.
    async fn sdg_goals(&self) -> Vec<i32> {
        split_delimited(&self.0.sdg_goals)
            .iter()
            .filter_map(|g| g.parse().ok())
            .collect()
    }
    /// The document kinds an application must attach: the call's `REQUIRED_DOCUMENT` rules,
    /// in order (the one place they are kept, so the two can never disagree).
    async fn required_documents(&self) -> AppResult<Vec<String>> {
        Ok(service::rules_of(&self.0)?
            .required_documents()
            .into_iter()
            .map(str::to_owned)
            .collect())
    }
    /// The review rubric; none until the managers give one (a call opens only with one).
    async fn rubric(&self) -> AppResult<Option<Vec<RubricCriterion>>> {
        Ok(service::rubric_of(&self.0)?.map(|rubric| {
            rubric
                .criteria()
                .iter()
                .map(|c| RubricCriterion {
                    key: c.key.clone(),
                    name: LocalizedText {
                        en: Some(c.name_en.clone()),
                        zh: c.name_zh.clone(),
                    },
                    description: c.description.clone(),
                    weight: c.weight as i32,
                    max_score: c.max_score as i32,
                })
                .collect()
        }))
    }
    async fn eligibility_rules(&self, ctx: &Context<'_>) -> AppResult<Vec<EligibilityRule>> {
        let currency = fund_currency(ctx, &self.0).await?;
        Ok(service::rules_of(&self.0)?
            .rules()
            .iter()
            .map(|rule| EligibilityRule {
                rule: rule.clone(),
                currency,
            })
            .collect())
    }
    async fn reviewers_per_application(&self) -> i32 {
        self.0.reviewers_per_application
    }
    async fn blind_review(&self) -> bool {
        self.0.blind_review
    }
    /// Scores of one application further apart than this (points of 0-100) flag it for
    /// moderation.
    async fn moderation_threshold(&self) -> f64 {
        f64::from(self.0.moderation_threshold_bp) / 100.0
    }
}

#[derive(InputObject)]
pub struct CriterionInput {
    pub key: String,
    pub name_en: String,
    pub name_zh: Option<String>,
    pub description: Option<String>,
    pub weight: i32,
    pub max_score: i32,
}

#[derive(InputObject)]
pub struct CallInput {
    pub title_en: String,
    pub title_zh: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// In the fund's currency.
    pub budget: MoneyInput,
    pub min_award: MoneyInput,
    pub max_award: MoneyInput,
    #[graphql(default)]
    pub host_countries: Vec<String>,
    #[graphql(default)]
    pub sdg_goals: Vec<i32>,
    /// The document kinds an application must attach. When given (on a draft), the call's
    /// `REQUIRED_DOCUMENT` eligibility rules become exactly these; when left out they stay.
    pub required_documents: Option<Vec<String>>,
    pub rubric: Option<Vec<CriterionInput>>,
    #[graphql(default = 3)]
    pub reviewers_per_application: i32,
    #[graphql(default)]
    pub blind_review: bool,
    /// Points of 0-100.
    #[graphql(default = 20)]
    pub moderation_threshold: i32,
}

impl CallInput {
    fn parse(self) -> AppResult<CallSettings> {
        let schedule = CallSchedule::new(self.opens_at, self.closes_at)
            .map_err(|e| AppError::bad_input("input.closesAt", e))?;
        let budget = self.budget.parse("input.budget")?;
        let min = self.min_award.parse("input.minAward")?;
        let max = self.max_award.parse("input.maxAward")?;
        if min.currency() != budget.currency() || max.currency() != budget.currency() {
            return Err(AppError::bad_input(
                "input.maxAward.currency",
                "awards are in the budget's currency",
            ));
        }
        let awards = AwardBounds::new(min.minor(), max.minor())
            .map_err(|e| AppError::bad_input("input.minAward.amount", e))?;
        let host_countries = parse_countries(&self.host_countries, "input.hostCountries")?;
        let sdg_goals = parse_sdgs(&self.sdg_goals, "input.sdgGoals")?;
        let required_documents = self
            .required_documents
            .map(|kinds| {
                kinds
                    .iter()
                    .enumerate()
                    .map(|(i, kind)| {
                        crate::domain::document::parse_kind(kind).map_err(|e| {
                            AppError::bad_input(format!("input.requiredDocuments.{i}"), e)
                        })
                    })
                    .collect::<AppResult<Vec<_>>>()
            })
            .transpose()?;
        let rubric = self
            .rubric
            .map(|criteria| {
                let criteria = criteria
                    .into_iter()
                    .map(|c| Criterion {
                        key: c.key,
                        name_en: c.name_en,
                        name_zh: c.name_zh,
                        description: c.description,
                        weight: u32::try_from(c.weight).unwrap_or(0),
                        max_score: u32::try_from(c.max_score).unwrap_or(0),
                    })
                    .collect();
                Rubric::new(criteria).map_err(|e| AppError::bad_input("input.rubric", e))
            })
            .transpose()?;
        if !(1..=10).contains(&self.reviewers_per_application) {
            return Err(AppError::bad_input(
                "input.reviewersPerApplication",
                "between 1 and 10 reviewers",
            ));
        }
        if !(0..=100).contains(&self.moderation_threshold) {
            return Err(AppError::bad_input(
                "input.moderationThreshold",
                "between 0 and 100 points",
            ));
        }
        Ok(CallSettings {
            title_en: optional_text(Some(self.title_en), "input.titleEn", 300)?
                .ok_or_else(|| AppError::bad_input("input.titleEn", "the title cannot be empty"))?,
            title_zh: optional_text(self.title_zh, "input.titleZh", 300)?,
            description_en: optional_text(self.description_en, "input.descriptionEn", 20_000)?,
            description_zh: optional_text(self.description_zh, "input.descriptionZh", 20_000)?,
            schedule,
            budget,
            awards,
            host_countries,
            sdg_goals,
            required_documents,
            rubric,
            reviewers_per_application: self.reviewers_per_application,
            blind_review: self.blind_review,
            moderation_threshold_bp: self.moderation_threshold * 100,
        })
    }
}

#[derive(InputObject)]
pub struct EligibilityRuleInput {
    pub kind: EligibilityRuleKind,
    pub categories: Option<Vec<ApplicantCategory>>,
    pub countries: Option<Vec<String>>,
    pub years: Option<i32>,
    /// In the fund's currency.
    pub min_amount: Option<MoneyInput>,
    pub max_amount: Option<MoneyInput>,
    pub document_kind: Option<String>,
    pub max_applications: Option<i32>,
}

impl EligibilityRuleInput {
    fn parse(self) -> AppResult<RuleKind> {
        let missing = |field: &str| {
            AppError::bad_input(
                format!("rule.{field}"),
                format!("this kind of rule needs {field}"),
            )
        };
        Ok(match self.kind {
            EligibilityRuleKind::NgoOnly => RuleKind::NgoOnly,
            EligibilityRuleKind::ApplicantCategoryIn => RuleKind::ApplicantCategoryIn {
                categories: self
                    .categories
                    .ok_or_else(|| missing("categories"))?
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            },
            EligibilityRuleKind::HostCountryIn => RuleKind::HostCountryIn {
                countries: self
                    .countries
                    .ok_or_else(|| missing("countries"))?
                    .iter()
                    .map(|c| {
                        CountryCode::parse(c).map_err(|e| AppError::bad_input("rule.countries", e))
                    })
                    .collect::<AppResult<_>>()?,
            },
            EligibilityRuleKind::MinYearsRegistered => RuleKind::MinYearsRegistered {
                years: u32::try_from(self.years.ok_or_else(|| missing("years"))?)
                    .map_err(|_| AppError::bad_input("rule.years", "years cannot be negative"))?,
            },
            EligibilityRuleKind::HostCountryPartnerRequired => RuleKind::HostCountryPartnerRequired,
            EligibilityRuleKind::RequestedAmountInRange => RuleKind::RequestedAmountInRange {
                min_minor: self
                    .min_amount
                    .ok_or_else(|| missing("minAmount"))?
                    .parse("rule.minAmount")?
                    .minor(),
                max_minor: self
                    .max_amount
                    .ok_or_else(|| missing("maxAmount"))?
                    .parse("rule.maxAmount")?
                    .minor(),
            },
            EligibilityRuleKind::RequiredDocument => RuleKind::RequiredDocument {
                // Uploads name their kind the same way, so the rule and the documents match.
                document_kind: crate::domain::document::parse_kind(
                    &self.document_kind.ok_or_else(|| missing("documentKind"))?,
                )
                .map_err(|e| AppError::bad_input("rule.documentKind", e))?,
            },
            EligibilityRuleKind::MaxOpenApplicationsPerOrganization => {
                RuleKind::MaxOpenApplicationsPerOrganization {
                    max: u32::try_from(
                        self.max_applications
                            .ok_or_else(|| missing("maxApplications"))?,
                    )
                    .map_err(|_| {
                        AppError::bad_input("rule.maxApplications", "cannot be negative")
                    })?,
                }
            }
        })
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum EligibilityOutcome {
    Pass,
    Fail,
    /// Depends on what the application will say (host countries, amount, documents).
    Pending,
}

pub struct EligibilityResult {
    result: RuleResult,
    currency: Currency,
}

#[Object]
impl EligibilityResult {
    async fn rule(&self) -> EligibilityRule {
        EligibilityRule {
            rule: self.result.rule.clone(),
            currency: self.currency,
        }
    }
    async fn outcome(&self) -> EligibilityOutcome {
        match self.result.outcome {
            Outcome::Pass => EligibilityOutcome::Pass,
            Outcome::Fail => EligibilityOutcome::Fail,
            Outcome::Pending => EligibilityOutcome::Pending,
        }
    }
    /// Why, in English and Chinese.
    async fn reason(&self) -> LocalizedText {
        LocalizedText {
            en: Some(self.result.reason_en.clone()),
            zh: Some(self.result.reason_zh.clone()),
        }
    }
}

/// An organisation's eligibility for a call, or a draft's check before submission: every rule
/// and its outcome, and for a draft what else stops its submission.
pub struct EligibilityReport {
    results: Vec<RuleResult>,
    currency: Currency,
    /// For a draft; `None` before an application exists.
    blockers: Option<Vec<Blocker>>,
}

impl EligibilityReport {
    pub(crate) fn of_draft(check: crate::service::application::DraftCheck) -> Self {
        EligibilityReport {
            results: check.results,
            currency: check.currency,
            blockers: Some(check.blockers),
        }
    }
}

/// What stops a draft from being submitted besides the eligibility rules.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SubmissionBlockerKind {
    /// The call is not open, or its closing time has passed.
    CallNotAccepting,
    /// A partner has not answered yet.
    PartnerNotAnswered,
    /// A partner declined: remove it, or name it again with new terms.
    PartnerDeclined,
    /// The budget lines do not add up to the request, or the partners' shares exceed it.
    BudgetDoesNotAddUp,
    TitleMissing,
    /// The request is outside the call's `minAward` to `maxAward`.
    AmountOutsideAwardBounds,
}

impl From<BlockerKind> for SubmissionBlockerKind {
    fn from(kind: BlockerKind) -> Self {
        match kind {
            BlockerKind::CallNotAccepting => SubmissionBlockerKind::CallNotAccepting,
            BlockerKind::PartnerNotAnswered => SubmissionBlockerKind::PartnerNotAnswered,
            BlockerKind::PartnerDeclined => SubmissionBlockerKind::PartnerDeclined,
            BlockerKind::BudgetDoesNotAddUp => SubmissionBlockerKind::BudgetDoesNotAddUp,
            BlockerKind::TitleMissing => SubmissionBlockerKind::TitleMissing,
            BlockerKind::AmountOutsideAwardBounds => {
                SubmissionBlockerKind::AmountOutsideAwardBounds
            }
        }
    }
}

/// One thing that stops a draft from being submitted.
pub struct SubmissionBlocker(Blocker);

#[Object]
impl SubmissionBlocker {
    async fn kind(&self) -> SubmissionBlockerKind {
        self.0.kind.into()
    }
    /// The `extensions.code` a submission now is refused with: `INVALID_STATE` (something must
    /// happen first) or `BAD_USER_INPUT` (the draft must change).
    async fn code(&self) -> &'static str {
        match self.0.refusal {
            Refusal::State => ErrorCode::InvalidState.as_str(),
            Refusal::Input(_) => ErrorCode::BadUserInput.as_str(),
        }
    }
    /// The field to change, as in the refusal's `extensions.field`.
    async fn field(&self) -> Option<&'static str> {
        match self.0.refusal {
            Refusal::State => None,
            Refusal::Input(field) => Some(field),
        }
    }
    /// Why, in English and Chinese.
    async fn reason(&self) -> LocalizedText {
        LocalizedText {
            en: Some(self.0.reason_en.clone()),
            zh: Some(self.0.reason_zh.clone()),
        }
    }
}

#[Object]
impl EligibilityReport {
    /// No rule fails. Before an application exists, rules about it are pending and do not
    /// count; for a draft, a pending rule (a partner that has not answered) is not yet met.
    async fn eligible(&self) -> bool {
        match self.blockers {
            None => self.results.iter().all(|r| r.outcome != Outcome::Fail),
            Some(_) => self.results.iter().all(|r| r.outcome == Outcome::Pass),
        }
    }
    async fn results(&self) -> Vec<EligibilityResult> {
        self.results
            .iter()
            .map(|r| EligibilityResult {
                result: r.clone(),
                currency: self.currency,
            })
            .collect()
    }
    /// For a draft: what else stops its submission, in the order submission refuses them (the
    /// first is what submitting now answers). Empty before an application exists.
    async fn blockers(&self) -> Vec<SubmissionBlocker> {
        self.blockers
            .iter()
            .flatten()
            .cloned()
            .map(SubmissionBlocker)
            .collect()
    }
    /// Whether submitting the draft now succeeds: every rule passes and nothing blocks it.
    /// Always false before an application exists.
    async fn ready_to_submit(&self) -> bool {
        self.blockers.as_ref().is_some_and(|blockers| {
            blockers.is_empty() && self.results.iter().all(|r| r.outcome == Outcome::Pass)
        })
    }
}

#[derive(InputObject, Default)]
pub struct CallFilterInput {
    pub fund_id: Option<ID>,
    pub statuses: Option<Vec<CallStatus>>,
    pub host_country: Option<String>,
    pub sdg_goal: Option<i32>,
    pub applicant_category: Option<ApplicantCategory>,
    pub closes_after: Option<DateTime<Utc>>,
    pub closes_before: Option<DateTime<Utc>>,
}

impl CallFilterInput {
    fn parse(self) -> AppResult<CallFilter> {
        Ok(CallFilter {
            fund_id: self
                .fund_id
                .map(|id| parse_id(&id, "filter.fundId"))
                .transpose()?,
            statuses: self
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            host_country: self
                .host_country
                .map(|c| {
                    CountryCode::parse(&c).map_err(|e| AppError::bad_input("filter.hostCountry", e))
                })
                .transpose()?,
            sdg: self
                .sdg_goal
                .map(|g| parse_sdg(g, "filter.sdgGoal"))
                .transpose()?,
            applicant_category: self.applicant_category.map(Into::into),
            closes_after: self.closes_after,
            closes_before: self.closes_before,
        })
    }
}

#[derive(Default)]
pub struct CallQuery;

#[Object]
impl CallQuery {
    /// A call: open and later calls are public, drafts only for the fund's managers.
    async fn call(&self, ctx: &Context<'_>, id: ID) -> AppResult<Call> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::get(request.app, &request.viewer, id)
            .await
            .map(Call)
    }

    /// Calls by closing time. Without signing in: open calls.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        filter: Option<CallFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Call>> {
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let filter = filter.unwrap_or_default().parse()?;
        let request = request(ctx);
        let rows = service::list(request.app, &request.viewer, &filter, &page).await?;
        Ok(connection(rows.map(Call), &page))
    }

    /// Whether an organisation the viewer belongs to is eligible for a call, rule by rule.
    async fn eligibility(
        &self,
        ctx: &Context<'_>,
        call_id: ID,
        organization_id: ID,
    ) -> AppResult<EligibilityReport> {
        let call_id = parse_id(&call_id, "callId")?;
        let organization_id = parse_id(&organization_id, "organizationId")?;
        let request = request(ctx);
        let results =
            service::eligibility(request.app, &request.viewer, call_id, organization_id).await?;
        let call = service::get(request.app, &request.viewer, call_id).await?;
        let currency = fund_currency(ctx, &call).await?;
        Ok(EligibilityReport {
            results,
            currency,
            blockers: None,
        })
    }
}

#[derive(Default)]
pub struct CallMutation;

#[Object]
impl CallMutation {
    /// Creates a draft call; its budget is allocated from the fund (the fund's managers).
    async fn create_call(
        &self,
        ctx: &Context<'_>,
        fund_id: ID,
        input: CallInput,
    ) -> AppResult<Call> {
        let fund_id = parse_id(&fund_id, "fundId")?;
        let settings = input.parse()?;
        let request = request(ctx);
        service::create(
            request.app,
            &request.viewer,
            &request.actor(),
            fund_id,
            settings,
        )
        .await
        .map(Call)
    }

    /// Changes a draft; while open, only a later closing time is accepted.
    async fn update_call(&self, ctx: &Context<'_>, id: ID, input: CallInput) -> AppResult<Call> {
        let id = parse_id(&id, "id")?;
        let settings = input.parse()?;
        let request = request(ctx);
        service::update(request.app, &request.viewer, &request.actor(), id, settings)
            .await
            .map(Call)
    }

    /// Opens a draft now, or at its opening time if that is later.
    async fn open_call(&self, ctx: &Context<'_>, id: ID) -> AppResult<Call> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::open(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(Call)
    }

    /// Closes an open call (managers). Before its announced closing time the call closes early:
    /// its closing time becomes now, and the members of organisations with a draft in the call are
    /// emailed that it can no longer be submitted.
    async fn close_call(&self, ctx: &Context<'_>, id: ID) -> AppResult<Call> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::close(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(Call)
    }

    /// Archives a decided call, or abandons a draft (its budget returns to the fund).
    async fn archive_call(&self, ctx: &Context<'_>, id: ID) -> AppResult<Call> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::archive(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(Call)
    }

    /// Adds an eligibility rule to a draft call.
    async fn add_eligibility_rule(
        &self,
        ctx: &Context<'_>,
        call_id: ID,
        rule: EligibilityRuleInput,
    ) -> AppResult<Call> {
        let id = parse_id(&call_id, "callId")?;
        let rule = rule.parse()?;
        let request = request(ctx);
        service::change_rules(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            |rules| rules.add(rule).map_err(|e| AppError::bad_input("rule", e)),
        )
        .await
        .map(Call)
    }

    /// Removes the rule at `index` (0-based) from a draft call; NGO_ONLY cannot be removed.
    async fn remove_eligibility_rule(
        &self,
        ctx: &Context<'_>,
        call_id: ID,
        index: i32,
    ) -> AppResult<Call> {
        let id = parse_id(&call_id, "callId")?;
        let index = usize::try_from(index)
            .map_err(|_| AppError::bad_input("index", "not a rule of this call"))?;
        let request = request(ctx);
        service::change_rules(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            |rules| {
                rules
                    .remove(index)
                    .map(|_| ())
                    .map_err(|e| AppError::bad_input("index", e))
            },
        )
        .await
        .map(Call)
    }
}
