//! Money leaving a fund: each grant's running planned and disbursed totals and its payee's bank
//! details, the disbursements (one per tranche), remittance filings, and the idempotency keys
//! that let money-moving requests be retried safely.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GrantAward {
    Table,
    Id,
    PlannedMinor,
    DisbursedMinor,
    BankDetails,
    BankDetailsStatus,
    BankDetailsUpdatedAt,
    BankDetailsUpdatedBy,
}

#[derive(DeriveIden)]
enum Disbursement {
    Table,
    Id,
    GrantId,
    FundId,
    Sequence,
    AmountMinor,
    Currency,
    DueOn,
    Condition,
    ConditionMetAt,
    ConditionMetBy,
    Status,
    PlannedBy,
    ApprovedBy,
    ApprovedAt,
    ExpectedRate,
    ExpectedRateSource,
    ExpectedRateOn,
    FilingRequired,
    BankReference,
    SentOn,
    SentBy,
    ActualRate,
    PayeeCurrency,
    PayeeRate,
    AmountSentMinor,
    ThresholdEquivalentMinor,
    ConfirmedBy,
    ConfirmedAt,
    FailureReason,
    CancelReason,
    OverdueNotifiedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RemittanceFiling {
    Table,
    Id,
    DisbursementId,
    Reference,
    FiledOn,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    StorageKey,
    RecordedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKey {
    Table,
    Id,
    UserId,
    Mutation,
    Key,
    RequestHash,
    Outcome,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            big_integer(GrantAward::PlannedMinor).default(0).to_owned(),
            big_integer(GrantAward::DisbursedMinor)
                .default(0)
                .to_owned(),
            json_binary_null(GrantAward::BankDetails).to_owned(),
            string_len_null(GrantAward::BankDetailsStatus, 20).to_owned(),
            timestamp_with_time_zone_null(GrantAward::BankDetailsUpdatedAt).to_owned(),
            uuid_null(GrantAward::BankDetailsUpdatedBy).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(GrantAward::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Disbursement::Table)
                    .col(pk_uuid(Disbursement::Id))
                    .col(uuid(Disbursement::GrantId))
                    .col(uuid(Disbursement::FundId))
                    .col(integer(Disbursement::Sequence))
                    .col(big_integer(Disbursement::AmountMinor))
                    .col(string_len(Disbursement::Currency, 3))
                    .col(date(Disbursement::DueOn))
                    .col(text_null(Disbursement::Condition))
                    .col(timestamp_with_time_zone_null(Disbursement::ConditionMetAt))
                    .col(uuid_null(Disbursement::ConditionMetBy))
                    .col(string_len(Disbursement::Status, 20))
                    .col(uuid(Disbursement::PlannedBy))
                    .col(uuid_null(Disbursement::ApprovedBy))
                    .col(timestamp_with_time_zone_null(Disbursement::ApprovedAt))
                    .col(string_len_null(Disbursement::ExpectedRate, 40))
                    .col(string_len_null(Disbursement::ExpectedRateSource, 200))
                    .col(date_null(Disbursement::ExpectedRateOn))
                    .col(boolean(Disbursement::FilingRequired).default(false))
                    .col(string_len_null(Disbursement::BankReference, 200))
                    .col(date_null(Disbursement::SentOn))
                    .col(uuid_null(Disbursement::SentBy))
                    .col(string_len_null(Disbursement::ActualRate, 40))
                    .col(string_len_null(Disbursement::PayeeCurrency, 3))
                    .col(string_len_null(Disbursement::PayeeRate, 40))
                    .col(big_integer_null(Disbursement::AmountSentMinor))
                    .col(big_integer_null(Disbursement::ThresholdEquivalentMinor))
                    .col(uuid_null(Disbursement::ConfirmedBy))
                    .col(timestamp_with_time_zone_null(Disbursement::ConfirmedAt))
                    .col(text_null(Disbursement::FailureReason))
                    .col(text_null(Disbursement::CancelReason))
                    .col(timestamp_with_time_zone_null(
                        Disbursement::OverdueNotifiedAt,
                    ))
                    .col(timestamp_with_time_zone(Disbursement::CreatedAt))
                    .col(timestamp_with_time_zone(Disbursement::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_disbursement_grant")
                            .from(Disbursement::Table, Disbursement::GrantId)
                            .to(GrantAward::Table, GrantAward::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_disbursement_grant_sequence")
                    .table(Disbursement::Table)
                    .col(Disbursement::GrantId)
                    .col(Disbursement::Sequence)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_disbursement_fund_status_due")
                    .table(Disbursement::Table)
                    .col(Disbursement::FundId)
                    .col(Disbursement::Status)
                    .col(Disbursement::DueOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RemittanceFiling::Table)
                    .col(pk_uuid(RemittanceFiling::Id))
                    .col(uuid_uniq(RemittanceFiling::DisbursementId))
                    .col(string_len(RemittanceFiling::Reference, 200))
                    .col(date(RemittanceFiling::FiledOn))
                    .col(string_len(RemittanceFiling::FileName, 255))
                    .col(string_len(RemittanceFiling::ContentType, 100))
                    .col(big_integer(RemittanceFiling::SizeBytes))
                    .col(string_len(RemittanceFiling::Sha256, 64))
                    .col(string_len(RemittanceFiling::StorageKey, 200))
                    .col(uuid(RemittanceFiling::RecordedBy))
                    .col(timestamp_with_time_zone(RemittanceFiling::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_remittance_filing_disbursement")
                            .from(RemittanceFiling::Table, RemittanceFiling::DisbursementId)
                            .to(Disbursement::Table, Disbursement::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKey::Table)
                    .col(pk_uuid(IdempotencyKey::Id))
                    .col(uuid(IdempotencyKey::UserId))
                    .col(string_len(IdempotencyKey::Mutation, 60))
                    .col(string_len(IdempotencyKey::Key, 255))
                    .col(string_len(IdempotencyKey::RequestHash, 64))
                    .col(json_binary_null(IdempotencyKey::Outcome))
                    .col(timestamp_with_time_zone(IdempotencyKey::CreatedAt))
                    .col(timestamp_with_time_zone(IdempotencyKey::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_idempotency_key_scope")
                    .table(IdempotencyKey::Table)
                    .col(IdempotencyKey::UserId)
                    .col(IdempotencyKey::Mutation)
                    .col(IdempotencyKey::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_key_expires")
                    .table(IdempotencyKey::Table)
                    .col(IdempotencyKey::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKey::Table.into_iden(),
            RemittanceFiling::Table.into_iden(),
            Disbursement::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            GrantAward::BankDetailsUpdatedBy,
            GrantAward::BankDetailsUpdatedAt,
            GrantAward::BankDetailsStatus,
            GrantAward::BankDetails,
            GrantAward::DisbursedMinor,
            GrantAward::PlannedMinor,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(GrantAward::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
