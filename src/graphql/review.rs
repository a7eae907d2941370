//! Reviews over GraphQL: assignment by managers, the reviewer's own assignments and reviews, and
//! the call's ranking. Reviewers reach an application only through `ReviewSubject`, which in a
//! blind call has no organisation, partners, members or file names: there is no path from a
//! reviewer's assignment to the applicant's identity.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::review_assignment as assignment;

use crate::domain::review::{
    AssignmentStatus as DomainStatus, CriterionScore, Recommendation as DomainRecommendation,
};
use crate::error::{AppError, AppResult};
use crate::graphql::application::{
    Application, ApplicationPartner, BudgetLine, call_of, currency_of, loaders, organization_by_id,
};
use crate::graphql::call::Call;
use crate::graphql::context::{parse_id, request};
use crate::graphql::identity::User;
use crate::graphql::organization::Organization;
use crate::graphql::pagination::{Conn, PageRequest, connection, wants_total};
use crate::graphql::types::{LocalizedText, MoneyOutput, money, optional_text};
use crate::service::call::split_delimited;
use crate::service::review::{self as service, ReviewInput as ParsedReview};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AssignmentStatus {
    /// Assigned; the review is not submitted yet (it may have a draft).
    Assigned,
    /// The review is submitted and final.
    Submitted,
    /// The reviewer declared a conflict of interest.
    Recused,
}

impl From<DomainStatus> for AssignmentStatus {
    fn from(status: DomainStatus) -> Self {
        match status {
            DomainStatus::Assigned => AssignmentStatus::Assigned,
            DomainStatus::Submitted => AssignmentStatus::Submitted,
            DomainStatus::Recused => AssignmentStatus::Recused,
        }
    }
}

