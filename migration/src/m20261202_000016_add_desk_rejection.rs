//! A decision remembers whether it was a desk rejection (a submitted application rejected without
//! review) and why, so managers and applicants can tell it from a rejection on reviews. The
//! column is empty for every other decision, including those made before it existed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApplicationDecision {
    Table,
    DeskRejection,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApplicationDecision::Table)
                    .add_column(
                        ColumnDef::new(ApplicationDecision::DeskRejection)
                            .string_len(20)
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApplicationDecision::Table)
                    .drop_column(ApplicationDecision::DeskRejection)
                    .to_owned(),
            )
            .await
    }
}
