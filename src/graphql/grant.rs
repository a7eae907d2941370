//! Grants and disbursements over GraphQL: the grantee accepts and records bank details; managers
//! plan tranches, approve (four eyes), record filings and payments; the grantee confirms receipt.
//! Money-moving mutations take an `idempotencyKey`; an answer that repeats an earlier request's
//! effect is marked `extensions.idempotentReplay`. Managers follow the money through summaries,
//! follow-up views and each grant's audit trail.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject, Upload};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{disbursement, grant};

use crate::domain::decision::GrantEvent;
use crate::domain::disbursement::{BankDetails as DomainBankDetails, DisbursementStatus as Domain};
use crate::domain::money::{Currency, ExchangeRate};
use crate::domain::tracking::BreakdownLine;
use crate::error::{AppError, AppResult};
use crate::graphql::application::{
    Application, application_by_id, loaders, viewer_belongs_to, viewer_manages_fund,
};
use crate::graphql::call::Call;
use crate::graphql::context::{parse_id, request};
use crate::graphql::errors::note_replay;
use crate::graphql::identity::User;
use crate::graphql::organization::Organization;
use crate::graphql::pagination::{Conn, PageRequest, connection, wants_total};
use crate::graphql::types::{MoneyInput, MoneyOutput, money, optional_text, stored_money};
use crate::service::disbursement::{
    self as disbursements, FilingInput, QuotedRate, SentInput, TrancheInput,
};
use crate::service::grant::{self as service, GrantFilter};
use crate::service::idempotency::{IdempotencyKey, Outcome};
use crate::service::tracking::{self, DisbursementView as View, Summary};

fn parse_key(key: Option<String>) -> AppResult<Option<IdempotencyKey>> {
    key.as_deref().map(IdempotencyKey::parse).transpose()
}

