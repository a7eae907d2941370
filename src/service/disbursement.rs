//! Tranches and the payments that carry them. Every change goes through the domain's state
//! machine and a conditional update; the grant's planned and disbursed totals and the fund's
//! disbursed total move with conditional updates in the same transaction, so no interleaving of
//! requests from any number of instances pays more than the award. Money-moving requests take an
//! idempotency key, and answer whether they replayed an earlier request's effect. Four eyes: the
//! manager who planned a tranche cannot approve it. A step refused because the tranche waits on
//! something else first says what ([`AppError::WaitingOn`]), in the terms of [`waiting_on`].

use chrono::{DateTime, NaiveDate, Utc};
use entity::{disbursement, fund, grant, remittance_filing as filing};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::decision::{GrantEvent, GrantStatus};
use crate::domain::disbursement::{
    DisbursementEvent, DisbursementStatus, RemittanceCheck, check_remittance, check_tranches,
    transition,
};
use crate::domain::money::{Currency, ExchangeRate, Money};
use crate::error::{AppError, AppResult};
use crate::notify::EmailKind;
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::fund::{FundRole, people};
use crate::service::grant::{
    BANK_DETAILS_APPROVED, GrantRole, as_grantee, as_manager, bank_details_of, grantee_members,
    role_on,
};
use crate::service::idempotency::{self, IdempotencyKey, Keyed, Outcome};
use crate::service::notification::email_users;

/// A tranche to plan, parsed at the edge.
#[derive(Debug, Clone, Serialize)]
pub struct TrancheInput {
    pub amount: Money,
    pub due_on: NaiveDate,
    pub condition: Option<String>,
}

/// An exchange rate with where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct QuotedRate {
    pub rate: ExchangeRate,
    pub source: String,
    pub on: NaiveDate,
}

/// What the manager records when the money leaves.
#[derive(Debug, Clone, Serialize)]
pub struct SentInput {
    pub bank_reference: String,
    pub sent_on: NaiveDate,
    /// Units of the threshold's currency (USD) per unit of the fund's; needed unless they match.
    pub rate_to_threshold: Option<ExchangeRate>,
    /// Units of the payee's currency per unit of the fund's; needed unless they match.
    pub rate_to_payee: Option<ExchangeRate>,
    /// What was sent, in the payee's currency.
    pub amount_sent: Money,
}

/// A filing's document, as uploaded. An idempotency key hashes the document by its digest.
#[derive(Debug, Serialize)]
pub struct FilingInput {
    pub reference: String,
    pub filed_on: NaiveDate,
    pub file_name: String,
    pub content_type: String,
    #[serde(serialize_with = "sha256_hex")]
    pub content: bytes::Bytes,
}

fn sha256_hex<S: serde::Serializer>(content: &bytes::Bytes, out: S) -> Result<S::Ok, S::Error> {
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    out.serialize_str(&digest)
}

pub fn status_of(row: &disbursement::Model) -> AppResult<DisbursementStatus> {
    row.status
        .parse()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<disbursement::Model> {
    disbursement::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("disbursement"))
}

fn transition_error(error: impl std::fmt::Display) -> AppError {
    AppError::InvalidState(error.to_string())
}

/// A refusal because the tranche waits on `waits` first.
fn waiting_error(message: impl Into<String>, waits: &[Waiting]) -> AppError {
    AppError::WaitingOn {
        message: message.into(),
        waiting_on: waits.iter().map(|wait| wait.as_str()).collect(),
    }
}

/// The state machine's refusal of `event`, made useful: a tranche that has not come as far as the
/// step yet waits on something first, and the refusal lists it; one past the step, or ended, has
/// nothing to wait for.
async fn refused_step(
    db: &impl ConnectionTrait,
    row: &disbursement::Model,
    grant: &grant::Model,
    event: DisbursementEvent,
    error: impl std::fmt::Display,
) -> AppResult<AppError> {
    let before_the_step = matches!(
        (event, status_of(row)?),
        (DisbursementEvent::MarkSent, DisbursementStatus::Planned)
            | (
                DisbursementEvent::ConfirmReceived,
                DisbursementStatus::Planned | DisbursementStatus::Approved,
            )
    );
    if !before_the_step {
        return Ok(transition_error(error));
    }
    let filed = row.filing_required && has_filing(db, row.id).await?;
    let waits = waiting_on(row, grant, filed)?;
    Ok(waiting_error(
        format!("{error}: {}", describe(&waits)),
        &waits,
    ))
}

