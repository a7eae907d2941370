//! The transactional outbox of email: messages are rows written in the business transaction, so a
//! rolled-back change sends nothing and a committed one is delivered even after a restart.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    Kind,
    Recipient,
    RecipientName,
    Locale,
    Subject,
    BodyText,
    BodyHtml,
    MessageId,
    DedupKey,
    CarriesSecret,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseExpiresAt,
    ClaimedBy,
    LastError,
    SentAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(pk_uuid(EmailOutbox::Id))
                    .col(string_len(EmailOutbox::Kind, 50))
                    .col(string_len(EmailOutbox::Recipient, 254))
                    .col(string_len_null(EmailOutbox::RecipientName, 200))
                    .col(string_len_null(EmailOutbox::Locale, 10))
                    .col(text(EmailOutbox::Subject))
                    .col(text(EmailOutbox::BodyText))
                    .col(text(EmailOutbox::BodyHtml))
                    .col(string_len(EmailOutbox::MessageId, 200))
                    .col(string_len(EmailOutbox::DedupKey, 255))
                    .col(boolean(EmailOutbox::CarriesSecret))
                    .col(string_len(EmailOutbox::Status, 10))
                    .col(integer(EmailOutbox::Attempts))
                    .col(timestamp_with_time_zone(EmailOutbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::LeaseExpiresAt))
                    .col(string_len_null(EmailOutbox::ClaimedBy, 100))
                    .col(text_null(EmailOutbox::LastError))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                    .col(timestamp_with_time_zone(EmailOutbox::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_email_outbox_dedup_key")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::DedupKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The worker's claim: due messages by status and time.
        manager
            .create_index(
                Index::create()
                    .name("ix_email_outbox_due")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::Status)
                    .col(EmailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // The admin listing: newest first, keyset-paginated.
        manager
            .create_index(
                Index::create()
                    .name("ix_email_outbox_created")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::CreatedAt)
                    .col(EmailOutbox::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailOutbox::Table).to_owned())
            .await
    }
}
