//! Funds: created by admins, run by their managers, who keep the reviewer pool; public identity,
//! private money and people.

mod common;

use common::{Session, TestApp, data, error_code};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: FundInput!) { createFund(input: $input) { id currency canMoveMoney name { en zh } remittanceThreshold { amount currency } } }";
const FUND: &str = "query($id: ID!) { fund(id: $id) { name { en } currency totals { budget { amount currency } available { amount } } managers { email } reviewers { email } } }";

fn fund_input(managers: &[&Session]) -> Value {
    json!({
        "nameEn": "South-South Cooperation Fund", "nameZh": "南南合作基金",
        "budget": { "amount": "10000000.00", "currency": "CNY" },
        "managerIds": managers.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
    })
}

async fn create_fund(app: &TestApp, admin: &Session, managers: &[&Session]) -> String {
    let response = app
        .graphql_as(
            Some(&admin.access),
            CREATE,
            json!({ "input": fund_input(managers) }),
        )
        .await;
    data(&response)["createFund"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_admin_sets_up_a_fund_whose_money_only_its_managers_see() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let first = app.user("first@example.org").await;
    let second = app.user("second@example.org").await;
    let outsider = app.user("outsider@example.org").await;

    let created = app
        .graphql_as(
            Some(&admin.access),
            CREATE,
            json!({ "input": fund_input(&[&first]) }),
        )
        .await;
    let fund = &data(&created)["createFund"];
    assert_eq!(fund["currency"], "CNY");
    assert_eq!(
        fund["name"],
        json!({ "en": "South-South Cooperation Fund", "zh": "南南合作基金" })
    );
    assert_eq!(
        fund["remittanceThreshold"],
        json!({ "amount": "50000.00", "currency": "USD" })
    );
    assert_eq!(
        fund["canMoveMoney"], false,
        "one manager cannot approve their own payments"
    );
    let id = fund["id"].as_str().unwrap().to_owned();

    let add =
        "mutation($f: ID!, $u: ID!) { addFundManager(fundId: $f, userId: $u) { canMoveMoney } }";
    let added = app
        .graphql_as(Some(&admin.access), add, json!({ "f": id, "u": second.id }))
        .await;
    assert_eq!(data(&added)["addFundManager"]["canMoveMoney"], true);

    let seen = app
        .graphql_as(Some(&first.access), FUND, json!({ "id": id }))
        .await;
    assert_eq!(
        data(&seen)["fund"],
        json!({
            "name": { "en": "South-South Cooperation Fund" }, "currency": "CNY",
            "totals": { "budget": { "amount": "10000000.00", "currency": "CNY" }, "available": { "amount": "10000000.00" } },
            "managers": [{ "email": "first@example.org" }, { "email": "second@example.org" }],
            "reviewers": []
        })
    );
    for viewer in [None, Some(outsider.access.as_str())] {
        let public = app.graphql_as(viewer, FUND, json!({ "id": id })).await;
        let fund = &data(&public)["fund"];
        assert_eq!(fund["currency"], "CNY");
        assert!(
            fund["totals"].is_null() && fund["managers"].is_null() && fund["reviewers"].is_null(),
            "{fund}"
        );
    }
    let me = app
        .graphql_as(
            Some(&first.access),
            "{ me { fundRoles { role fund { currency } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&me)["me"]["fundRoles"],
        json!([{ "role": "FUND_MANAGER", "fund": { "currency": "CNY" } }])
    );
}

#[tokio::test]
async fn bad_fund_settings_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let manager = app.user("manager@example.org").await;
    let cases: Vec<(&str, Value)> = vec![
        (
            "input.budget.amount",
            json!({ "budget": { "amount": "0", "currency": "CNY" } }),
        ),
        (
            "input.budget.amount",
            json!({ "budget": { "amount": "-5", "currency": "CNY" } }),
        ),
        (
            "input.budget.currency",
            json!({ "budget": { "amount": "5", "currency": "ABC" } }),
        ),
        ("input.managerIds", json!({ "managerIds": [] })),
        (
            "input.managerIds",
            json!({ "managerIds": [uuid::Uuid::new_v4().to_string()] }),
        ),
        ("input.managerIds", json!({ "managerIds": ["not-an-id"] })),
        ("input.nameEn", json!({ "nameEn": " " })),
    ];
    for (field, change) in cases {
        let mut input = fund_input(&[&manager]);
        for (key, value) in change.as_object().unwrap() {
            input[key] = value.clone();
        }
        let response = app
            .graphql_as(Some(&admin.access), CREATE, json!({ "input": input }))
            .await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{field}: {response}"
        );
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn managers_keep_the_reviewer_pool_and_the_last_manager_stays() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let manager = app.user("manager@example.org").await;
    let reviewer = app.user("reviewer@example.org").await;
    let fund = create_fund(&app, &admin, &[&manager]).await;

    let add = "mutation($f: ID!, $u: ID!) { addReviewerToPool(fundId: $f, userId: $u) { reviewers { email } } }";
    let added = app
        .graphql_as(
            Some(&manager.access),
            add,
            json!({ "f": fund, "u": reviewer.id }),
        )
        .await;
    assert_eq!(
        data(&added)["addReviewerToPool"]["reviewers"],
        json!([{ "email": "reviewer@example.org" }])
    );
    let twice = app
        .graphql_as(
            Some(&manager.access),
            add,
            json!({ "f": fund, "u": reviewer.id }),
        )
        .await;
    assert_eq!(error_code(&twice), Some("CONFLICT"));
    let me = app
        .graphql_as(
            Some(&reviewer.access),
            "{ me { fundRoles { role } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&me)["me"]["fundRoles"],
        json!([{ "role": "REVIEWER" }])
    );

    let remove = "mutation($f: ID!, $u: ID!) { removeReviewerFromPool(fundId: $f, userId: $u) { reviewers { email } } }";
    let removed = app
        .graphql_as(
            Some(&manager.access),
            remove,
            json!({ "f": fund, "u": reviewer.id }),
        )
        .await;
    assert_eq!(
        data(&removed)["removeReviewerFromPool"]["reviewers"],
        json!([])
    );

    let last = "mutation($f: ID!, $u: ID!) { removeFundManager(fundId: $f, userId: $u) { id } }";
    let refused = app
        .graphql_as(
            Some(&admin.access),
            last,
            json!({ "f": fund, "u": manager.id }),
        )
        .await;
    assert_eq!(error_code(&refused), Some("INVALID_STATE"));
}