/// What `waits` ask for, in words.
fn describe(waits: &[Waiting]) -> String {
    waits
        .iter()
        .map(|wait| wait.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The keyed request, when the client sent a key: its arguments are the parsed input itself, so
/// what tells a retry from a different request cannot drift from what the use case reads.
fn key(
    mutation: &'static str,
    key: Option<IdempotencyKey>,
    arguments: impl Serialize,
) -> AppResult<Option<Keyed>> {
    key.map(|key| {
        Ok(Keyed {
            mutation,
            key,
            arguments: serde_json::to_value(arguments).map_err(AppError::internal)?,
        })
    })
    .transpose()
}

async fn fund_of(db: &impl ConnectionTrait, id: Uuid) -> AppResult<fund::Model> {
    crate::service::fund::find(db, id).await
}

fn threshold_of(fund: &fund::Model) -> AppResult<Money> {
    let currency =
        Currency::parse(&fund.remittance_threshold_currency).map_err(AppError::internal)?;
    Money::new(fund.remittance_threshold_minor, currency).map_err(AppError::internal)
}

fn amount_of(row: &disbursement::Model) -> AppResult<Money> {
    let currency = Currency::parse(&row.currency).map_err(AppError::internal)?;
    Money::new(row.amount_minor, currency).map_err(AppError::internal)
}

/// Whether a filing is recorded for the disbursement.
pub async fn has_filing(db: &impl ConnectionTrait, id: Uuid) -> AppResult<bool> {
    Ok(filing::Entity::find()
        .filter(filing::Column::DisbursementId.eq(id))
        .count(db)
        .await?
        > 0)
}

/// The disbursement and its grant, for a manager of the fund to act on.
async fn managed(
    db: &impl ConnectionTrait,
    user: Uuid,
    id: Uuid,
) -> AppResult<(disbursement::Model, grant::Model)> {
    let row = find(db, id).await?;
    let grant = crate::service::grant::find(db, row.grant_id).await?;
    match role_on(db, user, &grant).await? {
        Some(GrantRole::Manager) => Ok((row, grant)),
        Some(_) => Err(AppError::Forbidden(
            "only managers of this fund may do this".into(),
        )),
        None => Err(AppError::NotFound("disbursement")),
    }
}

/// Moves the disbursement from `from` to `to` with the given changes, if nobody moved it first.
async fn advance(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: DisbursementStatus,
    to: DisbursementStatus,
    now: DateTime<Utc>,
    changes: Vec<(disbursement::Column, sea_orm::Value)>,
) -> AppResult<()> {
    let mut update = disbursement::Entity::update_many()
        .col_expr(disbursement::Column::Status, Expr::value(to.as_str()))
        .col_expr(disbursement::Column::UpdatedAt, Expr::value(now));
    for (column, value) in changes {
        update = update.col_expr(column, Expr::value(value));
    }
    let updated = update
        .filter(disbursement::Column::Id.eq(id))
        .filter(disbursement::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the disbursement changed meanwhile; reload it".into(),
        ));
    }
    Ok(())
}

fn snapshot(row: &disbursement::Model) -> serde_json::Value {
    json!({
        "grantId": row.grant_id, "sequence": row.sequence, "status": row.status,
        "amountMinor": row.amount_minor, "currency": row.currency, "dueOn": row.due_on,
        "condition": row.condition, "expectedRate": row.expected_rate,
        "filingRequired": row.filing_required, "bankReference": row.bank_reference,
        "sentOn": row.sent_on, "actualRate": row.actual_rate, "payeeCurrency": row.payee_currency,
        "payeeRate": row.payee_rate, "amountSentMinor": row.amount_sent_minor,
    })
}

async fn audit_change(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    actor: &AuditActor,
    action: &str,
    before: &disbursement::Model,
) -> AppResult<disbursement::Model> {
    let after = find(db, before.id).await?;
    audit::record(
        db,
        &ctx.clock,
        actor,
        action,
        AuditTarget {
            kind: "disbursement",
            id: Some(before.id),
        },
        Some(snapshot(before)),
        Some(snapshot(&after)),
    )
    .await?;
    Ok(after)
}

/// Tranches planned by one request, and their grant.
#[derive(Debug, Clone)]
pub struct Planned {
    pub grant: grant::Model,
    /// The tranches this request created, in order.
    pub tranches: Vec<disbursement::Model>,
}

