//! Funds, their managers and their reviewer pools. Running totals (allocated to calls, committed
//! to grants, disbursed) live on the fund row so that every change to them is one conditional
//! update, safe across instances.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Fund {
    Table,
    Id,
    NameEn,
    NameZh,
    DescriptionEn,
    DescriptionZh,
    Currency,
    BudgetMinor,
    AllocatedMinor,
    CommittedMinor,
    DisbursedMinor,
    RemittanceThresholdMinor,
    RemittanceThresholdCurrency,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum FundManager {
    Table,
    Id,
    FundId,
    UserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum FundReviewer {
    Table,
    Id,
    FundId,
    UserId,
    AddedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserAccount {
    Table,
    Id,
}

fn membership_table<T: IntoIden + Copy + 'static>(
    table: T,
    id: T,
    fund_id: T,
    user_id: T,
    created_at: T,
    updated_at: T,
    name: &str,
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(pk_uuid(id))
        .col(uuid(fund_id))
        .col(uuid(user_id))
        .col(timestamp_with_time_zone(created_at))
        .col(timestamp_with_time_zone(updated_at))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_fund"))
                .from(table, fund_id)
                .to(Fund::Table, Fund::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_user"))
                .from(table, user_id)
                .to(UserAccount::Table, UserAccount::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Fund::Table)
                    .col(pk_uuid(Fund::Id))
                    .col(string_len(Fund::NameEn, 300))
                    .col(string_len_null(Fund::NameZh, 300))
                    .col(text_null(Fund::DescriptionEn))
                    .col(text_null(Fund::DescriptionZh))
                    .col(string_len(Fund::Currency, 3))
                    .col(big_integer(Fund::BudgetMinor))
                    .col(big_integer(Fund::AllocatedMinor))
                    .col(big_integer(Fund::CommittedMinor))
                    .col(big_integer(Fund::DisbursedMinor))
                    .col(big_integer(Fund::RemittanceThresholdMinor))
                    .col(string_len(Fund::RemittanceThresholdCurrency, 3))
                    .col(uuid(Fund::CreatedBy))
                    .col(timestamp_with_time_zone(Fund::CreatedAt))
                    .col(timestamp_with_time_zone(Fund::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_fund_created_by")
                            .from(Fund::Table, Fund::CreatedBy)
                            .to(UserAccount::Table, UserAccount::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(membership_table(
                FundManager::Table,
                FundManager::Id,
                FundManager::FundId,
                FundManager::UserId,
                FundManager::CreatedAt,
                FundManager::UpdatedAt,
                "fund_manager",
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_fund_manager")
                    .table(FundManager::Table)
                    .col(FundManager::FundId)
                    .col(FundManager::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_fund_manager_user")
                    .table(FundManager::Table)
                    .col(FundManager::UserId)
                    .to_owned(),
            )
            .await?;

        let mut reviewers = membership_table(
            FundReviewer::Table,
            FundReviewer::Id,
            FundReviewer::FundId,
            FundReviewer::UserId,
            FundReviewer::CreatedAt,
            FundReviewer::UpdatedAt,
            "fund_reviewer",
        );
        reviewers.col(uuid_null(FundReviewer::AddedBy));
        manager.create_table(reviewers).await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_fund_reviewer")
                    .table(FundReviewer::Table)
                    .col(FundReviewer::FundId)
                    .col(FundReviewer::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_fund_reviewer_user")
                    .table(FundReviewer::Table)
                    .col(FundReviewer::UserId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            FundReviewer::Table.into_iden(),
            FundManager::Table.into_iden(),
            Fund::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
