//! People and sign-in: accounts, single-use email tokens (verification, password reset), rotating
//! refresh tokens grouped in families, failed-login throttling shared by all instances, and global
//! roles.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserAccount {
    Table,
    Id,
    Email,
    Name,
    Locale,
    PasswordHash,
    EmailVerifiedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EmailToken {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshToken {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    RotatedAt,
    RevokedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserRole {
    Table,
    Id,
    UserId,
    Role,
    GrantedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserAccount::Table)
                    .col(pk_uuid(UserAccount::Id))
                    .col(string_len(UserAccount::Email, 254))
                    .col(string_len(UserAccount::Name, 200))
                    .col(string_len(UserAccount::Locale, 10))
                    .col(string_len(UserAccount::PasswordHash, 200))
                    .col(timestamp_with_time_zone_null(UserAccount::EmailVerifiedAt))
                    .col(timestamp_with_time_zone(UserAccount::CreatedAt))
                    .col(timestamp_with_time_zone(UserAccount::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Emails are stored lower-cased, so a plain unique index makes them unique
        // case-insensitively.
        manager
            .create_index(
                Index::create()
                    .name("uq_user_account_email")
                    .table(UserAccount::Table)
                    .col(UserAccount::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailToken::Table)
                    .col(pk_uuid(EmailToken::Id))
                    .col(uuid(EmailToken::UserId))
                    .col(string_len(EmailToken::Purpose, 30))
                    .col(string_len(EmailToken::TokenHash, 64))
                    .col(timestamp_with_time_zone(EmailToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(EmailToken::UsedAt))
                    .col(timestamp_with_time_zone(EmailToken::CreatedAt))
                    .col(timestamp_with_time_zone(EmailToken::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_token_user")
                            .from(EmailToken::Table, EmailToken::UserId)
                            .to(UserAccount::Table, UserAccount::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_email_token_hash")
                    .table(EmailToken::Table)
                    .col(EmailToken::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshToken::Table)
                    .col(pk_uuid(RefreshToken::Id))
                    .col(uuid(RefreshToken::UserId))
                    .col(uuid(RefreshToken::FamilyId))
                    .col(string_len(RefreshToken::TokenHash, 64))
                    .col(timestamp_with_time_zone(RefreshToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshToken::RotatedAt))
                    .col(timestamp_with_time_zone_null(RefreshToken::RevokedAt))
                    .col(timestamp_with_time_zone(RefreshToken::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshToken::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_token_user")
                            .from(RefreshToken::Table, RefreshToken::UserId)
                            .to(UserAccount::Table, UserAccount::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_refresh_token_hash")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_token_family")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::FamilyId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .col(string_len(LoginThrottle::Key, 300).primary_key())
                    .col(integer(LoginThrottle::Failures))
                    .col(timestamp_with_time_zone(LoginThrottle::WindowStartedAt))
                    .col(timestamp_with_time_zone_null(LoginThrottle::LockedUntil))
                    .col(timestamp_with_time_zone(LoginThrottle::CreatedAt))
                    .col(timestamp_with_time_zone(LoginThrottle::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserRole::Table)
                    .col(pk_uuid(UserRole::Id))
                    .col(uuid(UserRole::UserId))
                    .col(string_len(UserRole::Role, 30))
                    .col(uuid_null(UserRole::GrantedBy))
                    .col(timestamp_with_time_zone(UserRole::CreatedAt))
                    .col(timestamp_with_time_zone(UserRole::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_role_user")
                            .from(UserRole::Table, UserRole::UserId)
                            .to(UserAccount::Table, UserAccount::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_user_role")
                    .table(UserRole::Table)
                    .col(UserRole::UserId)
                    .col(UserRole::Role)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            UserRole::Table.into_iden(),
            LoginThrottle::Table.into_iden(),
            RefreshToken::Table.into_iden(),
            EmailToken::Table.into_iden(),
            UserAccount::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