/// Plans tranches of a grant (managers). Their total never exceeds what is left of the award:
/// the grant's planned total rises with one conditional update. A replay answers the tranches the
/// first request created.
#[tracing::instrument(skip_all, fields(grant_id = %grant_id, viewer = ?viewer.optional_user_id()))]
pub async fn plan_tranches(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    grant_id: Uuid,
    tranches: Vec<TrancheInput>,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<Outcome<Planned>> {
    let user = viewer.user_id()?;
    let keyed = key("planTranches", idempotency_key, (grant_id, &tranches))?;
    let outcome = idempotency::run_with_replay(ctx, user, keyed.as_ref(), async |txn| {
        plan_in(ctx, txn, user, actor, grant_id, &tranches).await
    })
    .await?;
    let grant = crate::service::grant::find(&ctx.db, grant_id).await?;
    let created = disbursement::Entity::find()
        .filter(disbursement::Column::Id.is_in(outcome.value.iter().copied()))
        .order_by_asc(disbursement::Column::Sequence)
        .all(&ctx.db)
        .await?;
    Ok(outcome.map(|_| Planned {
        grant,
        tranches: created,
    }))
}

async fn plan_in(
    ctx: &AppContext,
    txn: &DatabaseTransaction,
    user: Uuid,
    actor: &AuditActor,
    grant_id: Uuid,
    tranches: &[TrancheInput],
) -> AppResult<Vec<Uuid>> {
    let now = ctx.clock.now();
    let grant = as_manager(txn, user, grant_id).await?;
    if grant.status != GrantStatus::Active.as_str() {
        return Err(AppError::InvalidState(
            "tranches are planned for active grants".into(),
        ));
    }
    let currency = Currency::parse(&grant.currency).map_err(AppError::internal)?;
    for (index, tranche) in tranches.iter().enumerate() {
        if tranche.amount.currency() != currency {
            return Err(AppError::bad_input(
                format!("tranches.{index}.amount"),
                format!("the grant is paid in {currency}"),
            ));
        }
    }
    let amounts: Vec<i64> = tranches.iter().map(|t| t.amount.minor()).collect();
    check_tranches(grant.amount_minor, grant.planned_minor, &amounts)
        .map_err(|e| AppError::bad_input("tranches", e))?;
    let total: i64 = amounts.iter().sum();
    let reserved = grant::Entity::update_many()
        .col_expr(
            grant::Column::PlannedMinor,
            Expr::col(grant::Column::PlannedMinor).add(total),
        )
        .col_expr(grant::Column::UpdatedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(grant.id))
        .filter(grant::Column::Status.eq(GrantStatus::Active.as_str()))
        .filter(
            Expr::col(grant::Column::PlannedMinor)
                .add(total)
                .lte(Expr::col(grant::Column::AmountMinor)),
        )
        .exec(txn)
        .await?;
    if reserved.rows_affected != 1 {
        return Err(AppError::InvalidState(
            "the grant ended, or the tranches no longer fit in what is left of the award; reload \
             the grant"
                .into(),
        ));
    }
    let last = disbursement::Entity::find()
        .filter(disbursement::Column::GrantId.eq(grant.id))
        .order_by_desc(disbursement::Column::Sequence)
        .one(txn)
        .await?
        .map_or(0, |d| d.sequence);
    let rows: Vec<disbursement::Model> = tranches
        .iter()
        .enumerate()
        .map(|(index, tranche)| disbursement::Model {
            id: Uuid::now_v7(),
            grant_id: grant.id,
            fund_id: grant.fund_id,
            sequence: last + i32::try_from(index).unwrap_or(i32::MAX - last) + 1,
            amount_minor: tranche.amount.minor(),
            currency: currency.code().to_owned(),
            due_on: tranche.due_on,
            condition: tranche.condition.clone(),
            condition_met_at: None,
            condition_met_by: None,
            status: DisbursementStatus::Planned.as_str().to_owned(),
            planned_by: user,
            approved_by: None,
            approved_at: None,
            expected_rate: None,
            expected_rate_source: None,
            expected_rate_on: None,
            filing_required: false,
            bank_reference: None,
            sent_on: None,
            sent_by: None,
            actual_rate: None,
            payee_currency: None,
            payee_rate: None,
            amount_sent_minor: None,
            threshold_equivalent_minor: None,
            confirmed_by: None,
            confirmed_at: None,
            failure_reason: None,
            cancel_reason: None,
            overdue_notified_at: None,
            created_at: now,
            updated_at: now,
        })
        .collect();
    disbursement::Entity::insert_many(rows.iter().cloned().map(IntoActiveModel::into_active_model))
        .exec_without_returning(txn)
        .await?;
    audit::record(
        txn,
        &ctx.clock,
        actor,
        "grant.plan_tranches",
        AuditTarget {
            kind: "grant",
            id: Some(grant.id),
        },
        Some(json!({ "plannedMinor": grant.planned_minor })),
        Some(json!({
            "plannedMinor": grant.planned_minor + total,
            "tranches": rows.iter().map(snapshot).collect::<Vec<_>>(),
        })),
    )
    .await?;
    Ok(rows.iter().map(|row| row.id).collect())
}

/// A manager records that a tranche's condition is met, which lets it be approved.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn mark_condition_met(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<disbursement::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let (row, _) = managed(&txn, user, id).await?;
    if row.condition.is_none() {
        return Err(AppError::InvalidState(
            "the tranche has no condition".into(),
        ));
    }
    if row.condition_met_at.is_some() {
        return Err(AppError::InvalidState(
            "the condition was marked met already".into(),
        ));
    }
    let status = status_of(&row)?;
    if status != DisbursementStatus::Planned {
        return Err(AppError::InvalidState(format!(
            "conditions are checked before approval; the tranche is {status}"
        )));
    }
    advance(
        &txn,
        id,
        status,
        status,
        now,
        vec![
            (disbursement::Column::ConditionMetAt, now.into()),
            (disbursement::Column::ConditionMetBy, user.into()),
        ],
    )
    .await?;
    let row = audit_change(ctx, &txn, actor, "disbursement.condition_met", &row).await?;
    txn.commit().await?;
    Ok(row)
}

/// Approves a planned tranche: by a manager other than the one who planned it, once its
/// condition is met. For a fund not paying in the threshold's currency, the expected rate to it
/// is recorded, and with it whether a remittance filing will be needed.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn approve(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    expected: Option<QuotedRate>,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<Outcome<disbursement::Model>> {
    let user = viewer.user_id()?;
    let keyed = key("approveDisbursement", idempotency_key, (id, &expected))?;
    let outcome = idempotency::run_with_replay(ctx, user, keyed.as_ref(), async |txn| {
        approve_in(ctx, txn, user, actor, id, expected.as_ref()).await
    })
    .await?;
    reload(ctx, outcome).await
}

/// The disbursement a request acted on, as it is now.
async fn reload(
    ctx: &AppContext,
    outcome: Outcome<Uuid>,
) -> AppResult<Outcome<disbursement::Model>> {
    let row = find(&ctx.db, outcome.value).await?;
    Ok(outcome.map(|_| row))
}

