//! An organisation: an applicant or a partner.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name_en: String,
    pub name_zh: Option<String>,
    /// IATI OrganisationType code.
    pub org_type: i16,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// org-id.guide identifier, such as `CN-USCI-…`.
    pub registry_identifier: String,
    pub registered_on: Option<Date>,
    pub website: Option<String>,
    pub annual_budget_minor: Option<i64>,
    pub annual_budget_currency: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
