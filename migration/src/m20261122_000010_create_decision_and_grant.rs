//! Decisions on applications (a waitlisted application may get a second, final one) and the
//! grants that approvals create. The table is `grant_award` because `GRANT` is reserved in SQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApplicationDecision {
    Table,
    Id,
    ApplicationId,
    Outcome,
    AmountMinor,
    Conditions,
    Rationale,
    RationaleShared,
    DecidedBy,
    DecidedAt,
}

#[derive(DeriveIden)]
enum GrantAward {
    Table,
    Id,
    ApplicationId,
    FundId,
    CallId,
    OrganizationId,
    Reference,
    AmountMinor,
    Currency,
    Conditions,
    StartsOn,
    EndsOn,
    Status,
    AcceptedAt,
    AcceptedBy,
    CreatedBy,
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
                    .table(ApplicationDecision::Table)
                    .col(pk_uuid(ApplicationDecision::Id))
                    .col(uuid(ApplicationDecision::ApplicationId))
                    .col(string_len(ApplicationDecision::Outcome, 20))
                    .col(big_integer_null(ApplicationDecision::AmountMinor))
                    .col(text_null(ApplicationDecision::Conditions))
                    .col(text_null(ApplicationDecision::Rationale))
                    .col(boolean(ApplicationDecision::RationaleShared))
                    .col(uuid(ApplicationDecision::DecidedBy))
                    .col(timestamp_with_time_zone(ApplicationDecision::DecidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_application_decision_application")
                            .from(
                                ApplicationDecision::Table,
                                ApplicationDecision::ApplicationId,
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
                    .name("ix_application_decision_application")
                    .table(ApplicationDecision::Table)
                    .col(ApplicationDecision::ApplicationId)
                    .col(ApplicationDecision::DecidedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GrantAward::Table)
                    .col(pk_uuid(GrantAward::Id))
                    .col(uuid_uniq(GrantAward::ApplicationId))
                    .col(uuid(GrantAward::FundId))
                    .col(uuid(GrantAward::CallId))
                    .col(uuid(GrantAward::OrganizationId))
                    .col(string_len(GrantAward::Reference, 40))
                    .col(big_integer(GrantAward::AmountMinor))
                    .col(string_len(GrantAward::Currency, 3))
                    .col(text_null(GrantAward::Conditions))
                    .col(date(GrantAward::StartsOn))
                    .col(date(GrantAward::EndsOn))
                    .col(string_len(GrantAward::Status, 20))
                    .col(timestamp_with_time_zone_null(GrantAward::AcceptedAt))
                    .col(uuid_null(GrantAward::AcceptedBy))
                    .col(uuid(GrantAward::CreatedBy))
                    .col(timestamp_with_time_zone(GrantAward::CreatedAt))
                    .col(timestamp_with_time_zone(GrantAward::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_grant_award_application")
                            .from(GrantAward::Table, GrantAward::ApplicationId)
                            .to(Application::Table, Application::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, first, second) in [
            (
                "ix_grant_award_fund_created",
                GrantAward::FundId,
                GrantAward::CreatedAt,
            ),
            (
                "ix_grant_award_organization_created",
                GrantAward::OrganizationId,
                GrantAward::CreatedAt,
            ),
            (
                "ix_grant_award_call_created",
                GrantAward::CallId,
                GrantAward::CreatedAt,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(GrantAward::Table)
                        .col(first)
                        .col(second)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GrantAward::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ApplicationDecision::Table).to_owned())
            .await
    }
}