async fn approve_in(
    ctx: &AppContext,
    txn: &DatabaseTransaction,
    user: Uuid,
    actor: &AuditActor,
    id: Uuid,
    expected: Option<&QuotedRate>,
) -> AppResult<Uuid> {
    let now = ctx.clock.now();
    let (row, grant) = managed(txn, user, id).await?;
    let from = status_of(&row)?;
    let to = transition(from, DisbursementEvent::Approve).map_err(transition_error)?;
    if grant.status != GrantStatus::Active.as_str() {
        return Err(AppError::InvalidState(format!(
            "the grant is {}; its tranches are no longer paid",
            grant.status
        )));
    }
    if row.planned_by == user {
        return Err(AppError::Forbidden(
            "four eyes: another manager must approve a tranche you planned".into(),
        ));
    }
    if row.condition.is_some() && row.condition_met_at.is_none() {
        return Err(waiting_error(
            "the tranche's condition must be marked met before approval",
            &[Waiting::Condition],
        ));
    }
    let fund = fund_of(txn, row.fund_id).await?;
    let threshold = threshold_of(&fund)?;
    let amount = amount_of(&row)?;
    if amount.currency() != threshold.currency() && expected.is_none() {
        return Err(AppError::bad_input(
            "expectedRate",
            format!(
                "give the rate from {} to {} you expect to use",
                amount.currency(),
                threshold.currency()
            ),
        ));
    }
    let check = measure(amount, expected.map(|q| &q.rate), threshold, "expectedRate")?;
    advance(
        txn,
        id,
        from,
        to,
        now,
        vec![
            (disbursement::Column::ApprovedBy, user.into()),
            (disbursement::Column::ApprovedAt, now.into()),
            (
                disbursement::Column::ExpectedRate,
                expected.map(|q| q.rate.to_string()).into(),
            ),
            (
                disbursement::Column::ExpectedRateSource,
                expected.map(|q| q.source.clone()).into(),
            ),
            (
                disbursement::Column::ExpectedRateOn,
                expected.map(|q| q.on).into(),
            ),
            (
                disbursement::Column::FilingRequired,
                check.filing_required.into(),
            ),
            (
                disbursement::Column::ThresholdEquivalentMinor,
                check.equivalent.minor().into(),
            ),
        ],
    )
    .await?;
    if check.filing_required && !has_filing(txn, id).await? {
        tell_filing_needed(ctx, txn, &grant, &row, amount, &check, threshold).await?;
    }
    audit_change(ctx, txn, actor, "disbursement.approve", &row).await?;
    Ok(id)
}

fn measure(
    amount: Money,
    rate: Option<&ExchangeRate>,
    threshold: Money,
    field: &str,
) -> AppResult<RemittanceCheck> {
    check_remittance(amount, rate, threshold).map_err(|e| AppError::bad_input(field, e))
}

async fn tell_filing_needed(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    grant: &grant::Model,
    row: &disbursement::Model,
    amount: Money,
    check: &RemittanceCheck,
    threshold: Money,
) -> AppResult<()> {
    let managers = people(db, grant.fund_id, FundRole::Manager).await?;
    email_users(
        ctx,
        db,
        EmailKind::FilingNeeded,
        &managers,
        &format!("filing_needed:{}", row.id),
        |manager, _| {
            json!({
                "name": manager.name, "grant": grant.reference, "amount": amount.to_string(),
                "usd_amount": check.equivalent.to_string(), "threshold": threshold.to_string(),
            })
        },
    )
    .await
}

/// Records the tax record filing for a payment above the remittance threshold (managers),
/// with its document.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn record_filing(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    input: FilingInput,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<Outcome<disbursement::Model>> {
    use sha2::{Digest, Sha256};
    let user = viewer.user_id()?;
    let format = crate::domain::document::check_format(&input.content_type, &input.content)
        .map_err(|e| AppError::bad_input("document", e))?;
    let sha256: String = Sha256::digest(&input.content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let keyed = key("recordRemittanceFiling", idempotency_key, (id, &input))?;
    let storage_key = Uuid::now_v7().to_string();
    let stored = std::sync::atomic::AtomicBool::new(false);
    let result = idempotency::run_with_replay(ctx, user, keyed.as_ref(), async |txn| {
        let now = ctx.clock.now();
        let (row, _) = managed(txn, user, id).await?;
        let status = status_of(&row)?;
        if !matches!(
            status,
            DisbursementStatus::Planned | DisbursementStatus::Approved
        ) {
            return Err(AppError::InvalidState(format!(
                "a filing is recorded before the payment is sent; the tranche is {status}"
            )));
        }
        if has_filing(txn, id).await? {
            return Err(AppError::Conflict(
                "a filing is recorded for this payment already".into(),
            ));
        }
        ctx.documents.put(&storage_key, &input.content).await?;
        stored.store(true, std::sync::atomic::Ordering::SeqCst);
        filing::ActiveModel {
            id: Set(Uuid::now_v7()),
            disbursement_id: Set(id),
            reference: Set(input.reference.clone()),
            filed_on: Set(input.filed_on),
            file_name: Set(input.file_name.clone()),
            content_type: Set(format.content_type().to_owned()),
            size_bytes: Set(i64::try_from(input.content.len()).unwrap_or(i64::MAX)),
            sha256: Set(sha256.clone()),
            storage_key: Set(storage_key.clone()),
            recorded_by: Set(user),
            created_at: Set(now),
        }
        .insert(txn)
        .await
        .map_err(|e| match crate::error::unique_violation(&e) {
            Some(_) => AppError::Conflict("a filing is recorded for this payment already".into()),
            None => e.into(),
        })?;
        audit::record(
            txn,
            &ctx.clock,
            actor,
            "disbursement.record_filing",
            AuditTarget {
                kind: "disbursement",
                id: Some(id),
            },
            None,
            Some(json!({ "reference": input.reference, "filedOn": input.filed_on, "sha256": sha256, "fileName": input.file_name })),
        )
        .await?;
        Ok(id)
    })
    .await;
    if result.is_err()
        && stored.load(std::sync::atomic::Ordering::SeqCst)
        && let Err(error) = ctx.documents.delete(&storage_key).await
    {
        tracing::warn!(
            error = format!("{error:#}"),
            "could not remove an unrecorded filing's document"
        );
    }
    reload(ctx, result?).await
}

