//! Applications with their partners, budget lines and documents, and the counter that numbers
//! them with a human-readable reference.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Application {
    Table,
    Id,
    CallId,
    OrganizationId,
    ApplicantCategory,
    Reference,
    TitleEn,
    TitleZh,
    SummaryEn,
    SummaryZh,
    DescriptionEn,
    DescriptionZh,
    HostCountries,
    SdgGoals,
    RequestedMinor,
    DurationMonths,
    PlannedStart,
    Status,
    SubmittedAt,
    Snapshot,
    ReminderSentAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApplicationPartner {
    Table,
    Id,
    ApplicationId,
    OrganizationId,
    BudgetShareMinor,
    Status,
    RespondedBy,
    RespondedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApplicationBudgetLine {
    Table,
    Id,
    ApplicationId,
    Position,
    Category,
    Description,
    AmountMinor,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReferenceCounter {
    Table,
    Scope,
    Value,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Call {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Application::Table)
                    .col(pk_uuid(Application::Id))
                    .col(uuid(Application::CallId))
                    .col(uuid(Application::OrganizationId))
                    .col(string_len(Application::ApplicantCategory, 20))
                    .col(string_len(Application::Reference, 30))
                    .col(string_len_null(Application::TitleEn, 300))
                    .col(string_len_null(Application::TitleZh, 300))
                    .col(text_null(Application::SummaryEn))
                    .col(text_null(Application::SummaryZh))
                    .col(text_null(Application::DescriptionEn))
                    .col(text_null(Application::DescriptionZh))
                    .col(text(Application::HostCountries))
                    .col(text(Application::SdgGoals))
                    .col(big_integer(Application::RequestedMinor))
                    .col(integer_null(Application::DurationMonths))
                    .col(date_null(Application::PlannedStart))
                    .col(string_len(Application::Status, 15))
                    .col(timestamp_with_time_zone_null(Application::SubmittedAt))
                    .col(json_binary_null(Application::Snapshot))
                    .col(timestamp_with_time_zone_null(Application::ReminderSentAt))
                    .col(uuid(Application::CreatedBy))
                    .col(timestamp_with_time_zone(Application::CreatedAt))
                    .col(timestamp_with_time_zone(Application::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_application_call")
                            .from(Application::Table, Application::CallId)
                            .to(Call::Table, Call::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_application_organization")
                            .from(Application::Table, Application::OrganizationId)
                            .to(Organization::Table, Organization::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_application_reference")
                    .table(Application::Table)
                    .col(Application::Reference)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "ix_application_call_status",
                vec![
                    Application::CallId,
                    Application::Status,
                    Application::SubmittedAt,
                ],
            ),
            (
                "ix_application_organization",
                vec![Application::OrganizationId, Application::CreatedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Application::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ApplicationPartner::Table)
                    .col(pk_uuid(ApplicationPartner::Id))
                    .col(uuid(ApplicationPartner::ApplicationId))
                    .col(uuid(ApplicationPartner::OrganizationId))
                    .col(big_integer(ApplicationPartner::BudgetShareMinor))
                    .col(string_len(ApplicationPartner::Status, 10))
                    .col(uuid_null(ApplicationPartner::RespondedBy))
                    .col(timestamp_with_time_zone_null(
                        ApplicationPartner::RespondedAt,
                    ))
                    .col(timestamp_with_time_zone(ApplicationPartner::CreatedAt))
                    .col(timestamp_with_time_zone(ApplicationPartner::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_application_partner_application")
                            .from(ApplicationPartner::Table, ApplicationPartner::ApplicationId)
                            .to(Application::Table, Application::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_application_partner_organization")
                            .from(
                                ApplicationPartner::Table,
                                ApplicationPartner::OrganizationId,
                            )
                            .to(Organization::Table, Organization::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_application_partner")
                    .table(ApplicationPartner::Table)
                    .col(ApplicationPartner::ApplicationId)
                    .col(ApplicationPartner::OrganizationId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_application_partner_organization")
                    .table(ApplicationPartner::Table)
                    .col(ApplicationPartner::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApplicationBudgetLine::Table)
                    .col(pk_uuid(ApplicationBudgetLine::Id))
                    .col(uuid(ApplicationBudgetLine::ApplicationId))
                    .col(integer(ApplicationBudgetLine::Position))
                    .col(string_len(ApplicationBudgetLine::Category, 100))
                    .col(string_len_null(ApplicationBudgetLine::Description, 500))
                    .col(big_integer(ApplicationBudgetLine::AmountMinor))
                    .col(timestamp_with_time_zone(ApplicationBudgetLine::CreatedAt))
                    .col(timestamp_with_time_zone(ApplicationBudgetLine::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_application_budget_line_application")
                            .from(
                                ApplicationBudgetLine::Table,
                                ApplicationBudgetLine::ApplicationId,
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
                    .name("ix_application_budget_line_application")
                    .table(ApplicationBudgetLine::Table)
                    .col(ApplicationBudgetLine::ApplicationId)
                    .col(ApplicationBudgetLine::Position)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReferenceCounter::Table)
                    .col(string_len(ReferenceCounter::Scope, 50).primary_key())
                    .col(big_integer(ReferenceCounter::Value))
                    .col(timestamp_with_time_zone(ReferenceCounter::CreatedAt))
                    .col(timestamp_with_time_zone(ReferenceCounter::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ReferenceCounter::Table.into_iden(),
            ApplicationBudgetLine::Table.into_iden(),
            ApplicationPartner::Table.into_iden(),
            Application::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
