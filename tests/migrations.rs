//! Data migrations keep what was stored: a call's old list of required documents becomes its
//! REQUIRED_DOCUMENT rules, and back.

mod common;

use common::{TestApp, data, start_time};
use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use serde_json::json;

fn at(hours: i64) -> String {
    (start_time() + chrono::Duration::hours(hours)).to_rfc3339()
}

const READ: &str = "query($id: ID!) { call(id: $id) { requiredDocuments eligibilityRules { kind documentKind } } }";

#[tokio::test]
async fn a_calls_listed_documents_become_rules_and_come_back_on_the_way_down() {
    let mut app = TestApp::spawn().await;
    let admin = app.admin().await;
    let fund = app
        .graphql_as(Some(&admin.access), "mutation($input: FundInput!) { createFund(input: $input) { id } }",
            json!({ "input": { "nameEn": "Fund", "budget": { "amount": "1000000", "currency": "USD" }, "managerIds": [admin.id] } }))
        .await;
    let fund = data(&fund)["createFund"]["id"].as_str().unwrap().to_owned();
    let input = json!({
        "titleEn": "Water", "opensAt": at(1), "closesAt": at(100),
        "budget": { "amount": "1000", "currency": "USD" },
        "minAward": { "amount": "1", "currency": "USD" }, "maxAward": { "amount": "1000", "currency": "USD" },
        "requiredDocuments": ["BUDGET"],
    });
    let call = app
        .graphql_as(Some(&admin.access), "mutation($f: ID!, $input: CallInput!) { createCall(fundId: $f, input: $input) { id } }", json!({ "f": fund, "input": input }))
        .await;
    let call = data(&call)["createCall"]["id"].as_str().unwrap().to_owned();
    app.trigger_shutdown();
    app.wait_stopped().await.unwrap();

    let db = app.db.connect().await;
    Migrator::down(&db, Some(3)).await.unwrap();
    let listed = |sql: &str| {
        let sql = sql.to_owned();
        let db = &db;
        async move {
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<String>("", "listed")
            .unwrap()
        }
    };
    // On the way down the list comes back from the rules.
    let back = listed("SELECT CAST(required_documents AS TEXT) AS listed FROM call").await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&back).unwrap(),
        json!(["BUDGET"])
    );
    // A list as the old version kept it, with a rule for one of its kinds already there.
    let set = if app.db.is_postgres() {
        "UPDATE call SET required_documents = '[\"BUDGET\", \"PROPOSAL\"]'::jsonb"
    } else {
        "UPDATE call SET required_documents = '[\"BUDGET\", \"PROPOSAL\"]'"
    };
    db.execute_unprepared(set).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();

    let again = TestApp::spawn_on(app.db.shared(), |_| {}).await;
    let shown = again
        .graphql_as(Some(&admin.access), READ, json!({ "id": call }))
        .await;
    assert_eq!(
        data(&shown)["call"],
        json!({
            "requiredDocuments": ["BUDGET", "PROPOSAL"],
            "eligibilityRules": [
                { "kind": "NGO_ONLY", "documentKind": null },
                { "kind": "REQUIRED_DOCUMENT", "documentKind": "BUDGET" },
                { "kind": "REQUIRED_DOCUMENT", "documentKind": "PROPOSAL" },
            ]
        })
    );
}