/// The filing recorded for a disbursement, if any.
pub async fn filing_of(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<filing::Model>> {
    Ok(filing::Entity::find()
        .filter(filing::Column::DisbursementId.eq(id))
        .one(db)
        .await?)
}

/// Records that an approved tranche was sent (managers). The grantee must have accepted the
/// grant and have approved bank details; the remittance rule is checked again with the rate
/// actually used. The grant's and the fund's disbursed totals rise with conditional updates.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn mark_sent(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    input: SentInput,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<Outcome<disbursement::Model>> {
    let user = viewer.user_id()?;
    let keyed = key("markDisbursementSent", idempotency_key, (id, &input))?;
    let outcome = idempotency::run_with_replay(ctx, user, keyed.as_ref(), async |txn| {
        mark_sent_in(ctx, txn, user, actor, id, &input).await
    })
    .await?;
    reload(ctx, outcome).await
}

async fn mark_sent_in(
    ctx: &AppContext,
    txn: &DatabaseTransaction,
    user: Uuid,
    actor: &AuditActor,
    id: Uuid,
    input: &SentInput,
) -> AppResult<Uuid> {
    let now = ctx.clock.now();
    let (row, grant) = managed(txn, user, id).await?;
    let from = status_of(&row)?;
    let to = match transition(from, DisbursementEvent::MarkSent) {
        Ok(to) => to,
        Err(error) => {
            return Err(refused_step(txn, &row, &grant, DisbursementEvent::MarkSent, error).await?);
        }
    };
    // Everything the approved tranche still waits on before it can be sent, all at once, so the
    // manager learns the whole list from one refusal.
    let filed = row.filing_required && has_filing(txn, id).await?;
    let mut waits = waiting_on(&row, &grant, filed)?;
    waits.retain(|wait| *wait != Waiting::Sending);
    let bank = bank_details_of(&grant)?;
    if bank.is_none() && !waits.contains(&Waiting::BankDetails) {
        waits.push(Waiting::BankDetails);
    }
    let Some(bank) = bank.filter(|_| waits.is_empty()) else {
        return Err(waiting_error(
            format!("the payment cannot be sent yet: {}", describe(&waits)),
            &waits,
        ));
    };
    let fund = fund_of(txn, row.fund_id).await?;
    let threshold = threshold_of(&fund)?;
    let amount = amount_of(&row)?;
    if amount.currency() != threshold.currency() && input.rate_to_threshold.is_none() {
        return Err(AppError::bad_input(
            "input.rateToUsd",
            format!(
                "give the rate from {} to {} actually used",
                amount.currency(),
                threshold.currency()
            ),
        ));
    }
    if input.amount_sent.currency() != bank.currency {
        return Err(AppError::bad_input(
            "input.amountSent",
            format!("the payee's account holds {}", bank.currency),
        ));
    }
    if bank.currency != amount.currency() && input.rate_to_payee.is_none() {
        return Err(AppError::bad_input(
            "input.rateToPayee",
            format!(
                "give the rate from {} to {} actually used",
                amount.currency(),
                bank.currency
            ),
        ));
    }
    if input.amount_sent.minor() <= 0 {
        return Err(AppError::bad_input(
            "input.amountSent",
            "the amount sent must be above zero",
        ));
    }
    let check = measure(
        amount,
        input.rate_to_threshold.as_ref(),
        threshold,
        "input.rateToUsd",
    )?;
    if check.filing_required && !filed && !has_filing(txn, id).await? {
        return Err(waiting_error(
            format!(
                "the payment is worth {} at the rate used, above {}: record the remittance \
                 filing before sending",
                check.equivalent, threshold
            ),
            &[Waiting::Filing],
        ));
    }
    advance(
        txn,
        id,
        from,
        to,
        now,
        vec![
            (
                disbursement::Column::BankReference,
                input.bank_reference.clone().into(),
            ),
            (disbursement::Column::SentOn, input.sent_on.into()),
            (disbursement::Column::SentBy, user.into()),
            (
                disbursement::Column::ActualRate,
                input.rate_to_threshold.map(|r| r.to_string()).into(),
            ),
            (
                disbursement::Column::PayeeCurrency,
                bank.currency.code().to_owned().into(),
            ),
            (
                disbursement::Column::PayeeRate,
                input.rate_to_payee.map(|r| r.to_string()).into(),
            ),
            (
                disbursement::Column::AmountSentMinor,
                input.amount_sent.minor().into(),
            ),
            (
                disbursement::Column::FilingRequired,
                check.filing_required.into(),
            ),
            (
                disbursement::Column::ThresholdEquivalentMinor,
                check.equivalent.minor().into(),
            ),
        ],
    )
    .await?;
    let paid = grant::Entity::update_many()
        .col_expr(
            grant::Column::DisbursedMinor,
            Expr::col(grant::Column::DisbursedMinor).add(row.amount_minor),
        )
        .col_expr(grant::Column::UpdatedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(grant.id))
        .filter(grant::Column::Status.eq(GrantStatus::Active.as_str()))
        .filter(grant::Column::BankDetailsStatus.eq(BANK_DETAILS_APPROVED))
        .filter(grant::Column::BankDetailsUpdatedAt.eq(grant.bank_details_updated_at))
        .filter(
            Expr::col(grant::Column::DisbursedMinor)
                .add(row.amount_minor)
                .lte(Expr::col(grant::Column::AmountMinor)),
        )
        .exec(txn)
        .await?;
    if paid.rows_affected != 1 {
        return Err(AppError::InvalidState(
            "the grant changed meanwhile (ended, new bank details, or the payment would take its \
             disbursed total above the award); reload it"
                .into(),
        ));
    }
    move_fund_disbursed(txn, row.fund_id, row.amount_minor, now).await?;
    let members = grantee_members(txn, &grant).await?;
    email_users(
        ctx,
        txn,
        EmailKind::TrancheSent,
        &members,
        &format!("tranche_sent:{}", row.id),
        |member, _| {
            json!({
                "name": member.name, "grant": grant.reference, "amount": amount.to_string(),
                "sent_on": input.sent_on.to_string(), "bank_reference": input.bank_reference,
            })
        },
    )
    .await?;
    audit_change(ctx, txn, actor, "disbursement.mark_sent", &row).await?;
    Ok(id)
}

