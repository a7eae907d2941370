//! Each application keeps its call's fund, so a manager's listing is one index range per fund
//! (fund, then the sort key) instead of a walk over every application filtered by a subquery.
//! Existing rows take the fund of their call.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Application {
    Table,
    Id,
    FundId,
    CreatedAt,
    SubmittedAt,
    RequestedMinor,
}

/// (name, sort key) of the per-fund listing indexes.
fn indexes() -> Vec<(&'static str, Application)> {
    vec![
        ("ix_application_fund_created", Application::CreatedAt),
        ("ix_application_fund_submitted", Application::SubmittedAt),
        ("ix_application_fund_requested", Application::RequestedMinor),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Added without NOT NULL first: SQLite cannot add a NOT NULL column without a default.
        manager
            .alter_table(
                Table::alter()
                    .table(Application::Table)
                    .add_column(ColumnDef::new(Application::FundId).uuid().null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE application SET fund_id = \
             (SELECT call.fund_id FROM call WHERE call.id = application.call_id)",
        )
        .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared("ALTER TABLE application ALTER COLUMN fund_id SET NOT NULL")
                .await?;
            db.execute_unprepared(
                "ALTER TABLE application ADD CONSTRAINT fk_application_fund \
                 FOREIGN KEY (fund_id) REFERENCES fund (id)",
            )
            .await?;
        }
        for (name, sort) in indexes() {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Application::Table)
                        .col(Application::FundId)
                        .col(sort)
                        .col(Application::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in indexes() {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Application::Table)
                        .to_owned(),
                )
                .await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE application DROP CONSTRAINT fk_application_fund")
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Application::Table)
                    .drop_column(Application::FundId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
