//! The append-only audit trail: one row per mutation, written in the mutation's transaction.
//! Triggers refuse UPDATE and DELETE on both databases, so not even a bug can rewrite history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    ActorId,
    Action,
    TargetType,
    TargetId,
    BeforeState,
    AfterState,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(pk_uuid(AuditEvent::Id))
                    .col(uuid_null(AuditEvent::ActorId))
                    .col(string_len(AuditEvent::Action, 100))
                    .col(string_len(AuditEvent::TargetType, 50))
                    .col(uuid_null(AuditEvent::TargetId))
                    .col(json_binary_null(AuditEvent::BeforeState))
                    .col(json_binary_null(AuditEvent::AfterState))
                    .col(string_len_null(AuditEvent::RequestId, 100))
                    .col(timestamp_with_time_zone(AuditEvent::CreatedAt))
                    .col(timestamp_with_time_zone(AuditEvent::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_event_target")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::TargetType)
                    .col(AuditEvent::TargetId)
                    .col(AuditEvent::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_event_actor")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::ActorId)
                    .col(AuditEvent::CreatedAt)
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_event_is_append_only() RETURNS trigger
                     LANGUAGE plpgsql AS $$
                     BEGIN
                       RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
                     END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_event_append_only
                     BEFORE UPDATE OR DELETE ON audit_event
                     FOR EACH ROW EXECUTE FUNCTION audit_event_is_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_event_no_truncate
                     BEFORE TRUNCATE ON audit_event
                     FOR EACH STATEMENT EXECUTE FUNCTION audit_event_is_append_only()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
                     BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
                     BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvent::Table).to_owned())
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS audit_event_is_append_only()")
                .await?;
        }
        Ok(())
    }
}