fn parse_rate(rate: &str, field: &str) -> AppResult<ExchangeRate> {
    ExchangeRate::parse(rate).map_err(|e| AppError::bad_input(field, e))
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum GrantStatus {
    Active,
    Completed,
    Terminated,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum BankDetailsStatus {
    /// Payments may go out.
    Approved,
    /// Changed after they were first recorded; a manager must approve them first.
    Pending,
}

pub struct Grant(pub grant::Model);

#[Object]
impl Grant {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The application's reference, such as `BF-2027-0042`.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn application(&self, ctx: &Context<'_>) -> AppResult<Application> {
        application_by_id(ctx, self.0.application_id)
            .await
            .map(Application::from)
    }
    async fn call(&self, ctx: &Context<'_>) -> AppResult<Call> {
        loaders(ctx)
            .calls
            .load_one(self.0.call_id)
            .await?
            .map(|call| Call(std::sync::Arc::unwrap_or_clone(call)))
            .ok_or(AppError::NotFound("call"))
    }
    /// The grantee.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        loaders(ctx)
            .organizations
            .load_one(self.0.organization_id)
            .await?
            .map(Organization)
            .ok_or(AppError::NotFound("organization"))
    }
    /// The award.
    async fn amount(&self) -> AppResult<MoneyOutput> {
        stored_money(self.0.amount_minor, &self.0.currency)
    }
    /// Tranches planned and not failed or cancelled.
    async fn planned(&self) -> AppResult<MoneyOutput> {
        stored_money(self.0.planned_minor, &self.0.currency)
    }
    /// Sent and confirmed tranches.
    async fn disbursed(&self) -> AppResult<MoneyOutput> {
        stored_money(self.0.disbursed_minor, &self.0.currency)
    }
    /// The award not yet disbursed.
    async fn remaining(&self) -> AppResult<MoneyOutput> {
        stored_money(
            self.0.amount_minor - self.0.disbursed_minor,
            &self.0.currency,
        )
    }
    async fn conditions(&self) -> Option<&str> {
        self.0.conditions.as_deref()
    }
    async fn starts_on(&self) -> NaiveDate {
        self.0.starts_on
    }
    async fn ends_on(&self) -> NaiveDate {
        self.0.ends_on
    }
    async fn status(&self) -> GrantStatus {
        match self.0.status.as_str() {
            "COMPLETED" => GrantStatus::Completed,
            "TERMINATED" => GrantStatus::Terminated,
            _ => GrantStatus::Active,
        }
    }
    /// When a member of the grantee accepted the grant's conditions.
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }
    /// Where the grantee is paid; for the grantee's members and the fund's managers only.
    async fn bank_details(&self, ctx: &Context<'_>) -> AppResult<Option<BankDetailsOutput>> {
        if !viewer_manages_fund(ctx, self.0.fund_id).await?
            && !viewer_belongs_to(ctx, self.0.organization_id).await?
        {
            return Ok(None);
        }
        Ok(service::bank_details_of(&self.0)?.map(BankDetailsOutput))
    }
    async fn bank_details_status(&self) -> Option<BankDetailsStatus> {
        match self.0.bank_details_status.as_deref() {
            Some(service::BANK_DETAILS_APPROVED) => Some(BankDetailsStatus::Approved),
            Some(service::BANK_DETAILS_PENDING) => Some(BankDetailsStatus::Pending),
            _ => None,
        }
    }
    /// The tranches, in order.
    async fn disbursements(&self, ctx: &Context<'_>) -> AppResult<Vec<Disbursement>> {
        let rows = loaders(ctx)
            .disbursements
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|row| Disbursement {
                row,
                grant: self.0.clone(),
            })
            .collect())
    }
    /// Every change to the grant and its tranches, who made it, before and after; for the fund's
    /// managers only.
    async fn audit_trail(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<AuditEntry>>> {
        if !viewer_manages_fund(ctx, self.0.fund_id).await? {
            return Ok(None);
        }
        Ok(Some(
            tracking::audit_trail(&request(ctx).app.db, &self.0)
                .await?
                .into_iter()
                .map(AuditEntry)
                .collect(),
        ))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct BankDetailsOutput(DomainBankDetails);

#[Object(name = "BankDetails")]
impl BankDetailsOutput {
    async fn account_name(&self) -> &str {
        &self.0.account_name
    }
    async fn account_number(&self) -> &str {
        &self.0.account_number
    }
    async fn bank_name(&self) -> &str {
        &self.0.bank_name
    }
    async fn swift(&self) -> Option<&str> {
        self.0.swift.as_deref()
    }
    /// The currency the account holds.
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DisbursementStatus {
    Planned,
    Approved,
    Sent,
    Confirmed,
    Failed,
    Cancelled,
}

impl From<Domain> for DisbursementStatus {
    fn from(status: Domain) -> Self {
        match status {
            Domain::Planned => DisbursementStatus::Planned,
            Domain::Approved => DisbursementStatus::Approved,
            Domain::Sent => DisbursementStatus::Sent,
            Domain::Confirmed => DisbursementStatus::Confirmed,
            Domain::Failed => DisbursementStatus::Failed,
            Domain::Cancelled => DisbursementStatus::Cancelled,
        }
    }
}

/// What a tranche waits on next. A refused step lists these in `extensions.waitingOn`.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// A manager must mark its condition met.
    Condition,
    /// A manager other than the planner must approve it.
    Approval,
    /// The grantee must accept the grant's conditions.
    Acceptance,
    /// The grantee's bank details are missing or wait for approval.
    BankDetails,
    /// A remittance filing must be recorded.
    Filing,
    /// A manager must send it.
    Sending,
    /// The grantee must confirm receipt.
    Confirmation,
}

impl From<disbursements::Waiting> for Waiting {
    fn from(wait: disbursements::Waiting) -> Self {
        match wait {
            disbursements::Waiting::Condition => Waiting::Condition,
            disbursements::Waiting::Approval => Waiting::Approval,
            disbursements::Waiting::Acceptance => Waiting::Acceptance,
            disbursements::Waiting::BankDetails => Waiting::BankDetails,
            disbursements::Waiting::Filing => Waiting::Filing,
            disbursements::Waiting::Sending => Waiting::Sending,
            disbursements::Waiting::Confirmation => Waiting::Confirmation,
        }
    }
}

/// An exchange rate as recorded.
#[derive(SimpleObject)]
pub struct QuotedRateOutput {
    /// An exact decimal.
    pub rate: String,
    pub source: Option<String>,
    pub on: Option<NaiveDate>,
}

pub struct Disbursement {
    pub row: disbursement::Model,
    pub grant: grant::Model,
}

#[Object]
impl Disbursement {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    /// 1, 2, … within the grant.
    async fn sequence(&self) -> i32 {
        self.row.sequence
    }
    async fn grant(&self) -> Grant {
        Grant(self.grant.clone())
    }
    async fn amount(&self) -> AppResult<MoneyOutput> {
        stored_money(self.row.amount_minor, &self.row.currency)
    }
    async fn due_on(&self) -> NaiveDate {
        self.row.due_on
    }
    async fn status(&self) -> AppResult<DisbursementStatus> {
        disbursements::status_of(&self.row).map(Into::into)
    }
    /// A condition in words a manager marks met before approval.
    async fn condition(&self) -> Option<&str> {
        self.row.condition.as_deref()
    }
    async fn condition_met_at(&self) -> Option<DateTime<Utc>> {
        self.row.condition_met_at
    }
    /// What it waits on next, in the order to clear them.
    async fn waiting_on(&self, ctx: &Context<'_>) -> AppResult<Vec<Waiting>> {
        let filed = loaders(ctx)
            .filings
            .load_one(self.row.id)
            .await?
            .flatten()
            .is_some();
        Ok(disbursements::waiting_on(&self.row, &self.grant, filed)?
            .into_iter()
            .map(Waiting::from)
            .collect())
    }
    /// Whether the payment is worth more than the fund's remittance threshold and so needs a tax
    /// record filing before it is sent (from approval on, at the expected rate; at sending, at
    /// the rate used).
    async fn filing_required(&self) -> bool {
        self.row.filing_required
    }
    /// The payment in the threshold's currency (USD by default), at the latest known rate.
    async fn threshold_equivalent(&self, ctx: &Context<'_>) -> AppResult<Option<MoneyOutput>> {
        let Some(minor) = self.row.threshold_equivalent_minor else {
            return Ok(None);
        };
        let fund = loaders(ctx)
            .funds
            .load_one(self.row.fund_id)
            .await?
            .ok_or(AppError::NotFound("fund"))?;
        stored_money(minor, &fund.remittance_threshold_currency).map(Some)
    }
    /// The filing, for the fund's managers.
    async fn filing(&self, ctx: &Context<'_>) -> AppResult<Option<RemittanceFiling>> {
        if !viewer_manages_fund(ctx, self.row.fund_id).await? {
            return Ok(None);
        }
        Ok(loaders(ctx)
            .filings
            .load_one(self.row.id)
            .await?
            .flatten()
            .map(RemittanceFiling))
    }
    /// The rate to the threshold's currency expected at approval.
    async fn expected_rate(&self) -> Option<QuotedRateOutput> {
        self.row.expected_rate.clone().map(|rate| QuotedRateOutput {
            rate,
            source: self.row.expected_rate_source.clone(),
            on: self.row.expected_rate_on,
        })
    }
    /// The rate to the threshold's currency actually used.
    async fn actual_rate(&self) -> Option<&str> {
        self.row.actual_rate.as_deref()
    }
    /// The payee's currency and the rate to it actually used.
    async fn payee_currency(&self) -> Option<&str> {
        self.row.payee_currency.as_deref()
    }
    async fn payee_rate(&self) -> Option<&str> {
        self.row.payee_rate.as_deref()
    }
    /// What was sent, in the payee's currency.
    async fn amount_sent(&self) -> AppResult<Option<MoneyOutput>> {
        match (&self.row.amount_sent_minor, &self.row.payee_currency) {
            (Some(minor), Some(currency)) => stored_money(*minor, currency).map(Some),
            _ => Ok(None),
        }
    }
    async fn bank_reference(&self) -> Option<&str> {
        self.row.bank_reference.as_deref()
    }
    async fn sent_on(&self) -> Option<NaiveDate> {
        self.row.sent_on
    }
    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.row.confirmed_at
    }
    async fn failure_reason(&self) -> Option<&str> {
        self.row.failure_reason.as_deref()
    }
    async fn cancel_reason(&self) -> Option<&str> {
        self.row.cancel_reason.as_deref()
    }
    /// Who planned it; for the fund's managers.
    async fn planned_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        self.person(ctx, Some(self.row.planned_by)).await
    }
    /// Who approved it; for the fund's managers.
    async fn approved_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        self.person(ctx, self.row.approved_by).await
    }
}

