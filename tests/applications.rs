//! Applications: drafting with partners and budget lines, partner consent, submission that
//! re-checks eligibility and freezes what was submitted, withdrawal, and who sees what.

mod common;

use common::{Session, TestApp, data, error_code, start_time};
use serde_json::{Value, json};

struct World {
    app: TestApp,
    manager: Session,
    applicant: Session,
    partner_owner: Session,
    call: String,
    ngo: String,
    partner: String,
}

fn at(hours: i64) -> String {
    (start_time() + chrono::Duration::hours(hours)).to_rfc3339()
}

async fn org(app: &TestApp, owner: &Session, input: Value) -> String {
    let response = app
        .graphql_as(
            Some(&owner.access),
            "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await;
    data(&response)["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open_call(app: &TestApp, manager: &Session, fund: &str, rules: &[&str]) -> String {
    let input = json!({
        "titleEn": "Clean water", "opensAt": at(0), "closesAt": at(24 * 30),
        "budget": { "amount": "2000000", "currency": "CNY" },
        "minAward": { "amount": "10000", "currency": "CNY" }, "maxAward": { "amount": "500000", "currency": "CNY" },
        "hostCountries": ["KE", "TZ"], "sdgGoals": [6],
        "rubric": [{ "key": "relevance", "nameEn": "Relevance", "weight": 1, "maxScore": 10 }]
    });
    let created = app
        .graphql_as(Some(&manager.access), "mutation($f: ID!, $input: CallInput!) { createCall(fundId: $f, input: $input) { id } }", json!({ "f": fund, "input": input }))
        .await;
    let call = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for rule in rules {
        data(&app.graphql_as(Some(&manager.access), &format!("mutation($id: ID!) {{ addEligibilityRule(callId: $id, rule: {rule}) {{ id }} }}"), json!({ "id": call })).await);
    }
    data(
        &app.graphql_as(
            Some(&manager.access),
            "mutation($id: ID!) { openCall(id: $id) { status } }",
            json!({ "id": call }),
        )
        .await,
    );
    call
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let manager = app.user("manager@example.org").await;
    data(
        &app.graphql_as(
            Some(&manager.access),
            "mutation { updateMe(input: { locale: \"zh-CN\" }) { id } }",
            json!({}),
        )
        .await,
    );
    let fund = app
        .graphql_as(Some(&admin.access), "mutation($input: FundInput!) { createFund(input: $input) { id } }",
            json!({ "input": { "nameEn": "SSC Fund", "budget": { "amount": "10000000", "currency": "CNY" }, "managerIds": [manager.id] } }))
        .await;
    let fund = data(&fund)["createFund"]["id"].as_str().unwrap().to_owned();
    let call = open_call(&app, &manager, &fund, &[]).await;
    let applicant = app.user("applicant@example.org").await;
    let ngo = org(&app, &applicant, json!({ "nameEn": "Green Bridge", "organizationType": 60, "country": "CN", "registryIdentifier": "CN-USCI-51530000836900607T", "registeredOn": "2015-03-01" })).await;
    let partner_owner = app.user("partner@example.org").await;
    let partner = org(&app, &partner_owner, json!({ "nameEn": "Maji Safi", "organizationType": 22, "country": "KE", "registryIdentifier": "KE-NCB-4242" })).await;
    World {
        app,
        manager,
        applicant,
        partner_owner,
        call,
        ngo,
        partner,
    }
}

fn draft(partner: &str) -> Value {
    json!({
        "titleEn": "Wells for Kitui", "titleZh": "基图伊水井", "summaryEn": "Ten wells",
        "hostCountries": ["KE"], "sdgGoals": [6],
        "requestedAmount": { "amount": "300000", "currency": "CNY" },
        "durationMonths": 18,
        "partners": [{ "organizationId": partner, "budgetShare": { "amount": "100000", "currency": "CNY" } }],
        "budgetLines": [
            { "category": "Drilling", "amount": { "amount": "250000", "currency": "CNY" } },
            { "category": "Training", "amount": { "amount": "50000", "currency": "CNY" } }
        ]
    })
}

const CREATE: &str = "mutation($call: ID!, $org: ID!, $input: ApplicationInput!) { createApplication(callId: $call, organizationId: $org, input: $input) { id reference status viewerCanEdit viewerCanSubmit viewerCanWithdraw } }";
const SUBMIT: &str = "mutation($id: ID!) { submitApplication(id: $id) { status submittedAt } }";
const ACCEPT: &str = "mutation($id: ID!, $org: ID!) { respondToPartnership(applicationId: $id, organizationId: $org, accept: true) { id } }";

async fn create(w: &World, call: &str, input: Value) -> Value {
    w.app
        .graphql_as(
            Some(&w.applicant.access),
            CREATE,
            json!({ "call": call, "org": w.ngo, "input": input }),
        )
        .await
}

async fn created(w: &World) -> String {
    let response = create(w, &w.call, draft(&w.partner)).await;
    data(&response)["createApplication"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_ngo_drafts_gets_partner_consent_submits_and_everyone_is_told() {
    let w = world().await;
    let response = create(&w, &w.call, draft(&w.partner)).await;
    let application = &data(&response)["createApplication"];
    assert_eq!(application["reference"], "BF-2027-0001");
    assert_eq!(application["status"], "DRAFT");
    assert_eq!(
        (
            application["viewerCanEdit"].as_bool(),
            application["viewerCanSubmit"].as_bool(),
            application["viewerCanWithdraw"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );
    let id = application["id"].as_str().unwrap().to_owned();

    let early = w
        .app
        .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
        .await;
    assert_eq!(
        error_code(&early),
        Some("INVALID_STATE"),
        "the partner has not accepted yet"
    );
    data(
        &w.app
            .graphql_as(
                Some(&w.partner_owner.access),
                ACCEPT,
                json!({ "id": id, "org": w.partner }),
            )
            .await,
    );

    let submitted = w
        .app
        .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
        .await;
    assert_eq!(data(&submitted)["submitApplication"]["status"], "SUBMITTED");

    // What was submitted stays, even when the organisation's profile changes.
    data(&w.app.graphql_as(Some(&w.applicant.access), "mutation($id: ID!, $input: OrganizationInput!) { updateOrganization(id: $id, input: $input) { id } }",
        json!({ "id": w.ngo, "input": { "nameEn": "Renamed Bridge", "organizationType": 60, "country": "CN", "registryIdentifier": "CN-USCI-51530000836900607T" } })).await);
    let read = w.app.graphql_as(Some(&w.manager.access), "query($id: ID!) { application(id: $id) { submittedVersion partners { status budgetShare { amount } } budgetLines { category amount { amount currency } } } }", json!({ "id": id })).await;
    let read = &data(&read)["application"];
    assert_eq!(
        read["submittedVersion"]["organization"]["nameEn"],
        "Green Bridge"
    );
    assert_eq!(
        read["submittedVersion"]["budgetLines"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        read["partners"],
        json!([{ "status": "ACCEPTED", "budgetShare": { "amount": "100000.00" } }])
    );
    assert_eq!(
        read["budgetLines"][0],
        json!({ "category": "Drilling", "amount": { "amount": "250000.00", "currency": "CNY" } })
    );

    let again = w.app.graphql_as(Some(&w.applicant.access), "mutation($id: ID!, $input: ApplicationInput!) { updateApplication(id: $id, input: $input) { id } }", json!({ "id": id, "input": draft(&w.partner) })).await;
    assert_eq!(
        error_code(&again),
        Some("INVALID_STATE"),
        "a submitted application does not change"
    );

    w.app.deliver_mail().await;
    let sent = w.app.sent_mail();
    let to_applicant = sent
        .iter()
        .find(|m| m.to == "applicant@example.org" && m.subject.contains("BF-2027-0001"))
        .expect("confirmation");
    assert_eq!(
        to_applicant.subject,
        "We received your application BF-2027-0001"
    );
    let to_manager = sent
        .iter()
        .find(|m| m.to == "manager@example.org" && m.subject.contains("BF-2027-0001"))
        .expect("notice");
    assert!(
        to_manager.subject.contains("收到新申请"),
        "in the manager's language: {}",
        to_manager.subject
    );
}

#[tokio::test]
async fn bad_drafts_are_refused_with_the_field_named() {
    let w = world().await;
    let company_owner = w.app.user("company@example.org").await;
    let company = org(&w.app, &company_owner, json!({ "nameEn": "Bridge Trading", "organizationType": 70, "country": "KE", "registryIdentifier": "KE-BRS-1" })).await;
    let mut unbalanced = draft(&w.partner);
    unbalanced["budgetLines"][1]["amount"]["amount"] = json!("49999.99");
    let mut company_partner = draft(&company);
    company_partner["partners"][0]["organizationId"] = json!(company);
    let mut outside = draft(&w.partner);
    outside["hostCountries"] = json!(["UG"]);
    let mut dollars = draft(&w.partner);
    dollars["requestedAmount"]["currency"] = json!("USD");
    for (case, input, field) in [
        ("unbalanced", unbalanced, "input.budgetLines"),
        ("company partner", company_partner, "input.partners"),
        (
            "host country outside the call",
            outside,
            "input.hostCountries",
        ),
        ("wrong currency", dollars, "input.requestedAmount.currency"),
    ] {
        let response = create(&w, &w.call, input).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{case}: {response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{case}"
        );
    }
    let stranger = w.app.user("stranger@example.org").await;
    let not_member = w
        .app
        .graphql_as(
            Some(&stranger.access),
            CREATE,
            json!({ "call": w.call, "org": w.ngo, "input": draft(&w.partner) }),
        )
        .await;
    assert_eq!(error_code(&not_member), Some("NOT_FOUND"));
}

#[tokio::test]
async fn a_failing_rule_refuses_submission_with_the_failed_rules() {
    let w = world().await;
    let fund = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "query($id: ID!) { call(id: $id) { fund { id } } }",
            json!({ "id": w.call }),
        )
        .await;
    let fund = data(&fund)["call"]["fund"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let strict = open_call(&w.app, &w.manager, &fund, &["{ kind: REQUESTED_AMOUNT_IN_RANGE, minAmount: { amount: \"10000\", currency: \"CNY\" }, maxAmount: { amount: \"200000\", currency: \"CNY\" } }"]).await;
    let response = create(&w, &strict, draft(&w.partner)).await;
    let id = data(&response)["createApplication"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(
        &w.app
            .graphql_as(
                Some(&w.partner_owner.access),
                ACCEPT,
                json!({ "id": id, "org": w.partner }),
            )
            .await,
    );
    let refused = w
        .app
        .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&refused), Some("INELIGIBLE"), "{refused}");
    let failures = refused["errors"][0]["extensions"]["failures"]
        .as_array()
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["rule"], "REQUESTED_AMOUNT_IN_RANGE");
    assert!(!failures[0]["reasonZh"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn nothing_is_submitted_after_the_deadline_and_withdrawal_is_final() {
    let w = world().await;
    let id = created(&w).await;
    data(
        &w.app
            .graphql_as(
                Some(&w.partner_owner.access),
                ACCEPT,
                json!({ "id": id, "org": w.partner }),
            )
            .await,
    );
    w.app.clock.advance(chrono::Duration::days(30));
    let applicant = w
        .app
        .session("applicant@example.org", common::PASSWORD)
        .await;
    let late = w
        .app
        .graphql_as(Some(&applicant.access), SUBMIT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&late), Some("INVALID_STATE"));
    let state = w.app.graphql_as(Some(&applicant.access), "query($id: ID!) { application(id: $id) { viewerCanEdit viewerCanSubmit viewerCanWithdraw } }", json!({ "id": id })).await;
    assert_eq!(
        data(&state)["application"],
        json!({ "viewerCanEdit": false, "viewerCanSubmit": false, "viewerCanWithdraw": true })
    );
    let withdraw = "mutation($id: ID!) { withdrawApplication(id: $id) { status } }";
    assert_eq!(
        data(
            &w.app
                .graphql_as(Some(&applicant.access), withdraw, json!({ "id": id }))
                .await
        )["withdrawApplication"]["status"],
        "WITHDRAWN"
    );
    assert_eq!(
        error_code(
            &w.app
                .graphql_as(Some(&applicant.access), withdraw, json!({ "id": id }))
                .await
        ),
        Some("INVALID_STATE")
    );
}

#[tokio::test]
async fn applicants_never_see_other_organisations_applications() {
    let w = world().await;
    let id = created(&w).await;
    let rival = w.app.user("rival@example.org").await;
    let rival_org = org(&w.app, &rival, json!({ "nameEn": "Rival NGO", "organizationType": 21, "country": "GB", "registryIdentifier": "GB-CHC-99" })).await;
    let response = w
        .app
        .graphql_as(
            Some(&rival.access),
            CREATE,
            json!({ "call": w.call, "org": rival_org, "input": draft(&w.partner) }),
        )
        .await;
    let rival_app = data(&response)["createApplication"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let lookup = "query($id: ID!) { application(id: $id) { id } }";
    assert_eq!(
        error_code(
            &w.app
                .graphql_as(Some(&rival.access), lookup, json!({ "id": id }))
                .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(
            &w.app
                .graphql_as(
                    Some(&w.applicant.access),
                    lookup,
                    json!({ "id": rival_app })
                )
                .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&w.app.graphql(lookup, json!({ "id": id })).await),
        Some("UNAUTHENTICATED")
    );
    let list = "{ applications { totalCount edges { node { id } } } }";
    let mine = w.app.graphql_as(Some(&rival.access), list, json!({})).await;
    assert_eq!(
        data(&mine)["applications"]["edges"],
        json!([{ "node": { "id": rival_app } }])
    );
    // The partner sees what it is named on; the manager sees no drafts.
    assert_eq!(
        data(
            &w.app
                .graphql_as(Some(&w.partner_owner.access), lookup, json!({ "id": id }))
                .await
        )["application"]["id"],
        id
    );
    assert_eq!(
        error_code(
            &w.app
                .graphql_as(Some(&w.manager.access), lookup, json!({ "id": id }))
                .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        data(
            &w.app
                .graphql_as(Some(&w.manager.access), list, json!({}))
                .await
        )["applications"]["totalCount"],
        0
    );
    // A partner met on an application shows no members to the applicant.
    let partners = w.app.graphql_as(Some(&w.applicant.access), "query($id: ID!) { application(id: $id) { partners { organization { name { en } members { role } } } } }", json!({ "id": id })).await;
    assert_eq!(
        data(&partners)["application"]["partners"],
        json!([{ "organization": { "name": { "en": "Maji Safi" }, "members": null } }])
    );
}

#[tokio::test]
async fn managers_list_submitted_applications_with_filters_and_order() {
    let w = world().await;
    for amount in ["300000", "200000"] {
        let mut input = draft(&w.partner);
        input["requestedAmount"]["amount"] = json!(amount);
        input["budgetLines"] =
            json!([{ "category": "All", "amount": { "amount": amount, "currency": "CNY" } }]);
        input["partners"] = json!([]);
        let response = create(&w, &w.call, input).await;
        let id = data(&response)["createApplication"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        data(
            &w.app
                .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
                .await,
        );
        w.app.clock.advance(chrono::Duration::minutes(1));
    }
    let manager = w.app.session("manager@example.org", common::PASSWORD).await;
    let query = "query($f: ApplicationFilterInput, $o: ApplicationOrder) { applications(filter: $f, order: $o) { totalCount edges { node { requestedAmount { amount } } } } }";
    let by_amount = w
        .app
        .graphql_as(
            Some(&manager.access),
            query,
            json!({ "o": "REQUESTED_AMOUNT" }),
        )
        .await;
    assert_eq!(
        data(&by_amount)["applications"]["edges"],
        json!([{ "node": { "requestedAmount": { "amount": "300000.00" } } }, { "node": { "requestedAmount": { "amount": "200000.00" } } }])
    );
    let by_submission = w
        .app
        .graphql_as(Some(&manager.access), query, json!({ "o": "SUBMITTED" }))
        .await;
    assert_eq!(
        data(&by_submission)["applications"]["edges"][0]["node"]["requestedAmount"]["amount"],
        "300000.00"
    );
    // Keyset paging follows the same order, one item a page.
    let paged = "query($o: ApplicationOrder, $after: String) { applications(order: $o, first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { node { requestedAmount { amount } } } } }";
    for order in ["REQUESTED_AMOUNT", "SUBMITTED", "NEWEST"] {
        let first = w
            .app
            .graphql_as(Some(&manager.access), paged, json!({ "o": order }))
            .await;
        let first = &data(&first)["applications"];
        assert_eq!(first["pageInfo"]["hasNextPage"], true, "{order}");
        let second = w
            .app
            .graphql_as(
                Some(&manager.access),
                paged,
                json!({ "o": order, "after": first["pageInfo"]["endCursor"] }),
            )
            .await;
        let second = &data(&second)["applications"];
        assert_eq!(second["pageInfo"]["hasNextPage"], false, "{order}");
        let amounts = [&first["edges"][0], &second["edges"][0]].map(|e| {
            e["node"]["requestedAmount"]["amount"]
                .as_str()
                .unwrap()
                .to_owned()
        });
        let expected = match order {
            "REQUESTED_AMOUNT" | "SUBMITTED" => ["300000.00", "200000.00"],
            _ => ["200000.00", "300000.00"],
        };
        assert_eq!(amounts, expected, "{order}");
    }
    for (filter, count) in [
        (json!({ "hostCountry": "KE" }), 2),
        (json!({ "hostCountry": "TZ" }), 0),
        (json!({ "applicantCategory": "CHINESE_NGO" }), 2),
        (json!({ "applicantCategory": "HOST_COUNTRY_NGO" }), 0),
        (
            json!({ "sdgGoal": 6, "statuses": ["SUBMITTED"], "callId": w.call }),
            2,
        ),
    ] {
        let response = w
            .app
            .graphql_as(Some(&manager.access), query, json!({ "f": filter }))
            .await;
        assert_eq!(
            data(&response)["applications"]["totalCount"],
            count,
            "{filter}"
        );
    }
}

const PAGED: &str = "query($after: String, $first: Int) { applications(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }";

/// Every application a session lists, page by page, with the total each page reported.
async fn page_through(app: &TestApp, session: &Session, first: u32) -> (Vec<String>, Vec<usize>) {
    let (mut seen, mut totals) = (Vec::new(), Vec::new());
    let mut after = Value::Null;
    loop {
        let response = app
            .graphql_as(
                Some(&session.access),
                PAGED,
                json!({ "after": after, "first": first }),
            )
            .await;
        let page = &data(&response)["applications"];
        totals.push(page["totalCount"].as_u64().unwrap() as usize);
        for edge in page["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return (seen, totals);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// A manager of two funds who is also a member of an applicant organisation: their listing merges
/// one index range per fund and per organisation, so it must show each application once, in
/// order across the ranges, with their own drafts but nobody else's, whatever the page size.
#[tokio::test]
async fn a_listing_over_several_funds_and_an_own_organisation_shows_each_application_once() {
    let w = world().await;
    let admin = w.app.admin().await;
    let second = w
        .app
        .graphql_as(Some(&admin.access), "mutation($input: FundInput!) { createFund(input: $input) { id } }",
            json!({ "input": { "nameEn": "Second Fund", "budget": { "amount": "10000000", "currency": "CNY" }, "managerIds": [w.manager.id] } }))
        .await;
    let second = data(&second)["createFund"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_call = open_call(&w.app, &w.manager, &second, &[]).await;
    let own_org = org(&w.app, &w.manager, json!({ "nameEn": "Manager's Own NGO", "organizationType": 60, "country": "CN", "registryIdentifier": "CN-USCI-51100000677354687P", "registeredOn": "2012-05-01" })).await;

    let mut solo = draft(&w.partner);
    solo["partners"] = json!([]);
    let create_as = |session: &Session, call: &str, org: &str| {
        let body = json!({ "call": call, "org": org, "input": solo.clone() });
        let token = session.access.clone();
        let app = &w.app;
        async move {
            let response = app.graphql_as(Some(&token), CREATE, body).await;
            app.clock.advance(chrono::Duration::minutes(1));
            data(&response)["createApplication"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let submit_as = |session: &Session, id: &str| {
        let token = session.access.clone();
        let body = json!({ "id": id });
        let app = &w.app;
        async move {
            data(&app.graphql_as(Some(&token), SUBMIT, body).await);
        }
    };
    let mut expected = Vec::new();
    // Submitted to both funds by another organisation: listed through each fund.
    for call in [&w.call, &other_call, &w.call, &other_call] {
        let id = create_as(&w.applicant, call, &w.ngo).await;
        submit_as(&w.applicant, &id).await;
        expected.push(id);
    }
    // Another organisation's draft: never listed.
    let hidden = create_as(&w.applicant, &other_call, &w.ngo).await;
    // The manager's own organisation: its draft is listed; its submitted application is in a
    // managed fund too, and must still be listed once.
    expected.push(create_as(&w.manager, &w.call, &own_org).await);
    let own_submitted = create_as(&w.manager, &other_call, &own_org).await;
    submit_as(&w.manager, &own_submitted).await;
    expected.push(own_submitted);

    // Newest first, across funds and the organisation alike, at any page size.
    let newest_first: Vec<String> = expected.iter().rev().cloned().collect();
    for first in [1, 2, 3, 100] {
        let (seen, totals) = page_through(&w.app, &w.manager, first).await;
        assert_eq!(seen, newest_first, "page size {first}");
        assert!(totals.iter().all(|total| *total == expected.len()));
        assert!(!seen.contains(&hidden));
    }
    // A reach wider than the listing merges range by range is read as one filtered range, with
    // the same answer.
    for n in 0..32 {
        data(&w.app.graphql_as(Some(&admin.access), "mutation($input: FundInput!) { createFund(input: $input) { id } }",
            json!({ "input": { "nameEn": format!("Fund {n}"), "budget": { "amount": "1000", "currency": "CNY" }, "managerIds": [w.manager.id] } })).await);
    }
    for first in [2, 100] {
        let (seen, totals) = page_through(&w.app, &w.manager, first).await;
        assert_eq!(seen, newest_first, "wide reach, page size {first}");
        assert!(totals.iter().all(|total| *total == expected.len()));
    }
    // One call of a managed fund: its submitted applications, the manager's own one once.
    let in_call = "query($call: ID!) { applications(filter: { callId: $call }, first: 100) { edges { node { id } } } }";
    let response = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            in_call,
            json!({ "call": other_call }),
        )
        .await;
    let ids: Vec<&str> = data(&response)["applications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [&expected[5], &expected[3], &expected[1]]);
    // A call of a fund they do not manage: only their own organisation's applications.
    let outsider = w.app.user("outsider@example.org").await;
    let outsider_org = org(&w.app, &outsider, json!({ "nameEn": "Outsider NGO", "organizationType": 60, "country": "CN", "registryIdentifier": "CN-USCI-52310000874526855Q", "registeredOn": "2015-03-01" })).await;
    let outsider_app = create_as(&outsider, &w.call, &outsider_org).await;
    let response = w
        .app
        .graphql_as(Some(&outsider.access), in_call, json!({ "call": w.call }))
        .await;
    assert_eq!(
        data(&response)["applications"]["edges"],
        json!([{ "node": { "id": outsider_app } }])
    );
    // The applicant still sees their organisation's applications, draft included, and nothing else.
    let response = w
        .app
        .graphql_as(Some(&w.applicant.access), PAGED, json!({ "first": 100 }))
        .await;
    assert_eq!(data(&response)["applications"]["totalCount"], 5);
}

/// A page of applications with their organisation, partners, call and budget costs the same
/// number of SQL statements whatever its size: nested fields go through DataLoaders.
#[tokio::test]
async fn a_nested_page_costs_the_same_statements_at_any_size() {
    let w = world().await;
    data(
        &w.app
            .graphql_as(
                Some(&w.applicant.access),
                "mutation { updateMe(input: { name: \"Applicant\" }) { id } }",
                json!({}),
            )
            .await,
    );
    for _ in 0..100 {
        let response = create(&w, &w.call, draft(&w.partner)).await;
        data(&response);
    }
    let query = "query($n: Int) { applications(first: $n) { totalCount pageInfo { hasNextPage } edges { node {
        reference status title { en } requestedAmount { amount currency }
        organization { name { en } applicantCategory }
        partners { status budgetShare { amount } organization { name { en } country } }
        budgetLines { category amount { amount } }
        documents { kind sha256 }
        call { title { en } fund { currency } }
        viewerCanEdit viewerCanSubmit viewerCanWithdraw } } } }";
    let mut counts = Vec::new();
    for size in [1, 10, 100] {
        let before = w
            .app
            .context
            .statements
            .load(std::sync::atomic::Ordering::SeqCst);
        let response = w
            .app
            .graphql_as(Some(&w.applicant.access), query, json!({ "n": size }))
            .await;
        let after = w
            .app
            .context
            .statements
            .load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            data(&response)["applications"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            size
        );
        counts.push(after - before);
    }
    assert_eq!(counts[0], counts[1], "{counts:?}");
    assert_eq!(counts[1], counts[2], "{counts:?}");
    assert!(
        counts[0] > 0 && counts[0] <= 15,
        "a bounded number of statements: {counts:?}"
    );
    eprintln!("statements per page: {counts:?}");
}

const UPLOAD: &str = "mutation($id: ID!, $kind: String!, $file: Upload!) { uploadDocument(applicationId: $id, kind: $kind, file: $file) { id kind fileName contentType size sha256 downloadPath } }";

/// Sends a GraphQL multipart request (the upload specification) with one file.
async fn upload(
    app: &TestApp,
    token: &str,
    application: &str,
    kind: &str,
    name: &str,
    content_type: &str,
    content: Vec<u8>,
) -> reqwest::Response {
    let operations =
        json!({ "query": UPLOAD, "variables": { "id": application, "kind": kind, "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(content)
                .file_name(name.to_owned())
                .mime_str(content_type)
                .unwrap(),
        );
    app.http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec()
}

#[tokio::test]
async fn documents_are_uploaded_checked_hashed_and_downloaded_only_by_those_who_may_see_them() {
    let w = world().await;
    let id = created(&w).await;
    let response = upload(
        &w.app,
        &w.applicant.access,
        &id,
        "budget_plan",
        "../plan.pdf",
        "application/pdf",
        pdf(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let document = data(&body)["uploadDocument"].clone();
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(pdf())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(document["sha256"], expected);
    assert_eq!(document["kind"], "BUDGET_PLAN");
    assert_eq!(document["fileName"], "plan.pdf");
    assert_eq!(document["size"], pdf().len());

    let path = document["downloadPath"].as_str().unwrap().to_owned();
    let download = |token: Option<String>| {
        let mut request = w.app.http.get(w.app.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let mine = download(Some(w.applicant.access.clone())).await.unwrap();
    assert_eq!(mine.status(), 200);
    assert_eq!(mine.headers()["content-type"], "application/pdf");
    assert_eq!(mine.bytes().await.unwrap().to_vec(), pdf());
    let stranger = w.app.user("stranger@example.org").await;
    assert_eq!(
        download(Some(stranger.access.clone()))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(download(None).await.unwrap().status(), 401);
    assert_eq!(
        download(Some(w.manager.access.clone()))
            .await
            .unwrap()
            .status(),
        404,
        "a draft's documents are the applicant's"
    );

    for (name, content_type, content) in [
        (
            "setup.pdf",
            "application/pdf",
            b"MZ\x90\x00 not a pdf".to_vec(),
        ),
        ("page.html", "text/html", b"<html></html>".to_vec()),
        ("empty.pdf", "application/pdf", Vec::new()),
    ] {
        let refused: Value = upload(
            &w.app,
            &w.applicant.access,
            &id,
            "OTHER",
            name,
            content_type,
            content,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            error_code(&refused),
            Some("BAD_USER_INPUT"),
            "{name}: {refused}"
        );
    }
    let outsider: Value = upload(
        &w.app,
        &stranger.access,
        &id,
        "OTHER",
        "x.pdf",
        "application/pdf",
        pdf(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(error_code(&outsider), Some("NOT_FOUND"));
}

#[tokio::test]
async fn uploads_over_the_limit_get_413() {
    let app = TestApp::spawn_with(|config| config.upload_limit = 4096).await;
    let user = app.user("someone@example.org").await;
    let mut big = pdf();
    big.resize(64 * 1024, b' ');
    let response = upload(
        &app,
        &user.access,
        &uuid::Uuid::new_v4().to_string(),
        "OTHER",
        "big.pdf",
        "application/pdf",
        big,
    )
    .await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_required_document_must_be_attached_and_its_hash_is_frozen_at_submission() {
    let w = world().await;
    let fund = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "query($id: ID!) { call(id: $id) { fund { id } } }",
            json!({ "id": w.call }),
        )
        .await;
    let fund = data(&fund)["call"]["fund"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let call = open_call(
        &w.app,
        &w.manager,
        &fund,
        &["{ kind: REQUIRED_DOCUMENT, documentKind: \"BUDGET_PLAN\" }"],
    )
    .await;
    let mut input = draft(&w.partner);
    input["partners"] = json!([]);
    let response = create(&w, &call, input).await;
    let id = data(&response)["createApplication"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = w
        .app
        .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&refused), Some("INELIGIBLE"));
    assert_eq!(
        refused["errors"][0]["extensions"]["failures"][0]["rule"],
        "REQUIRED_DOCUMENT"
    );

    let uploaded: Value = upload(
        &w.app,
        &w.applicant.access,
        &id,
        "BUDGET_PLAN",
        "plan.pdf",
        "application/pdf",
        pdf(),
    )
    .await
    .json()
    .await
    .unwrap();
    let sha = data(&uploaded)["uploadDocument"]["sha256"].clone();
    data(
        &w.app
            .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
            .await,
    );
    let read = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "query($id: ID!) { application(id: $id) { submittedVersion } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&read)["application"]["submittedVersion"]["documents"][0]["sha256"],
        sha
    );
    let late: Value = upload(
        &w.app,
        &w.applicant.access,
        &id,
        "OTHER",
        "late.pdf",
        "application/pdf",
        pdf(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        error_code(&late),
        Some("INVALID_STATE"),
        "nothing is added after submission"
    );
}

#[tokio::test]
async fn members_with_a_draft_are_reminded_once_before_the_call_closes() {
    let w = world().await;
    let id = created(&w).await;
    let submitted = created(&w).await;
    data(
        &w.app
            .graphql_as(
                Some(&w.partner_owner.access),
                ACCEPT,
                json!({ "id": submitted, "org": w.partner }),
            )
            .await,
    );
    data(
        &w.app
            .graphql_as(
                Some(&w.applicant.access),
                SUBMIT,
                json!({ "id": submitted }),
            )
            .await,
    );
    let remind = || bridgefund::service::application::send_draft_reminders(&w.app.context);

    assert_eq!(
        remind().await.unwrap(),
        0,
        "the call closes in 30 days: too early"
    );
    w.app
        .clock
        .advance(chrono::Duration::days(27) + chrono::Duration::hours(1));
    assert_eq!(remind().await.unwrap(), 1, "only the draft is reminded");
    assert_eq!(remind().await.unwrap(), 0, "once");
    w.app.deliver_mail().await;
    let reminders: Vec<_> = w
        .app
        .sent_mail()
        .into_iter()
        .filter(|m| m.subject.starts_with("Reminder:"))
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].to, "applicant@example.org");
    let applicant = w
        .app
        .session("applicant@example.org", common::PASSWORD)
        .await;
    let reference = w
        .app
        .graphql_as(
            Some(&applicant.access),
            "query($id: ID!) { application(id: $id) { reference } }",
            json!({ "id": id }),
        )
        .await;
    assert!(
        reminders[0].subject.contains(
            data(&reference)["application"]["reference"]
                .as_str()
                .unwrap()
        )
    );
}