/// Moves the fund's disbursed total by `delta`; it never exceeds the committed total.
async fn move_fund_disbursed(
    db: &impl ConnectionTrait,
    fund_id: Uuid,
    delta: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let moved = fund::Entity::update_many()
        .col_expr(
            fund::Column::DisbursedMinor,
            Expr::col(fund::Column::DisbursedMinor).add(delta),
        )
        .col_expr(fund::Column::UpdatedAt, Expr::value(now))
        .filter(fund::Column::Id.eq(fund_id))
        .filter(
            Expr::col(fund::Column::DisbursedMinor)
                .add(delta)
                .lte(Expr::col(fund::Column::CommittedMinor)),
        )
        .filter(Expr::col(fund::Column::DisbursedMinor).add(delta).gte(0))
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::InvalidState(
            "the fund's disbursed total would leave its committed total".into(),
        ));
    }
    Ok(())
}

/// A member of the grantee confirms the money arrived; the fund's managers are told.
#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn confirm_received(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<Outcome<disbursement::Model>> {
    let user = viewer.user_id()?;
    let keyed = key("confirmDisbursementReceived", idempotency_key, id)?;
    let outcome = idempotency::run_with_replay(ctx, user, keyed.as_ref(), async |txn| {
        let now = ctx.clock.now();
        let row = find(txn, id)
            .await
            .map_err(|_| AppError::NotFound("disbursement"))?;
        let grant = as_grantee(txn, user, row.grant_id)
            .await
            .map_err(|e| match e {
                AppError::NotFound(_) => AppError::NotFound("disbursement"),
                other => other,
            })?;
        let from = status_of(&row)?;
        let to = match transition(from, DisbursementEvent::ConfirmReceived) {
            Ok(to) => to,
            Err(error) => {
                let event = DisbursementEvent::ConfirmReceived;
                return Err(refused_step(txn, &row, &grant, event, error).await?);
            }
        };
        advance(
            txn,
            id,
            from,
            to,
            now,
            vec![
                (disbursement::Column::ConfirmedBy, user.into()),
                (disbursement::Column::ConfirmedAt, now.into()),
            ],
        )
        .await?;
        let managers = people(txn, grant.fund_id, FundRole::Manager).await?;
        let confirmed_by = entity::user_account::Entity::find_by_id(user)
            .one(txn)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let amount = amount_of(&row)?;
        email_users(
            ctx,
            txn,
            EmailKind::ReceiptConfirmed,
            &managers,
            &format!("receipt_confirmed:{}", row.id),
            |manager, _| {
                json!({
                    "name": manager.name, "grant": grant.reference,
                    "amount": amount.to_string(), "confirmed_by": confirmed_by,
                })
            },
        )
        .await?;
        audit_change(ctx, txn, actor, "disbursement.confirm_received", &row).await?;
        Ok(id)
    })
    .await?;
    reload(ctx, outcome).await
}

