//! Calls for proposals. Lists that calls are filtered by (host countries, SDGs, eligible
//! applicant categories) are stored as delimited text (`,KE,TZ,`) so one `LIKE` filters them on
//! both databases; the rubric and the eligibility rules are JSON documents checked by domain code.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Call {
    Table,
    Id,
    FundId,
    TitleEn,
    TitleZh,
    DescriptionEn,
    DescriptionZh,
    Status,
    Published,
    OpensAt,
    ClosesAt,
    BudgetMinor,
    MinAwardMinor,
    MaxAwardMinor,
    CommittedMinor,
    HostCountries,
    SdgGoals,
    EligibleCategories,
    RequiredDocuments,
    Rubric,
    Rules,
    ReviewersPerApplication,
    BlindReview,
    ModerationThresholdBp,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Fund {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Call::Table)
                    .col(pk_uuid(Call::Id))
                    .col(uuid(Call::FundId))
                    .col(string_len(Call::TitleEn, 300))
                    .col(string_len_null(Call::TitleZh, 300))
                    .col(text_null(Call::DescriptionEn))
                    .col(text_null(Call::DescriptionZh))
                    .col(string_len(Call::Status, 10))
                    .col(boolean(Call::Published))
                    .col(timestamp_with_time_zone(Call::OpensAt))
                    .col(timestamp_with_time_zone(Call::ClosesAt))
                    .col(big_integer(Call::BudgetMinor))
                    .col(big_integer(Call::MinAwardMinor))
                    .col(big_integer(Call::MaxAwardMinor))
                    .col(big_integer(Call::CommittedMinor))
                    .col(text(Call::HostCountries))
                    .col(text(Call::SdgGoals))
                    .col(text(Call::EligibleCategories))
                    .col(json_binary(Call::RequiredDocuments))
                    .col(json_binary_null(Call::Rubric))
                    .col(json_binary(Call::Rules))
                    .col(integer(Call::ReviewersPerApplication))
                    .col(boolean(Call::BlindReview))
                    .col(integer(Call::ModerationThresholdBp))
                    .col(uuid(Call::CreatedBy))
                    .col(timestamp_with_time_zone(Call::CreatedAt))
                    .col(timestamp_with_time_zone(Call::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_call_fund")
                            .from(Call::Table, Call::FundId)
                            .to(Fund::Table, Fund::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Public listing and the scheduler: by status, then closing time.
        manager
            .create_index(
                Index::create()
                    .name("ix_call_status_closes")
                    .table(Call::Table)
                    .col(Call::Status)
                    .col(Call::ClosesAt)
                    .col(Call::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_call_fund")
                    .table(Call::Table)
                    .col(Call::FundId)
                    .col(Call::ClosesAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Call::Table).to_owned())
            .await
    }
}
