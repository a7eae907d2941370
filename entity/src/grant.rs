//! A grant awarded by approving an application. Stored as `grant_award`: `GRANT` is reserved.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "grant_award")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    pub fund_id: Uuid,
    pub call_id: Uuid,
    /// The grantee.
    pub organization_id: Uuid,
    /// The application's reference, such as `BF-2027-0042`.
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
    pub conditions: Option<String>,
    pub starts_on: Date,
    pub ends_on: Date,
    /// `ACTIVE`, `COMPLETED` or `TERMINATED`.
    pub status: String,
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_by: Option<Uuid>,
    /// Tranches that still hold part of the award (not failed or cancelled).
    pub planned_minor: i64,
    /// Sent and confirmed tranches.
    pub disbursed_minor: i64,
    /// The payee's bank details: `{ accountName, accountNumber, bankName, swift, currency }`.
    pub bank_details: Option<Json>,
    /// `APPROVED` (payments may go out) or `PENDING` (changed after acceptance; a manager must
    /// approve before any further payment).
    pub bank_details_status: Option<String>,
    pub bank_details_updated_at: Option<DateTimeUtc>,
    pub bank_details_updated_by: Option<Uuid>,
    /// The application's host countries (`,KE,TZ,`), goals (`,6,3,`) and applicant category,
    /// frozen at submission and kept here for the summaries' breakdowns.
    pub host_countries: String,
    pub sdg_goals: String,
    pub applicant_category: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
