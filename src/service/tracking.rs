//! Following the money, for a fund's managers: budget, committed, disbursed and remaining for a
//! fund or a call, broken down by host country, applicant category and SDG; the tranches that
//! are due, overdue, or waiting on someone; and the audit trail of a grant.

use chrono::NaiveDate;
use entity::{audit_event, call, disbursement, grant, remittance_filing};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::domain::call::CallStatus;
use crate::domain::decision::GrantStatus;
use crate::domain::disbursement::DisbursementStatus;
use crate::domain::identity::GlobalRole;
use crate::domain::tracking::{BreakdownLine, Contribution, breakdown};
use crate::error::{AppError, AppResult};
use crate::pagination::{self, Cursor, Direction, Page, PageRequest};
use crate::service::call::split_delimited;
use crate::service::fund::is_manager;
use crate::service::grant::BANK_DETAILS_APPROVED;
use crate::service::identity::global_roles;

/// Money totals, in minor units of the fund's currency.
#[derive(Debug, Clone)]
pub struct Summary {
    pub budget_minor: i64,
    pub committed_minor: i64,
    pub disbursed_minor: i64,
    pub grants: u32,
    pub by_host_country: Vec<BreakdownLine>,
    pub by_applicant_category: Vec<BreakdownLine>,
    pub by_sdg: Vec<BreakdownLine>,
}

impl Summary {
    pub fn remaining_minor(&self) -> i64 {
        self.budget_minor - self.committed_minor
    }
}

async fn require_insight(ctx: &AppContext, viewer: &Viewer, fund_id: Uuid) -> AppResult<()> {
    let user = viewer.user_id()?;
    if is_manager(&ctx.db, fund_id, user).await?
        || global_roles(&ctx.db, user)
            .await?
            .contains(&GlobalRole::Admin)
    {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only managers of this fund may see its money".into(),
        ))
    }
}

/// What a breakdown needs of a grant, read from the grants alone (a covering index on
/// PostgreSQL).
#[derive(Debug, FromQueryResult)]
struct GrantFacts {
    amount_minor: i64,
    disbursed_minor: i64,
    status: String,
    host_countries: String,
    sdg_goals: String,
    applicant_category: String,
}

async fn breakdowns(
    ctx: &AppContext,
    scope: SimpleExpr,
) -> AppResult<(
    u32,
    i64,
    Vec<BreakdownLine>,
    Vec<BreakdownLine>,
    Vec<BreakdownLine>,
)> {
    let query = Query::select()
        .column((grant::Entity, grant::Column::AmountMinor))
        .column((grant::Entity, grant::Column::DisbursedMinor))
        .column((grant::Entity, grant::Column::Status))
        .column((grant::Entity, grant::Column::HostCountries))
        .column((grant::Entity, grant::Column::SdgGoals))
        .column((grant::Entity, grant::Column::ApplicantCategory))
        .from(grant::Entity)
        .and_where(scope)
        .to_owned();
    let backend = ctx.db.get_database_backend();
    let grants = GrantFacts::find_by_statement(backend.build(&query))
        .all(&ctx.db)
        .await?;
    let mut countries = Vec::with_capacity(grants.len());
    let mut categories = Vec::with_capacity(grants.len());
    let mut goals = Vec::with_capacity(grants.len());
    let mut disbursed = 0;
    for grant in &grants {
        // An ended grant keeps committed only what it paid.
        let committed = if grant.status == GrantStatus::Active.as_str() {
            grant.amount_minor
        } else {
            grant.disbursed_minor
        };
        let contribution = |keys: Vec<String>| Contribution {
            keys,
            committed_minor: committed,
            disbursed_minor: grant.disbursed_minor,
        };
        disbursed += grant.disbursed_minor;
        countries.push(contribution(split_delimited(&grant.host_countries)));
        categories.push(contribution(vec![grant.applicant_category.clone()]));
        goals.push(contribution(split_delimited(&grant.sdg_goals)));
    }
    Ok((
        u32::try_from(grants.len()).unwrap_or(u32::MAX),
        disbursed,
        breakdown(&countries),
        breakdown(&categories),
        breakdown(&goals),
    ))
}

/// A fund's money and its breakdowns, for its managers and admins.
pub async fn fund_summary(ctx: &AppContext, viewer: &Viewer, fund_id: Uuid) -> AppResult<Summary> {
    let fund = crate::service::fund::find(&ctx.db, fund_id).await?;
    require_insight(ctx, viewer, fund.id).await?;
    let (grants, _, by_host_country, by_applicant_category, by_sdg) = breakdowns(
        ctx,
        Expr::col((grant::Entity, grant::Column::FundId)).eq(fund.id),
    )
    .await?;
    Ok(Summary {
        budget_minor: fund.budget_minor,
        committed_minor: fund.committed_minor,
        disbursed_minor: fund.disbursed_minor,
        grants,
        by_host_country,
        by_applicant_category,
        by_sdg,
    })
}

/// A call's money and its breakdowns, for its fund's managers and admins.
pub async fn call_summary(ctx: &AppContext, viewer: &Viewer, call_id: Uuid) -> AppResult<Summary> {
    let call = call::Entity::find_by_id(call_id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound("call"))?;
    match require_insight(ctx, viewer, call.fund_id).await {
        // A draft is known only inside its fund: anyone else learns nothing of it.
        Err(AppError::Forbidden(_)) if call.status == CallStatus::Draft.as_str() => {
            return Err(AppError::NotFound("call"));
        }
        refused => refused?,
    }
    let (grants, disbursed, by_host_country, by_applicant_category, by_sdg) = breakdowns(
        ctx,
        Expr::col((grant::Entity, grant::Column::CallId)).eq(call.id),
    )
    .await?;
    Ok(Summary {
        budget_minor: call.budget_minor,
        committed_minor: call.committed_minor,
        disbursed_minor: disbursed,
        grants,
        by_host_country,
        by_applicant_category,
        by_sdg,
    })
}

