//! A call for proposals within a fund.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "call")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub fund_id: Uuid,
    pub title_en: String,
    pub title_zh: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    pub status: String,
    /// A manager asked for it to open; the scheduler opens it at `opens_at`.
    pub published: bool,
    pub opens_at: DateTimeUtc,
    pub closes_at: DateTimeUtc,
    pub budget_minor: i64,
    pub min_award_minor: i64,
    pub max_award_minor: i64,
    pub committed_minor: i64,
    /// `,KE,TZ,`
    pub host_countries: String,
    /// `,1,5,17,`
    pub sdg_goals: String,
    /// `,CHINESE_NGO,HOST_COUNTRY_NGO,`: derived from the rules, for filtering.
    pub eligible_categories: String,
    pub rubric: Option<Json>,
    pub rules: Json,
    pub reviewers_per_application: i32,
    pub blind_review: bool,
    /// Reviewers' scores further apart than this (basis points of 0-100) need moderation.
    pub moderation_threshold_bp: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