/// Records that a sent payment came back (managers): it no longer counts as disbursed, and its
/// amount may be planned again.
pub async fn mark_failed(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    reason: String,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<Outcome<disbursement::Model>> {
    take_back(
        ctx,
        viewer,
        actor,
        id,
        reason,
        idempotency_key,
        TakeBack::Failed,
    )
    .await
}

/// Cancels a tranche not yet sent (managers); its amount may be planned again.
pub async fn cancel(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    reason: String,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<Outcome<disbursement::Model>> {
    take_back(
        ctx,
        viewer,
        actor,
        id,
        reason,
        idempotency_key,
        TakeBack::Cancelled,
    )
    .await
}

/// The two ways a tranche gives its amount back to the award.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TakeBack {
    /// Sent, and the money came back: it also leaves the disbursed totals.
    Failed,
    /// Not sent yet.
    Cancelled,
}

#[tracing::instrument(skip_all, fields(how = ?how))]
async fn take_back(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    reason: String,
    idempotency_key: Option<IdempotencyKey>,
    how: TakeBack,
) -> AppResult<Outcome<disbursement::Model>> {
    let (mutation, event, reason_column, action) = match how {
        TakeBack::Failed => (
            "markDisbursementFailed",
            DisbursementEvent::MarkFailed,
            disbursement::Column::FailureReason,
            "disbursement.mark_failed",
        ),
        TakeBack::Cancelled => (
            "cancelDisbursement",
            DisbursementEvent::Cancel,
            disbursement::Column::CancelReason,
            "disbursement.cancel",
        ),
    };
    let user = viewer.user_id()?;
    let keyed = key(mutation, idempotency_key, (id, &reason))?;
    let outcome = idempotency::run_with_replay(ctx, user, keyed.as_ref(), async |txn| {
        let now = ctx.clock.now();
        let (row, grant) = managed(txn, user, id).await?;
        let from = status_of(&row)?;
        let to = transition(from, event).map_err(transition_error)?;
        advance(
            txn,
            id,
            from,
            to,
            now,
            vec![(reason_column, reason.clone().into())],
        )
        .await?;
        let was_sent = how == TakeBack::Failed;
        release(txn, &grant, row.amount_minor, was_sent, now).await?;
        if was_sent {
            move_fund_disbursed(txn, row.fund_id, -row.amount_minor, now).await?;
        }
        audit_change(ctx, txn, actor, action, &row).await?;
        Ok(id)
    })
    .await?;
    reload(ctx, outcome).await
}

/// Gives a tranche's amount back to the grant's unplanned part (and takes it off the disbursed
/// total when it had been sent).
async fn release(
    db: &impl ConnectionTrait,
    grant: &grant::Model,
    amount: i64,
    was_disbursed: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut update = grant::Entity::update_many()
        .col_expr(
            grant::Column::PlannedMinor,
            Expr::col(grant::Column::PlannedMinor).sub(amount),
        )
        .col_expr(grant::Column::UpdatedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(grant.id))
        .filter(Expr::col(grant::Column::PlannedMinor).gte(amount));
    if was_disbursed {
        update = update
            .col_expr(
                grant::Column::DisbursedMinor,
                Expr::col(grant::Column::DisbursedMinor).sub(amount),
            )
            .filter(Expr::col(grant::Column::DisbursedMinor).gte(amount));
    }
    if update.exec(db).await?.rows_affected != 1 {
        return Err(AppError::internal(anyhow::anyhow!(
            "the grant's totals do not hold the tranche being released"
        )));
    }
    Ok(())
}

/// The tranches of a grant, in order.
pub async fn of_grant(
    db: &impl ConnectionTrait,
    grant_id: Uuid,
) -> AppResult<Vec<disbursement::Model>> {
    Ok(disbursement::Entity::find()
        .filter(disbursement::Column::GrantId.eq(grant_id))
        .order_by_asc(disbursement::Column::Sequence)
        .all(db)
        .await?)
}

/// Someone a tranche waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    Condition,
    Approval,
    Acceptance,
    BankDetails,
    Filing,
    Sending,
    Confirmation,
}

impl Waiting {
    /// The name the API gives it (the GraphQL enum `Waiting`), as refusals list it.
    pub fn as_str(self) -> &'static str {
        match self {
            Waiting::Condition => "CONDITION",
            Waiting::Approval => "APPROVAL",
            Waiting::Acceptance => "ACCEPTANCE",
            Waiting::BankDetails => "BANK_DETAILS",
            Waiting::Filing => "FILING",
            Waiting::Sending => "SENDING",
            Waiting::Confirmation => "CONFIRMATION",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Waiting::Condition => "a manager must mark its condition met",
            Waiting::Approval => "a manager other than its planner must approve it",
            Waiting::Acceptance => "the grantee must accept the grant's conditions",
            Waiting::BankDetails => {
                "the grantee's bank details are missing or wait for a manager's approval"
            }
            Waiting::Filing => "the remittance filing must be recorded",
            Waiting::Sending => "a manager must send it",
            Waiting::Confirmation => "the grantee must confirm receipt",
        }
    }
}

