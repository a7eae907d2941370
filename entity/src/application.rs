//! An application of an organisation to a call.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "application")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub call_id: Uuid,
    /// The call's fund, kept here so a manager's listing reads one index range per fund.
    pub fund_id: Uuid,
    pub organization_id: Uuid,
    /// The applicant's derived category when the application was last saved, for filtering.
    pub applicant_category: String,
    /// Human-readable, such as `BF-2027-0042`.
    pub reference: String,
    pub title_en: Option<String>,
    pub title_zh: Option<String>,
    pub summary_en: Option<String>,
    pub summary_zh: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    /// `,KE,TZ,`
    pub host_countries: String,
    /// `,6,3,`
    pub sdg_goals: String,
    pub requested_minor: i64,
    pub duration_months: Option<i32>,
    pub planned_start: Option<Date>,
    pub status: String,
    pub submitted_at: Option<DateTimeUtc>,
    pub reminder_sent_at: Option<DateTimeUtc>,
    /// Submitted reviews so far.
    pub review_count: i32,
    /// Mean of the submitted reviews' weighted scores, in basis points of 100 (8333 = 83.33).
    pub score_bp: Option<i32>,
    /// Highest minus lowest submitted score, in basis points.
    pub score_spread_bp: Option<i32>,
    /// Raised by every save of the draft; a save based on an older version is refused.
    pub version: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