impl Disbursement {
    async fn person(&self, ctx: &Context<'_>, id: Option<uuid::Uuid>) -> AppResult<Option<User>> {
        let Some(id) = id else { return Ok(None) };
        if !viewer_manages_fund(ctx, self.row.fund_id).await? {
            return Ok(None);
        }
        Ok(loaders(ctx).users.load_one(id).await?.map(User))
    }
}

pub struct RemittanceFiling(entity::remittance_filing::Model);

#[Object]
impl RemittanceFiling {
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn filed_on(&self) -> NaiveDate {
        self.0.filed_on
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One change in an audit trail.
pub struct AuditEntry(entity::audit_event::Model);

#[Object]
impl AuditEntry {
    /// Such as `disbursement.mark_sent`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }
    async fn target_id(&self) -> Option<ID> {
        self.0.target_id.map(|id| ID(id.to_string()))
    }
    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = self.0.actor_id else {
            return Ok(None);
        };
        Ok(loaders(ctx).users.load_one(id).await?.map(User))
    }
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0.before_state.clone().map(Json)
    }
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0.after_state.clone().map(Json)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One line of a breakdown.
pub struct BreakdownEntry(BreakdownLine, Currency);

#[Object]
impl BreakdownEntry {
    /// A country code, an applicant category, an SDG number, or `UNSPECIFIED`.
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn committed(&self) -> AppResult<MoneyOutput> {
        money(self.0.committed_minor, self.1)
    }
    async fn disbursed(&self) -> AppResult<MoneyOutput> {
        money(self.0.disbursed_minor, self.1)
    }
    /// Grants counted under the key, wholly or in part.
    async fn grants(&self) -> i32 {
        i32::try_from(self.0.grants).unwrap_or(i32::MAX)
    }
}

/// Money of a fund or a call. Grants with several host countries or SDGs split their amounts
/// evenly among them, so each breakdown adds up to the totals.
pub struct MoneySummary(Summary, Currency);

#[Object]
impl MoneySummary {
    async fn budget(&self) -> AppResult<MoneyOutput> {
        money(self.0.budget_minor, self.1)
    }
    async fn committed(&self) -> AppResult<MoneyOutput> {
        money(self.0.committed_minor, self.1)
    }
    async fn disbursed(&self) -> AppResult<MoneyOutput> {
        money(self.0.disbursed_minor, self.1)
    }
    /// Budget not yet committed.
    async fn remaining(&self) -> AppResult<MoneyOutput> {
        money(self.0.remaining_minor(), self.1)
    }
    async fn grants(&self) -> i32 {
        i32::try_from(self.0.grants).unwrap_or(i32::MAX)
    }
    async fn by_host_country(&self) -> Vec<BreakdownEntry> {
        self.lines(&self.0.by_host_country)
    }
    async fn by_applicant_category(&self) -> Vec<BreakdownEntry> {
        self.lines(&self.0.by_applicant_category)
    }
    async fn by_sdg(&self) -> Vec<BreakdownEntry> {
        self.lines(&self.0.by_sdg)
    }
}

impl MoneySummary {
    fn lines(&self, lines: &[BreakdownLine]) -> Vec<BreakdownEntry> {
        lines
            .iter()
            .map(|line| BreakdownEntry(line.clone(), self.1))
            .collect()
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DisbursementView {
    Upcoming,
    Overdue,
    AwaitingApproval,
    AwaitingFiling,
    AwaitingBankDetails,
    AwaitingConfirmation,
}

#[derive(InputObject, Default)]
pub struct GrantFilterInput {
    pub fund_id: Option<ID>,
    pub call_id: Option<ID>,
    pub organization_id: Option<ID>,
    pub statuses: Option<Vec<GrantStatus>>,
}

#[derive(InputObject)]
pub struct BankDetailsInput {
    pub account_name: String,
    pub account_number: String,
    pub bank_name: String,
    pub swift: Option<String>,
    /// The currency the account holds (ISO 4217).
    pub currency: String,
}

/// One tranche of a payment plan.
#[derive(InputObject)]
#[graphql(name = "TrancheInput")]
pub struct TrancheInputObject {
    pub amount: MoneyInput,
    pub due_on: NaiveDate,
    pub condition: Option<String>,
}

#[derive(InputObject)]
pub struct QuotedRateInput {
    /// An exact decimal, units of the threshold's currency per unit of the fund's.
    pub rate: String,
    /// Where the rate comes from, such as a central bank's reference rate.
    pub source: String,
    pub on: NaiveDate,
}

#[derive(InputObject)]
pub struct DisbursementSentInput {
    pub bank_reference: String,
    pub sent_on: NaiveDate,
    /// The rate to the threshold's currency (USD) actually used; needed unless the fund pays in
    /// it.
    pub rate_to_usd: Option<String>,
    /// The rate to the payee's currency actually used; needed unless the account is in the
    /// fund's currency.
    pub rate_to_payee: Option<String>,
    /// What was sent, in the payee's currency.
    pub amount_sent: MoneyInput,
}

async fn fund_currency(ctx: &Context<'_>, fund_id: uuid::Uuid) -> AppResult<Currency> {
    let fund = loaders(ctx)
        .funds
        .load_one(fund_id)
        .await?
        .ok_or(AppError::NotFound("fund"))?;
    Currency::parse(&fund.currency).map_err(AppError::internal)
}

/// A mutation's tranche, told as a replay when it repeats an earlier request's effect.
async fn keyed_output(
    ctx: &Context<'_>,
    outcome: Outcome<disbursement::Model>,
) -> AppResult<Disbursement> {
    note_replay(ctx, outcome.replayed);
    disbursement_output(ctx, outcome.value).await
}

async fn disbursement_output(
    ctx: &Context<'_>,
    row: disbursement::Model,
) -> AppResult<Disbursement> {
    let grant = loaders(ctx)
        .grants_by_id
        .load_one(row.grant_id)
        .await?
        .map(std::sync::Arc::unwrap_or_clone)
        .ok_or(AppError::NotFound("grant"))?;
    Ok(Disbursement { row, grant })
}

#[derive(Default)]
pub struct GrantQuery;

#[Object]
impl GrantQuery {
    /// A grant its grantee's members or its fund's managers may see.
    async fn grant(&self, ctx: &Context<'_>, id: ID) -> AppResult<Grant> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::get(request.app, &request.viewer, id)
            .await
            .map(Grant)
    }

    /// A tranche, for those who may see its grant: its grantee's members and its fund's managers.
    async fn disbursement(&self, ctx: &Context<'_>, id: ID) -> AppResult<Disbursement> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        let (row, grant) = disbursements::get(request.app, &request.viewer, id).await?;
        Ok(Disbursement { row, grant })
    }

    /// Grants the viewer may see, newest first: their organisations' and their funds'.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn grants(
        &self,
        ctx: &Context<'_>,
        filter: Option<GrantFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Grant>> {
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let filter = filter.unwrap_or_default();
        let parsed = GrantFilter {
            fund_id: filter
                .fund_id
                .map(|id| parse_id(&id, "filter.fundId"))
                .transpose()?,
            call_id: filter
                .call_id
                .map(|id| parse_id(&id, "filter.callId"))
                .transpose()?,
            organization_id: filter
                .organization_id
                .map(|id| parse_id(&id, "filter.organizationId"))
                .transpose()?,
            statuses: filter
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(|s| {
                    match s {
                        GrantStatus::Active => "ACTIVE",
                        GrantStatus::Completed => "COMPLETED",
                        GrantStatus::Terminated => "TERMINATED",
                    }
                    .to_owned()
                })
                .collect(),
        };
        let request = request(ctx);
        let rows = service::list(request.app, &request.viewer, &parsed, &page).await?;
        Ok(connection(rows.map(Grant), &page))
    }

    /// A fund's money with breakdowns by host country, applicant category and SDG (managers).
    async fn fund_summary(&self, ctx: &Context<'_>, fund_id: ID) -> AppResult<MoneySummary> {
        let fund_id = parse_id(&fund_id, "fundId")?;
        let request = request(ctx);
        let summary = tracking::fund_summary(request.app, &request.viewer, fund_id).await?;
        Ok(MoneySummary(summary, fund_currency(ctx, fund_id).await?))
    }

    /// A call's money with breakdowns (managers).
    async fn call_summary(&self, ctx: &Context<'_>, call_id: ID) -> AppResult<MoneySummary> {
        let call_id = parse_id(&call_id, "callId")?;
        let request = request(ctx);
        let summary = tracking::call_summary(request.app, &request.viewer, call_id).await?;
        let call = loaders(ctx)
            .calls
            .load_one(call_id)
            .await?
            .ok_or(AppError::NotFound("call"))?;
        Ok(MoneySummary(
            summary,
            fund_currency(ctx, call.fund_id).await?,
        ))
    }

    /// A fund's tranches to follow up, by due date (managers).
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn fund_disbursements(
        &self,
        ctx: &Context<'_>,
        fund_id: ID,
        view: DisbursementView,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Disbursement>> {
        let fund_id = parse_id(&fund_id, "fundId")?;
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let view = match view {
            DisbursementView::Upcoming => View::Upcoming,
            DisbursementView::Overdue => View::Overdue,
            DisbursementView::AwaitingApproval => View::AwaitingApproval,
            DisbursementView::AwaitingFiling => View::AwaitingFiling,
            DisbursementView::AwaitingBankDetails => View::AwaitingBankDetails,
            DisbursementView::AwaitingConfirmation => View::AwaitingConfirmation,
        };
        let request = request(ctx);
        let rows =
            tracking::disbursements(request.app, &request.viewer, fund_id, view, &page).await?;
        let grants = loaders(ctx)
            .grants_by_id
            .load_many(rows.items.iter().map(|(_, row)| row.grant_id))
            .await?;
        let mut items = Vec::with_capacity(rows.items.len());
        for (cursor, row) in rows.items {
            let grant = grants
                .get(&row.grant_id)
                .map(|grant| grant.as_ref().clone())
                .ok_or(AppError::NotFound("grant"))?;
            items.push((cursor, Disbursement { row, grant }));
        }
        let page_out = crate::pagination::Page {
            items,
            has_next_page: rows.has_next_page,
            total_count: rows.total_count,
        };
        Ok(connection(page_out, &page))
    }
}

#[derive(Default)]
pub struct GrantMutation;

#[Object]
impl GrantMutation {
    /// A member of the grantee accepts the grant's conditions; needed before the first payment.
    async fn accept_grant(&self, ctx: &Context<'_>, grant_id: ID) -> AppResult<Grant> {
        let id = parse_id(&grant_id, "grantId")?;
        let request = request(ctx);
        service::accept(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(Grant)
    }

    /// A member of the grantee records where to be paid. A change after the first recording
    /// waits for a manager's approval before any further payment.
    async fn set_grant_bank_details(
        &self,
        ctx: &Context<'_>,
        grant_id: ID,
        input: BankDetailsInput,
    ) -> AppResult<Grant> {
        let id = parse_id(&grant_id, "grantId")?;
        let currency = Currency::parse(&input.currency)
            .map_err(|e| AppError::bad_input("input.currency", e))?;
        let details = DomainBankDetails::parse(
            &input.account_name,
            &input.account_number,
            &input.bank_name,
            input.swift.as_deref(),
            currency,
        )
        .map_err(|e| AppError::bad_input(e.field(), e))?;
        let request = request(ctx);
        service::set_bank_details(request.app, &request.viewer, &request.actor(), id, details)
            .await
            .map(Grant)
    }

    /// A manager approves the grantee's changed bank details.
    async fn approve_grant_bank_details(
        &self,
        ctx: &Context<'_>,
        grant_id: ID,
    ) -> AppResult<Grant> {
        let id = parse_id(&grant_id, "grantId")?;
        let request = request(ctx);
        service::approve_bank_details(request.app, &request.viewer, &request.actor(), id)
            .await
            .map(Grant)
    }

    /// Plans tranches of a grant (managers); they never add up to more than the award. Answers
    /// the tranches this request created, in order.
    async fn plan_tranches(
        &self,
        ctx: &Context<'_>,
        grant_id: ID,
        tranches: Vec<TrancheInputObject>,
        idempotency_key: Option<String>,
    ) -> AppResult<Vec<Disbursement>> {
        let id = parse_id(&grant_id, "grantId")?;
        let tranches = tranches
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                Ok(TrancheInput {
                    amount: t.amount.parse(&format!("tranches.{i}.amount"))?,
                    due_on: t.due_on,
                    condition: optional_text(
                        t.condition,
                        &format!("tranches.{i}.condition"),
                        2_000,
                    )?,
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        let key = parse_key(idempotency_key)?;
        let request = request(ctx);
        let outcome = disbursements::plan_tranches(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            tranches,
            key,
        )
        .await?;
        note_replay(ctx, outcome.replayed);
        let planned = outcome.value;
        Ok(planned
            .tranches
            .into_iter()
            .map(|row| Disbursement {
                row,
                grant: planned.grant.clone(),
            })
            .collect())
    }

    /// A manager records that a tranche's condition is met.
    async fn mark_tranche_condition_met(
        &self,
        ctx: &Context<'_>,
        disbursement_id: ID,
    ) -> AppResult<Disbursement> {
        let id = parse_id(&disbursement_id, "disbursementId")?;
        let request = request(ctx);
        let row =
            disbursements::mark_condition_met(request.app, &request.viewer, &request.actor(), id)
                .await?;
        disbursement_output(ctx, row).await
    }

    /// Approves a planned tranche: a manager other than its planner. A fund not paying in USD
    /// records the rate to USD it expects to use.
    async fn approve_disbursement(
        &self,
        ctx: &Context<'_>,
        disbursement_id: ID,
        expected_rate: Option<QuotedRateInput>,
        idempotency_key: Option<String>,
    ) -> AppResult<Disbursement> {
        let id = parse_id(&disbursement_id, "disbursementId")?;
        let expected = expected_rate
            .map(|q| {
                Ok::<_, AppError>(QuotedRate {
                    rate: parse_rate(&q.rate, "expectedRate.rate")?,
                    source: optional_text(Some(q.source), "expectedRate.source", 200)?.ok_or_else(
                        || {
                            AppError::bad_input(
                                "expectedRate.source",
                                "say where the rate comes from",
                            )
                        },
                    )?,
                    on: q.on,
                })
            })
            .transpose()?;
        let key = parse_key(idempotency_key)?;
        let request = request(ctx);
        let outcome = disbursements::approve(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            expected,
            key,
        )
        .await?;
        keyed_output(ctx, outcome).await
    }

    /// Records the tax record filing a payment above the remittance threshold needs (managers),
    /// with its document (GraphQL multipart request).
    async fn record_remittance_filing(
        &self,
        ctx: &Context<'_>,
        disbursement_id: ID,
        reference: String,
        filed_on: NaiveDate,
        document: Upload,
        idempotency_key: Option<String>,
    ) -> AppResult<Disbursement> {
        let id = parse_id(&disbursement_id, "disbursementId")?;
        let reference = optional_text(Some(reference), "reference", 200)?
            .ok_or_else(|| AppError::bad_input("reference", "give the filing's reference"))?;
        let value = document
            .value(ctx)
            .map_err(|_| AppError::bad_input("document", "the file did not arrive"))?;
        let input = FilingInput {
            reference,
            filed_on,
            file_name: crate::domain::document::clean_file_name(&value.filename),
            content_type: value.content_type.unwrap_or_default(),
            content: value.content,
        };
        let key = parse_key(idempotency_key)?;
        let request = request(ctx);
        let outcome = disbursements::record_filing(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            input,
            key,
        )
        .await?;
        keyed_output(ctx, outcome).await
    }

    /// Records that an approved tranche was sent (managers), with the rates actually used.
    async fn mark_disbursement_sent(
        &self,
        ctx: &Context<'_>,
        disbursement_id: ID,
        input: DisbursementSentInput,
        idempotency_key: Option<String>,
    ) -> AppResult<Disbursement> {
        let id = parse_id(&disbursement_id, "disbursementId")?;
        let sent = SentInput {
            bank_reference: optional_text(Some(input.bank_reference), "input.bankReference", 200)?
                .ok_or_else(|| {
                    AppError::bad_input("input.bankReference", "give the bank's reference")
                })?,
            sent_on: input.sent_on,
            rate_to_threshold: input
                .rate_to_usd
                .as_deref()
                .map(|r| parse_rate(r, "input.rateToUsd"))
                .transpose()?,
            rate_to_payee: input
                .rate_to_payee
                .as_deref()
                .map(|r| parse_rate(r, "input.rateToPayee"))
                .transpose()?,
            amount_sent: input.amount_sent.parse("input.amountSent")?,
        };
        let key = parse_key(idempotency_key)?;
        let request = request(ctx);
        let outcome = disbursements::mark_sent(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            sent,
            key,
        )
        .await?;
        keyed_output(ctx, outcome).await
    }

    /// A member of the grantee confirms the money arrived.
    async fn confirm_disbursement_received(
        &self,
        ctx: &Context<'_>,
        disbursement_id: ID,
        idempotency_key: Option<String>,
    ) -> AppResult<Disbursement> {
        let id = parse_id(&disbursement_id, "disbursementId")?;
        let key = parse_key(idempotency_key)?;
        let request = request(ctx);
        let outcome = disbursements::confirm_received(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            key,
        )
        .await?;
        keyed_output(ctx, outcome).await
    }

    /// Records that a sent payment came back (managers); the amount may be planned again.
    async fn mark_disbursement_failed(
        &self,
        ctx: &Context<'_>,
        disbursement_id: ID,
        reason: String,
        idempotency_key: Option<String>,
    ) -> AppResult<Disbursement> {
        let id = parse_id(&disbursement_id, "disbursementId")?;
        let reason = optional_text(Some(reason), "reason", 2_000)?
            .ok_or_else(|| AppError::bad_input("reason", "say why the payment failed"))?;
        let key = parse_key(idempotency_key)?;
        let request = request(ctx);
        let outcome = disbursements::mark_failed(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            reason,
            key,
        )
        .await?;
        keyed_output(ctx, outcome).await
    }

    /// Completes a grant whose tranches are all settled (managers). What was not disbursed stops
    /// being committed.
    async fn complete_grant(&self, ctx: &Context<'_>, grant_id: ID) -> AppResult<Grant> {
        let id = parse_id(&grant_id, "grantId")?;
        let request = request(ctx);
        disbursements::close_grant(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            GrantEvent::Complete,
            None,
        )
        .await
        .map(Grant)
    }

    /// Ends a grant early (managers): tranches not sent are cancelled, and what was not disbursed
    /// stops being committed. Refused while a payment is on its way.
    async fn terminate_grant(
        &self,
        ctx: &Context<'_>,
        grant_id: ID,
        reason: String,
    ) -> AppResult<Grant> {
        let id = parse_id(&grant_id, "grantId")?;
        let reason = optional_text(Some(reason), "reason", 2_000)?
            .ok_or_else(|| AppError::bad_input("reason", "say why the grant ends"))?;
        let request = request(ctx);
        disbursements::close_grant(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            GrantEvent::Terminate,
            Some(reason),
        )
        .await
        .map(Grant)
    }

    /// Cancels a tranche not yet sent (managers); the amount may be planned again.
    async fn cancel_disbursement(
        &self,
        ctx: &Context<'_>,
        disbursement_id: ID,
        reason: String,
        idempotency_key: Option<String>,
    ) -> AppResult<Disbursement> {
        let id = parse_id(&disbursement_id, "disbursementId")?;
        let reason = optional_text(Some(reason), "reason", 2_000)?
            .ok_or_else(|| AppError::bad_input("reason", "say why the tranche is cancelled"))?;
        let key = parse_key(idempotency_key)?;
        let request = request(ctx);
        let outcome = disbursements::cancel(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            reason,
            key,
        )
        .await?;
        keyed_output(ctx, outcome).await
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{InputType, Name, Value};

    use super::*;

    /// Refusals name what a tranche waits on with the service's names; they must be the enum's.
    #[test]
    fn refusals_name_waits_as_the_waiting_enum_does() {
        use disbursements::Waiting as W;
        for wait in [
            W::Condition,
            W::Approval,
            W::Acceptance,
            W::BankDetails,
            W::Filing,
            W::Sending,
            W::Confirmation,
        ] {
            assert_eq!(
                Waiting::from(wait).to_value(),
                Value::Enum(Name::new(wait.as_str()))
            );
        }
    }
}
