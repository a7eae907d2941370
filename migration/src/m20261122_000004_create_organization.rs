//! Organisations (applicants and partners), their members, invitations to join, and their
//! registrations in host countries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
    NameEn,
    NameZh,
    OrgType,
    Country,
    RegistryIdentifier,
    RegisteredOn,
    Website,
    AnnualBudgetMinor,
    AnnualBudgetCurrency,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganizationMember {
    Table,
    Id,
    OrganizationId,
    UserId,
    Role,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganizationInvitation {
    Table,
    Id,
    OrganizationId,
    Email,
    TokenHash,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
    AcceptedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum HostCountryRegistration {
    Table,
    Id,
    OrganizationId,
    Country,
    Agency,
    Number,
    ValidUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserAccount {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organization::Table)
                    .col(pk_uuid(Organization::Id))
                    .col(string_len(Organization::NameEn, 300))
                    .col(string_len_null(Organization::NameZh, 300))
                    .col(small_integer(Organization::OrgType))
                    .col(string_len(Organization::Country, 2))
                    .col(string_len(Organization::RegistryIdentifier, 100))
                    .col(date_null(Organization::RegisteredOn))
                    .col(string_len_null(Organization::Website, 300))
                    .col(big_integer_null(Organization::AnnualBudgetMinor))
                    .col(string_len_null(Organization::AnnualBudgetCurrency, 3))
                    .col(uuid(Organization::CreatedBy))
                    .col(timestamp_with_time_zone(Organization::CreatedAt))
                    .col(timestamp_with_time_zone(Organization::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_created_by")
                            .from(Organization::Table, Organization::CreatedBy)
                            .to(UserAccount::Table, UserAccount::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One organisation per registry identifier: the same body cannot apply twice under two
        // profiles.
        manager
            .create_index(
                Index::create()
                    .name("uq_organization_registry_identifier")
                    .table(Organization::Table)
                    .col(Organization::RegistryIdentifier)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrganizationMember::Table)
                    .col(pk_uuid(OrganizationMember::Id))
                    .col(uuid(OrganizationMember::OrganizationId))
                    .col(uuid(OrganizationMember::UserId))
                    .col(string_len(OrganizationMember::Role, 10))
                    .col(timestamp_with_time_zone(OrganizationMember::CreatedAt))
                    .col(timestamp_with_time_zone(OrganizationMember::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_member_organization")
                            .from(
                                OrganizationMember::Table,
                                OrganizationMember::OrganizationId,
                            )
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_member_user")
                            .from(OrganizationMember::Table, OrganizationMember::UserId)
                            .to(UserAccount::Table, UserAccount::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_organization_member")
                    .table(OrganizationMember::Table)
                    .col(OrganizationMember::OrganizationId)
                    .col(OrganizationMember::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organization_member_user")
                    .table(OrganizationMember::Table)
                    .col(OrganizationMember::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrganizationInvitation::Table)
                    .col(pk_uuid(OrganizationInvitation::Id))
                    .col(uuid(OrganizationInvitation::OrganizationId))
                    .col(string_len(OrganizationInvitation::Email, 254))
                    .col(string_len(OrganizationInvitation::TokenHash, 64))
                    .col(uuid(OrganizationInvitation::InvitedBy))
                    .col(timestamp_with_time_zone(OrganizationInvitation::ExpiresAt))
                    .col(timestamp_with_time_zone_null(
                        OrganizationInvitation::AcceptedAt,
                    ))
                    .col(uuid_null(OrganizationInvitation::AcceptedBy))
                    .col(timestamp_with_time_zone(OrganizationInvitation::CreatedAt))
                    .col(timestamp_with_time_zone(OrganizationInvitation::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_invitation_organization")
                            .from(
                                OrganizationInvitation::Table,
                                OrganizationInvitation::OrganizationId,
                            )
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_organization_invitation_token")
                    .table(OrganizationInvitation::Table)
                    .col(OrganizationInvitation::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(HostCountryRegistration::Table)
                    .col(pk_uuid(HostCountryRegistration::Id))
                    .col(uuid(HostCountryRegistration::OrganizationId))
                    .col(string_len(HostCountryRegistration::Country, 2))
                    .col(string_len(HostCountryRegistration::Agency, 200))
                    .col(string_len(HostCountryRegistration::Number, 100))
                    .col(date_null(HostCountryRegistration::ValidUntil))
                    .col(timestamp_with_time_zone(HostCountryRegistration::CreatedAt))
                    .col(timestamp_with_time_zone(HostCountryRegistration::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_host_country_registration_organization")
                            .from(
                                HostCountryRegistration::Table,
                                HostCountryRegistration::OrganizationId,
                            )
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_host_country_registration")
                    .table(HostCountryRegistration::Table)
                    .col(HostCountryRegistration::OrganizationId)
                    .col(HostCountryRegistration::Country)
                    .col(HostCountryRegistration::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            HostCountryRegistration::Table.into_iden(),
            OrganizationInvitation::Table.into_iden(),
            OrganizationMember::Table.into_iden(),
            Organization::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
