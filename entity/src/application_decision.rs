//! A manager's decision on an application. A waitlisted application gets a second, final one; a
//! submitted one may be rejected at the desk, without review.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "application_decision")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    /// `APPROVE`, `REJECT` or `WAITLIST`.
    pub outcome: String,
    /// The award, for an approval, in minor units of the fund's currency.
    pub amount_minor: Option<i64>,
    pub conditions: Option<String>,
    pub rationale: Option<String>,
    /// Whether the applicant may read the rationale.
    pub rationale_shared: bool,
    pub decided_by: Uuid,
    /// For a rejection at the desk, without review: `OUT_OF_SCOPE`, `DUPLICATE`, `INCOMPLETE` or
    /// `OTHER`.
    pub desk_rejection: Option<String>,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
