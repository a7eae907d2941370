//! Each grant keeps what the breakdowns group by (its application's host countries, goals and
//! applicant category, frozen at submission), so a fund's or call's summary reads only its grants,
//! from one index on PostgreSQL, instead of joining every grant to its application.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GrantAward {
    Table,
    HostCountries,
    SdgGoals,
    ApplicantCategory,
}

/// Covering indexes per summary scope: (name, scope column).
const COVERING: [(&str, &str); 2] = [
    ("ix_grant_award_fund_breakdown", "fund_id"),
    ("ix_grant_award_call_breakdown", "call_id"),
];

fn columns() -> [GrantAward; 3] {
    [
        GrantAward::HostCountries,
        GrantAward::SdgGoals,
        GrantAward::ApplicantCategory,
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(GrantAward::Table)
                        .add_column(ColumnDef::new(column).string().not_null().default(""))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE grant_award SET \
             host_countries = (SELECT a.host_countries FROM application a WHERE a.id = grant_award.application_id), \
             sdg_goals = (SELECT a.sdg_goals FROM application a WHERE a.id = grant_award.application_id), \
             applicant_category = (SELECT a.applicant_category FROM application a WHERE a.id = grant_award.application_id)",
        )
        .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for (name, scope) in COVERING {
                db.execute_unprepared(&format!(
                    "CREATE INDEX {name} ON grant_award ({scope}) INCLUDE (amount_minor, \
                     disbursed_minor, status, host_countries, sdg_goals, applicant_category)"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for (name, _) in COVERING {
                manager
                    .get_connection()
                    .execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                    .await?;
            }
        }
        for column in columns() {
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