/// A tranche, for the fund's managers and the grantee's members (and admins), with its grant;
/// `NOT_FOUND` for everyone else, as for the grant.
pub async fn get(
    ctx: &AppContext,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<(disbursement::Model, grant::Model)> {
    let user = viewer.user_id()?;
    let row = find(&ctx.db, id).await?;
    let grant = crate::service::grant::find(&ctx.db, row.grant_id).await?;
    match role_on(&ctx.db, user, &grant).await? {
        Some(_) => Ok((row, grant)),
        None => Err(AppError::NotFound("disbursement")),
    }
}

/// What a tranche waits on before it can move on, in the order they must be cleared.
pub fn waiting_on(
    row: &disbursement::Model,
    grant: &grant::Model,
    has_filing: bool,
) -> AppResult<Vec<Waiting>> {
    let mut waits = Vec::new();
    match status_of(row)? {
        DisbursementStatus::Planned => {
            if row.condition.is_some() && row.condition_met_at.is_none() {
                waits.push(Waiting::Condition);
            }
            waits.push(Waiting::Approval);
        }
        DisbursementStatus::Approved => {
            if grant.accepted_at.is_none() {
                waits.push(Waiting::Acceptance);
            }
            if grant.bank_details_status.as_deref() != Some(BANK_DETAILS_APPROVED) {
                waits.push(Waiting::BankDetails);
            }
            if row.filing_required && !has_filing {
                waits.push(Waiting::Filing);
            }
            waits.push(Waiting::Sending);
        }
        DisbursementStatus::Sent => waits.push(Waiting::Confirmation),
        _ => {}
    }
    Ok(waits)
}

/// Tells the fund's managers, once per tranche, about tranches past their due date and not sent.
#[tracing::instrument(skip_all)]
pub async fn send_overdue_notices(ctx: &AppContext) -> AppResult<usize> {
    let now = ctx.clock.now();
    let today = now.date_naive();
    let overdue = disbursement::Entity::find()
        .filter(disbursement::Column::Status.is_in([
            DisbursementStatus::Planned.as_str(),
            DisbursementStatus::Approved.as_str(),
        ]))
        .filter(disbursement::Column::DueOn.lt(today))
        .filter(disbursement::Column::OverdueNotifiedAt.is_null())
        .all(&ctx.db)
        .await?;
    let mut told = 0;
    for row in overdue {
        let txn = ctx.begin_write().await?;
        let marked = disbursement::Entity::update_many()
            .col_expr(disbursement::Column::OverdueNotifiedAt, Expr::value(now))
            .filter(disbursement::Column::Id.eq(row.id))
            .filter(disbursement::Column::OverdueNotifiedAt.is_null())
            .exec(&txn)
            .await?;
        if marked.rows_affected == 1 {
            let grant = crate::service::grant::find(&txn, row.grant_id).await?;
            let managers = people(&txn, grant.fund_id, FundRole::Manager).await?;
            let amount = amount_of(&row)?;
            email_users(
                ctx,
                &txn,
                EmailKind::TrancheOverdue,
                &managers,
                &format!("tranche_overdue:{}", row.id),
                |manager, _| {
                    json!({
                        "name": manager.name, "grant": grant.reference,
                        "amount": amount.to_string(), "due_on": row.due_on.to_string(),
                    })
                },
            )
            .await?;
            told += 1;
        }
        txn.commit().await?;
    }
    Ok(told)
}

/// Ends a grant (managers). Completion needs every tranche settled; termination cancels the
/// tranches not sent and waits for money on its way. Either way, the part of the award not
/// disbursed stops being committed, in the call and in the fund, in the same transaction.
#[tracing::instrument(skip_all, fields(grant_id = %grant_id, viewer = ?viewer.optional_user_id()))]
pub async fn close_grant(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    grant_id: Uuid,
    event: GrantEvent,
    reason: Option<String>,
) -> AppResult<grant::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    as_manager(&txn, user, grant_id).await?;
    // Lock the grant before reading its tranches, so no tranche is planned or sent meanwhile.
    let locked = grant::Entity::update_many()
        .col_expr(grant::Column::UpdatedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(grant_id))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        return Err(AppError::NotFound("grant"));
    }
    let grant = crate::service::grant::find(&txn, grant_id).await?;
    let status: GrantStatus = grant
        .status
        .parse()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    let tranches = of_grant(&txn, grant.id).await?;
    let count = |wanted: &[DisbursementStatus]| -> AppResult<usize> {
        let mut n = 0;
        for row in &tranches {
            if wanted.contains(&status_of(row)?) {
                n += 1;
            }
        }
        Ok(n)
    };
    let unsent = count(&[DisbursementStatus::Planned, DisbursementStatus::Approved])?;
    let sent = count(&[DisbursementStatus::Sent])?;
    let to = crate::domain::decision::close_grant(status, event, unsent, sent)
        .map_err(|e| AppError::InvalidState(e.to_string()))?;
    let mut cancelled = 0_i64;
    for row in &tranches {
        let from = status_of(row)?;
        if matches!(
            from,
            DisbursementStatus::Planned | DisbursementStatus::Approved
        ) {
            let to = transition(from, DisbursementEvent::Cancel).map_err(transition_error)?;
            let why = format!(
                "the grant was terminated: {}",
                reason.as_deref().unwrap_or("no reason given")
            );
            advance(
                &txn,
                row.id,
                from,
                to,
                now,
                vec![(disbursement::Column::CancelReason, why.into())],
            )
            .await?;
            audit_change(ctx, &txn, actor, "disbursement.cancel", row).await?;
            cancelled += row.amount_minor;
        }
    }
    let release = grant.amount_minor - grant.disbursed_minor;
    let closed = grant::Entity::update_many()
        .col_expr(grant::Column::Status, Expr::value(to.as_str()))
        .col_expr(
            grant::Column::PlannedMinor,
            Expr::col(grant::Column::PlannedMinor).sub(cancelled),
        )
        .col_expr(grant::Column::UpdatedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(grant.id))
        .filter(grant::Column::Status.eq(status.as_str()))
        .filter(grant::Column::DisbursedMinor.eq(grant.disbursed_minor))
        .exec(&txn)
        .await?;
    if closed.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the grant changed meanwhile; reload it".into(),
        ));
    }
    let call_released = entity::call::Entity::update_many()
        .col_expr(
            entity::call::Column::CommittedMinor,
            Expr::col(entity::call::Column::CommittedMinor).sub(release),
        )
        .col_expr(entity::call::Column::UpdatedAt, Expr::value(now))
        .filter(entity::call::Column::Id.eq(grant.call_id))
        .filter(Expr::col(entity::call::Column::CommittedMinor).gte(release))
        .exec(&txn)
        .await?;
    let fund_released = fund::Entity::update_many()
        .col_expr(
            fund::Column::CommittedMinor,
            Expr::col(fund::Column::CommittedMinor).sub(release),
        )
        .col_expr(fund::Column::UpdatedAt, Expr::value(now))
        .filter(fund::Column::Id.eq(grant.fund_id))
        .filter(
            Expr::col(fund::Column::CommittedMinor)
                .sub(release)
                .gte(Expr::col(fund::Column::DisbursedMinor)),
        )
        .exec(&txn)
        .await?;
    if call_released.rows_affected != 1 || fund_released.rows_affected != 1 {
        return Err(AppError::internal(anyhow::anyhow!(
            "the call's or the fund's committed total does not hold the grant being closed"
        )));
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        match event {
            GrantEvent::Complete => "grant.complete",
            GrantEvent::Terminate => "grant.terminate",
        },
        AuditTarget {
            kind: "grant",
            id: Some(grant.id),
        },
        Some(json!({ "status": status.as_str(), "plannedMinor": grant.planned_minor })),
        Some(json!({
            "status": to.as_str(), "releasedMinor": release, "cancelledMinor": cancelled,
            "reason": reason,
        })),
    )
    .await?;
    let grant = crate::service::grant::find(&txn, grant.id).await?;
    txn.commit().await?;
    Ok(grant)
}
