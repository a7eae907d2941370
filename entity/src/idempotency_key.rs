//! A money-moving request's idempotency key and the outcome it is replayed with.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The mutation's name, such as `markDisbursementSent`.
    pub mutation: String,
    pub key: String,
    /// Hex SHA-256 of the request's arguments.
    pub request_hash: String,
    /// `{ "ok": <value> }` once the effect completed (the id or ids it answers); refusals are
    /// not kept.
    pub outcome: Option<Json>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
