//! Decisions and grants over GraphQL: managers decide (on reviews once the call has closed, or at
//! the desk without review), applicants read the decision as the managers chose to share it, and
//! an approval's grant is visible with its application.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::application_decision;

use crate::domain::decision::{
    DecisionOutcome as DomainOutcome, DeskRejectionReason as DomainReason, MAX_DECISION_TEXT_CHARS,
};
use crate::domain::money::Currency;
use crate::error::{AppError, AppResult};
use crate::graphql::application::{Application, loaders};
use crate::graphql::call::Call;
use crate::graphql::context::{parse_id, request};
use crate::graphql::errors::note_replay;
use crate::graphql::identity::User;
use crate::graphql::types::{MoneyInput, MoneyOutput, money, optional_text};
use crate::service::decision::{
    self as service, DecisionInput as ParsedDecision, DeskRejectionInput as ParsedDeskRejection,
};
use crate::service::idempotency::IdempotencyKey;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DecisionOutcome {
    Approve,
    Reject,
    Waitlist,
}

impl From<DecisionOutcome> for DomainOutcome {
    fn from(outcome: DecisionOutcome) -> Self {
        match outcome {
            DecisionOutcome::Approve => DomainOutcome::Approve,
            DecisionOutcome::Reject => DomainOutcome::Reject,
            DecisionOutcome::Waitlist => DomainOutcome::Waitlist,
        }
    }
}

impl From<DomainOutcome> for DecisionOutcome {
    fn from(outcome: DomainOutcome) -> Self {
        match outcome {
            DomainOutcome::Approve => DecisionOutcome::Approve,
            DomainOutcome::Reject => DecisionOutcome::Reject,
            DomainOutcome::Waitlist => DecisionOutcome::Waitlist,
        }
    }
}

/// Why a manager rejected a submitted application at the desk, without review.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeskRejectionReason {
    /// Outside what the call funds.
    OutOfScope,
    /// Repeats another application.
    Duplicate,
    /// Lacks what a review would need.
    Incomplete,
    /// Another reason, given in the rationale.
    Other,
}

impl From<DeskRejectionReason> for DomainReason {
    fn from(reason: DeskRejectionReason) -> Self {
        match reason {
            DeskRejectionReason::OutOfScope => DomainReason::OutOfScope,
            DeskRejectionReason::Duplicate => DomainReason::Duplicate,
            DeskRejectionReason::Incomplete => DomainReason::Incomplete,
            DeskRejectionReason::Other => DomainReason::Other,
        }
    }
}

impl From<DomainReason> for DeskRejectionReason {
    fn from(reason: DomainReason) -> Self {
        match reason {
            DomainReason::OutOfScope => DeskRejectionReason::OutOfScope,
            DomainReason::Duplicate => DeskRejectionReason::Duplicate,
            DomainReason::Incomplete => DeskRejectionReason::Incomplete,
            DomainReason::Other => DeskRejectionReason::Other,
        }
    }
}

/// A decision on an application. `full` is for the fund's managers; others see the rationale
/// only when it was shared, and never who decided.
pub struct Decision {
    pub decision: application_decision::Model,
    pub currency: Currency,
    pub full: bool,
}

#[Object]
impl Decision {
    async fn outcome(&self) -> AppResult<DecisionOutcome> {
        self.decision
            .outcome
            .parse::<DomainOutcome>()
            .map(Into::into)
            .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
    }
    /// The award, for an approval.
    async fn amount(&self) -> AppResult<Option<MoneyOutput>> {
        self.decision
            .amount_minor
            .map(|minor| money(minor, self.currency))
            .transpose()
    }
    async fn conditions(&self) -> Option<&str> {
        self.decision.conditions.as_deref()
    }
    /// The managers' reasons, when shared with the applicant (always for managers).
    async fn rationale(&self) -> Option<&str> {
        if self.full || self.decision.rationale_shared {
            self.decision.rationale.as_deref()
        } else {
            None
        }
    }
    /// Whether the applicant may read the rationale.
    async fn rationale_shared(&self) -> bool {
        self.decision.rationale_shared
    }
    /// Why the application was rejected at the desk, without review; null for a decision on
    /// reviews.
    async fn desk_rejection(&self) -> AppResult<Option<DeskRejectionReason>> {
        self.decision
            .desk_rejection
            .as_deref()
            .map(|reason| {
                reason
                    .parse::<DomainReason>()
                    .map(Into::into)
                    .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
            })
            .transpose()
    }
    async fn decided_at(&self) -> DateTime<Utc> {
        self.decision.decided_at
    }
    /// The manager who decided; for the fund's managers only.
    async fn decided_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        if !self.full {
            return Ok(None);
        }
        Ok(loaders(ctx)
            .users
            .load_one(self.decision.decided_by)
            .await?
            .map(User))
    }
}

