//! A fund: a budget in one currency, run by its managers. Totals are kept on the row and changed
//! only by conditional updates, so no interleaving of requests overspends.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "fund")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name_en: String,
    pub name_zh: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    /// ISO 4217; every amount of the fund's calls, applications and grants is in it.
    pub currency: String,
    pub budget_minor: i64,
    /// Sum of the budgets of the fund's calls.
    pub allocated_minor: i64,
    /// Sum of the fund's grants.
    pub committed_minor: i64,
    /// Sum of payments sent or confirmed.
    pub disbursed_minor: i64,
    /// A payment above this (in the threshold currency) needs a tax record filing.
    pub remittance_threshold_minor: i64,
    pub remittance_threshold_currency: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
