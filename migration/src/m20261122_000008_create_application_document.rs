//! Documents attached to applications: metadata and the SHA-256 of the content, which lives in
//! the document store under `storage_key`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApplicationDocument {
    Table,
    Id,
    ApplicationId,
    Kind,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    StorageKey,
    UploadedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Application {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApplicationDocument::Table)
                    .col(pk_uuid(ApplicationDocument::Id))
                    .col(uuid(ApplicationDocument::ApplicationId))
                    .col(string_len(ApplicationDocument::Kind, 100))
                    .col(string_len(ApplicationDocument::FileName, 255))
                    .col(string_len(ApplicationDocument::ContentType, 100))
                    .col(big_integer(ApplicationDocument::SizeBytes))
                    .col(string_len(ApplicationDocument::Sha256, 64))
                    .col(string_len(ApplicationDocument::StorageKey, 200))
                    .col(uuid(ApplicationDocument::UploadedBy))
                    .col(timestamp_with_time_zone(ApplicationDocument::CreatedAt))
                    .col(timestamp_with_time_zone(ApplicationDocument::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_application_document_application")
                            .from(
                                ApplicationDocument::Table,
                                ApplicationDocument::ApplicationId,
                            )
                            .to(Application::Table, Application::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_application_document_application")
                    .table(ApplicationDocument::Table)
                    .col(ApplicationDocument::ApplicationId)
                    .col(ApplicationDocument::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApplicationDocument::Table).to_owned())
            .await
    }
}
