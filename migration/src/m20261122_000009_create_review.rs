//! Review assignments, each carrying the reviewer's review once written, and the standing of an
//! application kept beside it (review count, mean score, spread) so that rankings sort on a
//! column instead of recomputing every review.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReviewAssignment {
    Table,
    Id,
    ApplicationId,
    CallId,
    ReviewerId,
    Status,
    DueAt,
    AssignedBy,
    RecusalReason,
    RecusedAt,
    ReminderSentAt,
    OverdueSentAt,
    Scores,
    Recommendation,
    Comment,
    ScoreBp,
    SubmittedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Application {
    Table,
    Id,
    CallId,
    ReviewCount,
    ScoreBp,
    ScoreSpreadBp,
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
                    .table(ReviewAssignment::Table)
                    .col(pk_uuid(ReviewAssignment::Id))
                    .col(uuid(ReviewAssignment::ApplicationId))
                    .col(uuid(ReviewAssignment::CallId))
                    .col(uuid(ReviewAssignment::ReviewerId))
                    .col(string_len(ReviewAssignment::Status, 20))
                    .col(timestamp_with_time_zone(ReviewAssignment::DueAt))
                    .col(uuid(ReviewAssignment::AssignedBy))
                    .col(text_null(ReviewAssignment::RecusalReason))
                    .col(timestamp_with_time_zone_null(ReviewAssignment::RecusedAt))
                    .col(timestamp_with_time_zone_null(
                        ReviewAssignment::ReminderSentAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        ReviewAssignment::OverdueSentAt,
                    ))
                    .col(json_binary_null(ReviewAssignment::Scores))
                    .col(string_len_null(ReviewAssignment::Recommendation, 30))
                    .col(text_null(ReviewAssignment::Comment))
                    .col(integer_null(ReviewAssignment::ScoreBp))
                    .col(timestamp_with_time_zone_null(ReviewAssignment::SubmittedAt))
                    .col(timestamp_with_time_zone(ReviewAssignment::CreatedAt))
                    .col(timestamp_with_time_zone(ReviewAssignment::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_review_assignment_application")
                            .from(ReviewAssignment::Table, ReviewAssignment::ApplicationId)
                            .to(Application::Table, Application::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_review_assignment_reviewer")
                            .from(ReviewAssignment::Table, ReviewAssignment::ReviewerId)
                            .to(UserAccount::Table, UserAccount::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "ux_review_assignment_application_reviewer",
                vec![
                    ReviewAssignment::ApplicationId,
                    ReviewAssignment::ReviewerId,
                ],
                true,
            ),
            (
                "ix_review_assignment_call_reviewer",
                vec![ReviewAssignment::CallId, ReviewAssignment::ReviewerId],
                false,
            ),
            (
                "ix_review_assignment_reviewer_due",
                vec![ReviewAssignment::ReviewerId, ReviewAssignment::DueAt],
                false,
            ),
            (
                "ix_review_assignment_status_due",
                vec![ReviewAssignment::Status, ReviewAssignment::DueAt],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(ReviewAssignment::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        // SQLite adds one column per statement.
        for column in [
            integer(Application::ReviewCount).default(0).to_owned(),
            integer_null(Application::ScoreBp).to_owned(),
            integer_null(Application::ScoreSpreadBp).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Application::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_application_call_score")
                    .table(Application::Table)
                    .col(Application::CallId)
                    .col(Application::ScoreBp)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_application_call_score")
                    .table(Application::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Application::ScoreSpreadBp,
            Application::ScoreBp,
            Application::ReviewCount,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Application::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ReviewAssignment::Table).to_owned())
            .await
    }
}
