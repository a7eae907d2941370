//! One tranche of a grant and the payment that carries it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "disbursement")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub grant_id: Uuid,
    pub fund_id: Uuid,
    /// 1, 2, … within the grant.
    pub sequence: i32,
    /// In the fund's currency.
    pub amount_minor: i64,
    pub currency: String,
    pub due_on: Date,
    /// A condition in words that a manager marks met before approval.
    pub condition: Option<String>,
    pub condition_met_at: Option<DateTimeUtc>,
    pub condition_met_by: Option<Uuid>,
    /// `PLANNED`, `APPROVED`, `SENT`, `CONFIRMED`, `FAILED` or `CANCELLED`.
    pub status: String,
    pub planned_by: Uuid,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
    /// The rate to the threshold's currency (USD) expected at approval, as an exact decimal.
    pub expected_rate: Option<String>,
    pub expected_rate_source: Option<String>,
    pub expected_rate_on: Option<Date>,
    /// Whether the remittance rule asks for a tax record filing before sending.
    pub filing_required: bool,
    pub bank_reference: Option<String>,
    pub sent_on: Option<Date>,
    pub sent_by: Option<Uuid>,
    /// The rate to the threshold's currency actually used.
    pub actual_rate: Option<String>,
    pub payee_currency: Option<String>,
    /// The rate to the payee's currency actually used.
    pub payee_rate: Option<String>,
    /// What arrived in the payee's currency, in its minor units.
    pub amount_sent_minor: Option<i64>,
    /// The payment in the threshold's currency, at the latest known rate.
    pub threshold_equivalent_minor: Option<i64>,
    pub confirmed_by: Option<Uuid>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub failure_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub overdue_notified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
