//! Indexes for every filter and order the listings offer, so a page reads rows in proportion to
//! the page: applications by call, organisation and each sort key; and, on PostgreSQL, trigram
//! indexes that serve the `LIKE '%,KE,%'` filters on delimited country, goal and category lists.
//! SQLite has no trigram index; its listings are small enough to filter after the indexed keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Application {
    Id,
    CallId,
    OrganizationId,
    CreatedAt,
    SubmittedAt,
    RequestedMinor,
}

#[derive(DeriveIden)]
enum Call {
    Id,
    Status,
    ClosesAt,
}

#[derive(DeriveIden)]
enum GrantAward {
    Id,
    CreatedAt,
}

/// Trigram indexes: (name, table, column).
const TRIGRAM: [(&str, &str, &str); 5] = [
    (
        "ix_application_host_countries_trgm",
        "application",
        "host_countries",
    ),
    ("ix_application_sdg_goals_trgm", "application", "sdg_goals"),
    ("ix_call_host_countries_trgm", "call", "host_countries"),
    ("ix_call_sdg_goals_trgm", "call", "sdg_goals"),
    (
        "ix_call_eligible_categories_trgm",
        "call",
        "eligible_categories",
    ),
];

/// An index on `table`, returned with the table's name so `down` can drop it.
fn btree(
    name: &str,
    table: &'static str,
    columns: Vec<DynIden>,
) -> (&'static str, IndexCreateStatement) {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for column in columns {
        index.col(column);
    }
    (table, index.to_owned())
}

fn indexes() -> Vec<(&'static str, IndexCreateStatement)> {
    use Application as A;
    vec![
        btree(
            "ix_application_call_created",
            "application",
            vec![
                A::CallId.into_iden(),
                A::CreatedAt.into_iden(),
                A::Id.into_iden(),
            ],
        ),
        btree(
            "ix_application_call_submitted",
            "application",
            vec![
                A::CallId.into_iden(),
                A::SubmittedAt.into_iden(),
                A::Id.into_iden(),
            ],
        ),
        btree(
            "ix_application_call_requested",
            "application",
            vec![
                A::CallId.into_iden(),
                A::RequestedMinor.into_iden(),
                A::Id.into_iden(),
            ],
        ),
        btree(
            "ix_application_organization_created",
            "application",
            vec![
                A::OrganizationId.into_iden(),
                A::CreatedAt.into_iden(),
                A::Id.into_iden(),
            ],
        ),
        btree(
            "ix_application_created",
            "application",
            vec![A::CreatedAt.into_iden(), A::Id.into_iden()],
        ),
        btree(
            "ix_application_submitted",
            "application",
            vec![A::SubmittedAt.into_iden(), A::Id.into_iden()],
        ),
        btree(
            "ix_application_requested",
            "application",
            vec![A::RequestedMinor.into_iden(), A::Id.into_iden()],
        ),
        btree(
            "ix_call_status_closes_id",
            "call",
            vec![
                Call::Status.into_iden(),
                Call::ClosesAt.into_iden(),
                Call::Id.into_iden(),
            ],
        ),
        btree(
            "ix_grant_award_created",
            "grant_award",
            vec![
                GrantAward::CreatedAt.into_iden(),
                GrantAward::Id.into_iden(),
            ],
        ),
    ]
}

async fn trigram_available(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(false);
    }
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT 1 AS found FROM pg_available_extensions WHERE name = 'pg_trgm'",
        ))
        .await?;
    Ok(row.is_some())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (_, index) in indexes() {
            manager.create_index(index).await?;
        }
        if trigram_available(manager).await? {
            let db = manager.get_connection();
            // pg_trgm is a trusted extension: a database owner may create it.
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .await?;
            for (name, table, column) in TRIGRAM {
                db.execute_unprepared(&format!(
                    "CREATE INDEX IF NOT EXISTS {name} ON \"{table}\" USING gin ({column} gin_trgm_ops)"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for (name, _, _) in TRIGRAM {
                manager
                    .get_connection()
                    .execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                    .await?;
            }
        }
        for (table, index) in indexes() {
            let name = index
                .get_index_spec()
                .get_name()
                .map(str::to_owned)
                .unwrap_or_default();
            manager
                .drop_index(
                    Index::drop()
                        .name(&name)
                        .table(Alias::new(table))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