impl From<AssignmentStatus> for DomainStatus {
    fn from(status: AssignmentStatus) -> Self {
        match status {
            AssignmentStatus::Assigned => DomainStatus::Assigned,
            AssignmentStatus::Submitted => DomainStatus::Submitted,
            AssignmentStatus::Recused => DomainStatus::Recused,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Recommendation {
    Fund,
    FundWithConditions,
    DoNotFund,
}

impl From<DomainRecommendation> for Recommendation {
    fn from(value: DomainRecommendation) -> Self {
        match value {
            DomainRecommendation::Fund => Recommendation::Fund,
            DomainRecommendation::FundWithConditions => Recommendation::FundWithConditions,
            DomainRecommendation::DoNotFund => Recommendation::DoNotFund,
        }
    }
}

impl From<Recommendation> for DomainRecommendation {
    fn from(value: Recommendation) -> Self {
        match value {
            Recommendation::Fund => DomainRecommendation::Fund,
            Recommendation::FundWithConditions => DomainRecommendation::FundWithConditions,
            Recommendation::DoNotFund => DomainRecommendation::DoNotFund,
        }
    }
}

/// A score in basis points of 100 as a number from 0 to 100 with two decimals.
pub fn score_of(basis_points: Option<i32>) -> Option<f64> {
    basis_points.map(|bp| f64::from(bp) / 100.0)
}

pub struct ReviewAssignment(pub assignment::Model);

#[Object]
impl ReviewAssignment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> AppResult<AssignmentStatus> {
        service::status_of(&self.0).map(Into::into)
    }
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }
    /// Not yet submitted and past its due date.
    async fn overdue(&self, ctx: &Context<'_>) -> AppResult<bool> {
        Ok(service::status_of(&self.0)? == DomainStatus::Assigned
            && self.0.due_at <= request(ctx).app.clock.now())
    }
    async fn assigned_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn reviewer(&self, ctx: &Context<'_>) -> AppResult<User> {
        loaders(ctx)
            .users
            .load_one(self.0.reviewer_id)
            .await?
            .map(User)
            .ok_or(AppError::NotFound("user"))
    }
    /// Why the reviewer recused themselves.
    async fn recusal_reason(&self) -> Option<&str> {
        self.0.recusal_reason.as_deref()
    }
    /// What the reviewer reads: the application, without the applicant's identity in a blind
    /// call. None once the reviewer recused themselves.
    async fn subject(&self, ctx: &Context<'_>) -> AppResult<Option<ReviewSubject>> {
        if service::status_of(&self.0)? == DomainStatus::Recused {
            return Ok(None);
        }
        let app =
            crate::graphql::application::application_by_id(ctx, self.0.application_id).await?;
        let call = call_of(ctx, &app).await?;
        Ok(Some(ReviewSubject {
            blind: call.blind_review,
            app,
        }))
    }
    /// The review, draft or submitted: for the reviewer, and for the fund's managers once
    /// submitted.
    async fn review(&self, ctx: &Context<'_>) -> AppResult<Option<Review>> {
        let viewer = request(ctx).viewer.optional_user_id();
        let submitted = service::status_of(&self.0)? == DomainStatus::Submitted;
        if viewer != Some(self.0.reviewer_id) && !submitted {
            return Ok(None);
        }
        Ok(Some(Review(self.0.clone())))
    }
}

pub struct Review(assignment::Model);

#[Object]
impl Review {
    async fn scores(&self) -> AppResult<Vec<CriterionScoreOutput>> {
        Ok(service::scores_of(&self.0)?
            .into_iter()
            .map(|s| CriterionScoreOutput {
                key: s.key,
                score: i32::try_from(s.score).unwrap_or(i32::MAX),
                justification: s.justification,
            })
            .collect())
    }
    async fn recommendation(&self) -> Option<Recommendation> {
        self.0
            .recommendation
            .as_deref()
            .and_then(|r| r.parse::<DomainRecommendation>().ok())
            .map(Into::into)
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// The weighted score normalised to 0–100, once submitted.
    async fn score(&self) -> Option<f64> {
        score_of(self.0.score_bp)
    }
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(SimpleObject)]
pub struct CriterionScoreOutput {
    pub key: String,
    pub score: i32,
    pub justification: String,
}

/// An application as its reviewers see it.
pub struct ReviewSubject {
    app: entity::application::Model,
    blind: bool,
}

#[Object]
impl ReviewSubject {
    async fn reference(&self) -> &str {
        &self.app.reference
    }
    /// Whether the applicant's identity is hidden.
    async fn blind(&self) -> bool {
        self.blind
    }
    async fn call(&self, ctx: &Context<'_>) -> AppResult<Call> {
        call_of(ctx, &self.app)
            .await
            .map(|call| Call(std::sync::Arc::unwrap_or_clone(call)))
    }
    /// The applicant; none in a blind call.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Option<Organization>> {
        if self.blind {
            return Ok(None);
        }
        organization_by_id(ctx, self.app.organization_id)
            .await
            .map(Some)
    }
    /// The partners; none in a blind call.
    async fn partners(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<ApplicationPartner>>> {
        if self.blind {
            return Ok(None);
        }
        let currency = currency_of(ctx, &self.app).await?;
        Ok(Some(
            loaders(ctx)
                .partners
                .load_one(self.app.id)
                .await?
                .unwrap_or_default()
                .into_iter()
                .map(|p| ApplicationPartner(p, currency))
                .collect(),
        ))
    }
    async fn title(&self) -> LocalizedText {
        LocalizedText {
            en: self.app.title_en.clone(),
            zh: self.app.title_zh.clone(),
        }
    }
    async fn summary(&self) -> LocalizedText {
        LocalizedText {
            en: self.app.summary_en.clone(),
            zh: self.app.summary_zh.clone(),
        }
    }
    async fn description(&self) -> LocalizedText {
        LocalizedText {
            en: self.app.description_en.clone(),
            zh: self.app.description_zh.clone(),
        }
    }
    async fn host_countries(&self) -> Vec<String> {
        split_delimited(&self.app.host_countries)
    }
    async fn sdg_goals(&self) -> Vec<i32> {
        split_delimited(&self.app.sdg_goals)
            .iter()
            .filter_map(|g| g.parse().ok())
            .collect()
    }
    async fn requested_amount(&self, ctx: &Context<'_>) -> AppResult<MoneyOutput> {
        money(self.app.requested_minor, currency_of(ctx, &self.app).await?)
    }
    async fn duration_months(&self) -> Option<i32> {
        self.app.duration_months
    }
    async fn planned_start(&self) -> Option<NaiveDate> {
        self.app.planned_start
    }
    async fn budget_lines(&self, ctx: &Context<'_>) -> AppResult<Vec<BudgetLine>> {
        let currency = currency_of(ctx, &self.app).await?;
        Ok(loaders(ctx)
            .budget_lines
            .load_one(self.app.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|l| BudgetLine(l, currency))
            .collect())
    }
    /// The documents; in a blind call without their file names.
    async fn documents(&self, ctx: &Context<'_>) -> AppResult<Vec<ReviewDocument>> {
        Ok(loaders(ctx)
            .documents
            .load_one(self.app.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|document| ReviewDocument {
                document,
                blind: self.blind,
            })
            .collect())
    }
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.app.submitted_at
    }
}

/// A document as reviewers see it.
pub struct ReviewDocument {
    document: entity::application_document::Model,
    blind: bool,
}

#[Object]
impl ReviewDocument {
    async fn id(&self) -> ID {
        ID(self.document.id.to_string())
    }
    async fn kind(&self) -> &str {
        &self.document.kind
    }
    /// None in a blind call: file names often carry the applicant's name.
    async fn file_name(&self) -> Option<&str> {
        (!self.blind).then_some(self.document.file_name.as_str())
    }
    async fn content_type(&self) -> &str {
        &self.document.content_type
    }
    async fn size(&self) -> i64 {
        self.document.size_bytes
    }
    async fn sha256(&self) -> &str {
        &self.document.sha256
    }
    /// `GET` this path with the bearer token to download the file.
    async fn download_path(&self) -> String {
        format!("/documents/{}", self.document.id)
    }
}

/// Recommendation counts of an application's submitted reviews.
#[derive(SimpleObject, Default)]
pub struct RecommendationCounts {
    pub fund: i32,
    pub fund_with_conditions: i32,
    pub do_not_fund: i32,
}

/// An application's place in its call's ranking.
pub struct RankedApplication(service::Ranked);

#[Object]
impl RankedApplication {
    /// 1 for the best score.
    async fn rank(&self) -> i32 {
        i32::try_from(self.0.rank).unwrap_or(i32::MAX)
    }
    async fn application(&self) -> Application {
        Application::shared(std::sync::Arc::clone(&self.0.application))
    }
    /// Mean of the submitted reviews' scores, 0–100; none before the first review.
    async fn score(&self) -> Option<f64> {
        score_of(self.0.application.score_bp)
    }
    /// Highest minus lowest submitted score, 0–100.
    async fn score_spread(&self) -> Option<f64> {
        score_of(self.0.application.score_spread_bp)
    }
    async fn review_count(&self) -> i32 {
        i32::try_from(self.0.summary.count).unwrap_or(i32::MAX)
    }
    /// Reviewers assigned and not recused, submitted or not.
    async fn assigned_count(&self) -> i32 {
        i32::try_from(self.0.active_assignments).unwrap_or(i32::MAX)
    }
    /// Reviewers disagree by more than the call's moderation threshold.
    async fn needs_moderation(&self) -> bool {
        self.0.needs_moderation
    }
    async fn recommendations(&self) -> RecommendationCounts {
        let count = |r: DomainRecommendation| {
            i32::try_from(self.0.recommendations.get(&r).copied().unwrap_or(0)).unwrap_or(i32::MAX)
        };
        RecommendationCounts {
            fund: count(DomainRecommendation::Fund),
            fund_with_conditions: count(DomainRecommendation::FundWithConditions),
            do_not_fund: count(DomainRecommendation::DoNotFund),
        }
    }
}

/// What an automatic assignment did.
#[derive(SimpleObject)]
pub struct AutoAssignmentResult {
    pub assignments: Vec<ReviewAssignment>,
    /// Applications that could not get enough reviewers without a conflict of interest.
    pub unfilled: Vec<UnfilledApplication>,
}

pub struct UnfilledApplication {
    application: uuid::Uuid,
    missing: u32,
}

#[Object]
impl UnfilledApplication {
    async fn application(&self, ctx: &Context<'_>) -> AppResult<Application> {
        crate::graphql::application::application_by_id(ctx, self.application)
            .await
            .map(Application::from)
    }
    /// How many more reviewers it needs.
    async fn missing(&self) -> i32 {
        i32::try_from(self.missing).unwrap_or(i32::MAX)
    }
}

#[derive(InputObject)]
pub struct CriterionScoreInput {
    pub key: String,
    pub score: i32,
    #[graphql(default)]
    pub justification: String,
}

#[derive(InputObject)]
pub struct ReviewInput {
    #[graphql(default)]
    pub scores: Vec<CriterionScoreInput>,
    pub recommendation: Option<Recommendation>,
    pub comment: Option<String>,
}

impl ReviewInput {
    fn parse(self) -> AppResult<ParsedReview> {
        let scores = self
            .scores
            .into_iter()
            .map(|s| {
                let score = u32::try_from(s.score).map_err(|_| {
                    AppError::bad_input(
                        format!("input.scores.{}", s.key),
                        "a score cannot be negative",
                    )
                })?;
                Ok(CriterionScore {
                    key: s.key,
                    score,
                    justification: s.justification.trim().to_owned(),
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok(ParsedReview {
            scores,
            recommendation: self.recommendation.map(Into::into),
            comment: optional_text(
                self.comment,
                "input.comment",
                crate::domain::review::MAX_COMMENT_CHARS,
            )?,
        })
    }
}

#[derive(Default)]
pub struct ReviewQuery;

#[Object]
impl ReviewQuery {
    /// The viewer's review assignments, soonest due first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn my_review_assignments(
        &self,
        ctx: &Context<'_>,
        statuses: Option<Vec<AssignmentStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<ReviewAssignment>> {
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let statuses: Vec<DomainStatus> = statuses
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let request = request(ctx);
        let rows = service::mine(request.app, &request.viewer, &statuses, &page).await?;
        Ok(connection(rows.map(ReviewAssignment), &page))
    }

    /// One assignment, for its reviewer or the fund's managers.
    async fn review_assignment(&self, ctx: &Context<'_>, id: ID) -> AppResult<ReviewAssignment> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::get(request.app, &request.viewer, id)
            .await
            .map(ReviewAssignment)
    }

    /// The call's applications by score, for its fund's managers: reviewed ones best first,
    /// with review counts, the spread between reviewers and the moderation flag. `first` keeps
    /// the top of the list.
    #[graphql(complexity = "first.unwrap_or(100).max(0) as usize * child_complexity")]
    async fn call_ranking(
        &self,
        ctx: &Context<'_>,
        call_id: ID,
        first: Option<i32>,
    ) -> AppResult<Vec<RankedApplication>> {
        let call_id = parse_id(&call_id, "callId")?;
        let keep = match first {
            Some(n) if n < 0 => {
                return Err(AppError::bad_input("first", "first cannot be negative"));
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let request = request(ctx);
        let ranked: Vec<service::Ranked> = service::ranking(request.app, &request.viewer, call_id)
            .await?
            .into_iter()
            .take(keep)
            .collect();
        let loaders = loaders(ctx);
        if ctx
            .look_ahead()
            .field("application")
            .field("organization")
            .exists()
        {
            crate::graphql::loaders::prefetch(
                &loaders.organizations,
                ranked.iter().map(|r| r.application.organization_id),
            )
            .await?;
        }
        Ok(ranked.into_iter().map(RankedApplication).collect())
    }
}

#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Assigns a reviewer from the fund's pool (managers). Refused for a reviewer with a conflict
    /// of interest. The reviewer is emailed.
    async fn assign_reviewer(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
        reviewer_id: ID,
        due_at: DateTime<Utc>,
    ) -> AppResult<ReviewAssignment> {
        let application_id = parse_id(&application_id, "applicationId")?;
        let reviewer_id = parse_id(&reviewer_id, "reviewerId")?;
        let request = request(ctx);
        service::assign(
            request.app,
            &request.viewer,
            &request.actor(),
            application_id,
            reviewer_id,
            due_at,
        )
        .await
        .map(ReviewAssignment)
    }

    /// Removes an assignment whose review was not submitted (managers).
    async fn unassign_reviewer(&self, ctx: &Context<'_>, assignment_id: ID) -> AppResult<bool> {
        let id = parse_id(&assignment_id, "assignmentId")?;
        let request = request(ctx);
        service::unassign(request.app, &request.viewer, &request.actor(), id).await?;
        Ok(true)
    }

    /// Gives every application of the call awaiting review the call's number of reviewers,
    /// balanced across the pool, never a conflicted one (managers).
    async fn auto_assign_reviewers(
        &self,
        ctx: &Context<'_>,
        call_id: ID,
        due_at: DateTime<Utc>,
    ) -> AppResult<AutoAssignmentResult> {
        let call_id = parse_id(&call_id, "callId")?;
        let request = request(ctx);
        let result = service::auto_assign(
            request.app,
            &request.viewer,
            &request.actor(),
            call_id,
            due_at,
        )
        .await?;
        Ok(AutoAssignmentResult {
            assignments: result.created.into_iter().map(ReviewAssignment).collect(),
            unfilled: result
                .unfilled
                .into_iter()
                .map(|(application, missing)| UnfilledApplication {
                    application,
                    missing,
                })
                .collect(),
        })
    }

    /// The reviewer recuses themselves; the fund's managers are told to reassign.
    async fn declare_conflict_of_interest(
        &self,
        ctx: &Context<'_>,
        assignment_id: ID,
        reason: String,
    ) -> AppResult<ReviewAssignment> {
        let id = parse_id(&assignment_id, "assignmentId")?;
        let reason = optional_text(Some(reason), "reason", 2_000)?
            .ok_or_else(|| AppError::bad_input("reason", "say what the conflict is"))?;
        let request = request(ctx);
        service::declare_conflict(request.app, &request.viewer, &request.actor(), id, reason)
            .await
            .map(ReviewAssignment)
    }

    /// Saves a draft review; it may be partial.
    async fn save_review(
        &self,
        ctx: &Context<'_>,
        assignment_id: ID,
        input: ReviewInput,
    ) -> AppResult<ReviewAssignment> {
        let id = parse_id(&assignment_id, "assignmentId")?;
        let input = input.parse()?;
        let request = request(ctx);
        service::save_draft(request.app, &request.viewer, &request.actor(), id, input)
            .await
            .map(ReviewAssignment)
    }

    /// Submits the review: every criterion scored within its range with a justification, and a
    /// recommendation. A submitted review cannot change.
    async fn submit_review(
        &self,
        ctx: &Context<'_>,
        assignment_id: ID,
        input: ReviewInput,
    ) -> AppResult<ReviewAssignment> {
        let id = parse_id(&assignment_id, "assignmentId")?;
        let input = input.parse()?;
        let request = request(ctx);
        service::submit(request.app, &request.viewer, &request.actor(), id, input)
            .await
            .map(ReviewAssignment)
    }
}