/// The tranches a manager follows up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisbursementView {
    /// Not yet sent and due today or later, soonest first.
    Upcoming,
    /// Not yet sent and past their due date.
    Overdue,
    /// Planned, waiting for a second manager's approval.
    AwaitingApproval,
    /// Approved, above the remittance threshold, and without a filing.
    AwaitingFiling,
    /// Approved, but the grantee's bank details are missing or wait for approval.
    AwaitingBankDetails,
    /// Sent, waiting for the grantee to confirm receipt.
    AwaitingConfirmation,
}

fn cursor_of(row: &disbursement::Model) -> Cursor {
    Cursor {
        key: row.due_on.to_string(),
        id: row.id,
    }
}

/// A fund's tranches in one of the follow-up views, by due date.
pub async fn disbursements(
    ctx: &AppContext,
    viewer: &Viewer,
    fund_id: Uuid,
    view: DisbursementView,
    page: &PageRequest,
) -> AppResult<Page<disbursement::Model>> {
    crate::service::fund::find(&ctx.db, fund_id).await?;
    require_insight(ctx, viewer, fund_id).await?;
    let today = ctx.clock.now().date_naive();
    let unsent = [
        DisbursementStatus::Planned.as_str(),
        DisbursementStatus::Approved.as_str(),
    ];
    let approved = DisbursementStatus::Approved.as_str();
    let mut condition = Condition::all().add(disbursement::Column::FundId.eq(fund_id));
    condition = match view {
        DisbursementView::Upcoming => condition
            .add(disbursement::Column::Status.is_in(unsent))
            .add(disbursement::Column::DueOn.gte(today)),
        DisbursementView::Overdue => condition
            .add(disbursement::Column::Status.is_in(unsent))
            .add(disbursement::Column::DueOn.lt(today)),
        DisbursementView::AwaitingApproval => {
            condition.add(disbursement::Column::Status.eq(DisbursementStatus::Planned.as_str()))
        }
        DisbursementView::AwaitingFiling => condition
            .add(disbursement::Column::Status.eq(approved))
            .add(disbursement::Column::FilingRequired.eq(true))
            .add(
                disbursement::Column::Id.not_in_subquery(
                    Query::select()
                        .column(remittance_filing::Column::DisbursementId)
                        .from(remittance_filing::Entity)
                        .to_owned(),
                ),
            ),
        DisbursementView::AwaitingBankDetails => condition
            .add(disbursement::Column::Status.eq(approved))
            .add(
                disbursement::Column::GrantId.not_in_subquery(
                    Query::select()
                        .column(grant::Column::Id)
                        .from(grant::Entity)
                        .and_where(grant::Column::FundId.eq(fund_id))
                        .and_where(grant::Column::BankDetailsStatus.eq(BANK_DETAILS_APPROVED))
                        .to_owned(),
                ),
            ),
        DisbursementView::AwaitingConfirmation => {
            condition.add(disbursement::Column::Status.eq(DisbursementStatus::Sent.as_str()))
        }
    };
    let total = if page.count_total {
        disbursement::Entity::find()
            .filter(condition.clone())
            .count(&ctx.db)
            .await?
    } else {
        0
    };
    let mut query = disbursement::Entity::find().filter(condition);
    if let Some(after) = &page.after {
        let due: NaiveDate = after
            .key
            .parse()
            .map_err(|_| AppError::bad_input("after", "after is not a cursor of this list"))?;
        query = query.filter(pagination::after(
            disbursement::Column::DueOn,
            disbursement::Column::Id,
            due,
            after.id,
            Direction::Ascending,
        ));
    }
    let rows = query
        .order_by_asc(disbursement::Column::DueOn)
        .order_by_asc(disbursement::Column::Id)
        .limit(page.limit + 1)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|row| (cursor_of(&row), row))
        .collect();
    Ok(Page::from_rows(rows, page, total))
}

/// Every recorded change to a grant, its tranches and the decision that created it, oldest first.
pub async fn audit_trail(
    db: &impl sea_orm::ConnectionTrait,
    grant: &grant::Model,
) -> AppResult<Vec<audit_event::Model>> {
    let tranches: Vec<Uuid> = disbursement::Entity::find()
        .filter(disbursement::Column::GrantId.eq(grant.id))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect();
    Ok(audit_event::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(audit_event::Column::TargetType.eq("grant"))
                        .add(audit_event::Column::TargetId.eq(grant.id)),
                )
                .add(
                    Condition::all()
                        .add(audit_event::Column::TargetType.eq("disbursement"))
                        .add(audit_event::Column::TargetId.is_in(tranches)),
                )
                .add(
                    Condition::all()
                        .add(audit_event::Column::TargetType.eq("application"))
                        .add(audit_event::Column::TargetId.eq(grant.application_id))
                        .add(audit_event::Column::Action.eq("application.decide")),
                ),
        )
        .order_by_asc(audit_event::Column::CreatedAt)
        .order_by_asc(audit_event::Column::Id)
        .all(db)
        .await?)
}