#[derive(InputObject)]
pub struct DecisionInput {
    pub outcome: DecisionOutcome,
    /// The award, for an approval: at least the call's minimum award, at most the smaller of the
    /// requested amount and the call's maximum award, and within the call's remaining budget.
    pub amount: Option<MoneyInput>,
    /// Conditions of an approval.
    pub conditions: Option<String>,
    /// Why; every decision needs one.
    pub rationale: Option<String>,
    /// Whether the applicant may read the rationale (in the letter and through the API).
    #[graphql(default = true)]
    pub share_rationale: bool,
    /// The grant's start; by default the applicant's planned start, else today.
    pub starts_on: Option<NaiveDate>,
    /// The grant's end; by default after the months the application asked for.
    pub ends_on: Option<NaiveDate>,
}

impl DecisionInput {
    fn parse(self) -> AppResult<ParsedDecision> {
        Ok(ParsedDecision {
            outcome: self.outcome.into(),
            amount: self
                .amount
                .map(|amount| amount.parse("input.amount"))
                .transpose()?,
            conditions: optional_text(
                self.conditions,
                "input.conditions",
                MAX_DECISION_TEXT_CHARS,
            )?,
            rationale: optional_text(self.rationale, "input.rationale", MAX_DECISION_TEXT_CHARS)?,
            share_rationale: self.share_rationale,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
        })
    }
}

/// A rejection at the desk, without review.
#[derive(InputObject)]
pub struct DeskRejectionInput {
    pub reason: DeskRejectionReason,
    /// Why; required, as for every decision.
    pub rationale: String,
    /// Whether the applicant may read the rationale (in the letter and through the API).
    #[graphql(default = true)]
    pub share_rationale: bool,
}

impl DeskRejectionInput {
    fn parse(self) -> AppResult<ParsedDeskRejection> {
        Ok(ParsedDeskRejection {
            reason: self.reason.into(),
            rationale: optional_text(
                Some(self.rationale),
                "input.rationale",
                MAX_DECISION_TEXT_CHARS,
            )?,
            share_rationale: self.share_rationale,
        })
    }
}

#[derive(Default)]
pub struct DecisionMutation;

#[Object]
impl DecisionMutation {
    /// Decides an application under review, or a waitlisted one (managers without a conflict of
    /// interest), once its call has closed: refused with `INVALID_STATE` while the call is open.
    /// An approval awards at least the call's minimum and at most the smaller of the requested
    /// amount and the call's maximum (else `BAD_USER_INPUT` on `input.amount`); it creates the
    /// grant and commits its amount. The applicant's members get a decision letter. With an
    /// `idempotencyKey`, a retry gets the first outcome.
    async fn decide_application(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
        input: DecisionInput,
        idempotency_key: Option<String>,
    ) -> AppResult<Application> {
        let id = parse_id(&application_id, "applicationId")?;
        let input = input.parse()?;
        let key = idempotency_key
            .as_deref()
            .map(IdempotencyKey::parse)
            .transpose()?;
        let request = request(ctx);
        let outcome = service::decide(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            input,
            key,
        )
        .await?;
        note_replay(ctx, outcome.replayed);
        Ok(Application::from(outcome.value))
    }

    /// Rejects a submitted application that needs no review (out of scope, a duplicate, …)
    /// without assigning a reviewer (managers without a conflict of interest), while the call is
    /// open or after it closed. The decision records the reason; the applicant's members get a
    /// decision letter. Once reviewers are assigned, use `decideApplication`. With an
    /// `idempotencyKey`, a retry gets the first outcome.
    async fn desk_reject_application(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
        input: DeskRejectionInput,
        idempotency_key: Option<String>,
    ) -> AppResult<Application> {
        let id = parse_id(&application_id, "applicationId")?;
        let input = input.parse()?;
        let key = idempotency_key
            .as_deref()
            .map(IdempotencyKey::parse)
            .transpose()?;
        let request = request(ctx);
        let outcome = service::desk_reject(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            input,
            key,
        )
        .await?;
        note_replay(ctx, outcome.replayed);
        Ok(Application::from(outcome.value))
    }

    /// Marks a closed call decided once no application waits for a decision (managers). The
    /// last decision in a closed call, on reviews or at the desk, does this by itself.
    async fn mark_call_decided(&self, ctx: &Context<'_>, call_id: ID) -> AppResult<Call> {
        let id = parse_id(&call_id, "callId")?;
        let request = request(ctx);
        service::mark_call_decided(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(Call)
    }
}
