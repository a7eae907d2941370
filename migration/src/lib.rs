//! Database migrations, one file each, applied in order. A landed migration is history: it is
//! never edited; a change is a new migration. Every migration has a `down`. Migrations do not use
//! the `entity` crate, since entities change and history must not.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_audit_event;
mod m20261122_000002_create_email_outbox;
mod m20261122_000003_create_identity;
mod m20261122_000004_create_organization;
mod m20261122_000005_create_fund;
mod m20261122_000006_create_call;
mod m20261122_000007_create_application;
mod m20261122_000008_create_application_document;
mod m20261122_000009_create_review;
mod m20261122_000010_create_decision_and_grant;
mod m20261122_000011_create_disbursement;
mod m20261122_000012_add_listing_indexes;
mod m20261122_000013_add_application_fund;
mod m20261122_000014_add_grant_breakdown_keys;
mod m20261202_000015_move_required_documents_into_rules;
mod m20261202_000016_add_desk_rejection;
mod m20261202_000017_add_application_version;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_audit_event::Migration),
            Box::new(m20261122_000002_create_email_outbox::Migration),
            Box::new(m20261122_000003_create_identity::Migration),
            Box::new(m20261122_000004_create_organization::Migration),
            Box::new(m20261122_000005_create_fund::Migration),
            Box::new(m20261122_000006_create_call::Migration),
            Box::new(m20261122_000007_create_application::Migration),
            Box::new(m20261122_000008_create_application_document::Migration),
            Box::new(m20261122_000009_create_review::Migration),
            Box::new(m20261122_000010_create_decision_and_grant::Migration),
            Box::new(m20261122_000011_create_disbursement::Migration),
            Box::new(m20261122_000012_add_listing_indexes::Migration),
            Box::new(m20261122_000013_add_application_fund::Migration),
            Box::new(m20261122_000014_add_grant_breakdown_keys::Migration),
            Box::new(m20261202_000015_move_required_documents_into_rules::Migration),
            Box::new(m20261202_000016_add_desk_rejection::Migration),
            Box::new(m20261202_000017_add_application_version::Migration),
        ]
    }
}
