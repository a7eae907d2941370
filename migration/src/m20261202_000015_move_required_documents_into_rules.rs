//! A call's required documents were kept twice: a `required_documents` list that was shown but
//! never enforced, and `REQUIRED_DOCUMENT` eligibility rules that were. One concept, one place:
//! each listed kind becomes a rule (unless the call already has it) and the list goes.
//! `down` brings the list back from the rules; the rules stay, since which of them came from the
//! list is not known any more.

use sea_orm::{ConnectionTrait, FromQueryResult, JsonValue, Statement};
use sea_orm_migration::prelude::*;
use serde_json::json;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Call {
    Table,
    Id,
    Rules,
    RequiredDocuments,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: sea_orm::prelude::Uuid,
    rules: JsonValue,
    required_documents: JsonValue,
}

#[derive(Debug, FromQueryResult)]
struct RulesRow {
    id: sea_orm::prelude::Uuid,
    rules: JsonValue,
}

const KIND: &str = "REQUIRED_DOCUMENT";

/// The kinds a rule list requires, in order.
fn required_kinds(rules: &JsonValue) -> Vec<String> {
    rules
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rule| rule["kind"] == KIND)
        .filter_map(|rule| rule["documentKind"].as_str().map(str::to_owned))
        .collect()
}

async fn set(
    db: &impl ConnectionTrait,
    id: sea_orm::prelude::Uuid,
    column: Call,
    value: JsonValue,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table(Call::Table)
        .value(column, value)
        .and_where(Expr::col(Call::Id).eq(id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = Row::find_by_statement(Statement::from_string(
            backend,
            "SELECT id, rules, required_documents FROM call",
        ))
        .all(db)
        .await?;
        for row in rows {
            let listed: Vec<String> = row
                .required_documents
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|kind| kind.as_str().map(str::to_owned))
                .collect();
            let mut have = required_kinds(&row.rules);
            let mut rules = row.rules.as_array().cloned().unwrap_or_default();
            let before = rules.len();
            for kind in listed {
                if !have.contains(&kind) {
                    rules.push(json!({ "kind": KIND, "documentKind": kind }));
                    have.push(kind);
                }
            }
            if rules.len() != before {
                set(db, row.id, Call::Rules, JsonValue::Array(rules)).await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Call::Table)
                    .drop_column(Call::RequiredDocuments)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Call::Table)
                    .add_column(
                        ColumnDef::new(Call::RequiredDocuments)
                            .json_binary()
                            .not_null()
                            .default(Expr::cust("'[]'")),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let rows = RulesRow::find_by_statement(Statement::from_string(
            manager.get_database_backend(),
            "SELECT id, rules FROM call",
        ))
        .all(db)
        .await?;
        for row in rows {
            let kinds = required_kinds(&row.rules);
            if !kinds.is_empty() {
                set(db, row.id, Call::RequiredDocuments, json!(kinds)).await?;
            }
        }
        Ok(())
    }
}
