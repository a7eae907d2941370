//! One row of the append-only audit trail.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user who acted; none for the system itself (workers, bootstrap).
    pub actor_id: Option<Uuid>,
    /// What was done, as `area.verb` (for example `fund.create`).
    pub action: String,
    pub target_type: String,
    pub target_id: Option<Uuid>,
    pub before_state: Option<Json>,
    pub after_state: Option<Json>,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