#[tokio::test]
async fn an_admin_changes_a_funds_budget_and_currency_before_money_is_allocated() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let manager = app.user("manager@example.org").await;
    let fund = create_fund(&app, &admin, &[&manager]).await;
    let update = "mutation($id: ID!, $input: FundInput!) { updateFund(id: $id, input: $input) { currency totals { budget { amount } } } }";
    let mut input = fund_input(&[]);
    input["budget"] = json!({ "amount": "250000", "currency": "USD" });
    let updated = app
        .graphql_as(
            Some(&admin.access),
            update,
            json!({ "id": fund, "input": input }),
        )
        .await;
    assert_eq!(
        data(&updated)["updateFund"],
        json!({ "currency": "USD", "totals": { "budget": { "amount": "250000.00" } } })
    );
}

/// Anonymous, a user, a manager of another fund, the fund's manager and an admin, against every
/// query and mutation of funds.
#[tokio::test]
async fn permission_matrix() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.user("user@example.org").await;
    let other_manager = app.user("other@example.org").await;
    let manager = app.user("manager@example.org").await;
    let candidate = app.user("candidate@example.org").await;
    let fund = create_fund(&app, &admin, &[&manager]).await;
    create_fund(&app, &admin, &[&other_manager]).await;

    let operations: Vec<(&str, String, Value)> = vec![
        (
            "fund",
            "query($id: ID!) { fund(id: $id) { id } }".into(),
            json!({ "id": fund }),
        ),
        (
            "funds",
            "{ funds(first: 10) { totalCount } }".into(),
            json!({}),
        ),
        (
            "createFund",
            CREATE.into(),
            json!({ "input": fund_input(&[&manager]) }),
        ),
        (
            "updateFund",
            "mutation($id: ID!, $input: FundInput!) { updateFund(id: $id, input: $input) { id } }"
                .into(),
            json!({ "id": fund, "input": fund_input(&[]) }),
        ),
        (
            "addReviewerToPool",
            "mutation($f: ID!, $u: ID!) { addReviewerToPool(fundId: $f, userId: $u) { id } }"
                .into(),
            json!({ "f": fund, "u": candidate.id }),
        ),
        (
            "addFundManager",
            "mutation($f: ID!, $u: ID!) { addFundManager(fundId: $f, userId: $u) { id } }".into(),
            json!({ "f": fund, "u": candidate.id }),
        ),
    ];
    type Row = (&'static str, [Option<&'static str>; 5]);
    // anonymous, user, other fund's manager, this fund's manager, admin
    let expected: [Row; 6] = [
        ("fund", [None, None, None, None, None]),
        ("funds", [None, None, None, None, None]),
        (
            "createFund",
            [
                Some("UNAUTHENTICATED"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
            ],
        ),
        (
            "updateFund",
            [
                Some("UNAUTHENTICATED"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
            ],
        ),
        (
            "addReviewerToPool",
            [
                Some("UNAUTHENTICATED"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
                Some("FORBIDDEN"),
            ],
        ),
        (
            "addFundManager",
            [
                Some("UNAUTHENTICATED"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
            ],
        ),
    ];
    let viewers = [
        None,
        Some(user.access.as_str()),
        Some(other_manager.access.as_str()),
        Some(manager.access.as_str()),
        Some(admin.access.as_str()),
    ];
    for ((name, query, variables), (expected_name, codes)) in operations.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        for (viewer, code) in viewers.iter().zip(codes) {
            let response = app.graphql_as(*viewer, query, variables.clone()).await;
            assert_eq!(
                error_code(&response),
                code,
                "{name} as {viewer:?}: {response}"
            );
        }
    }
    let missing = app
        .graphql(
            "query($id: ID!) { fund(id: $id) { id } }",
            json!({ "id": uuid::Uuid::new_v4() }),
        )
        .await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"));
}
