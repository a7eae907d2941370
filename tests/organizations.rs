//! Organisations: the derived applicant category, profiles, membership by invitation, host-country
//! registrations, and who sees what on every path.

mod common;

use common::{Session, TestApp, data, error_code};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id applicantCategory canReceiveMoney country registryIdentifier name { en zh } annualBudget { amount currency } } }";

fn chinese_ngo() -> Value {
    json!({
        "nameEn": "Green Bridge Foundation", "nameZh": "绿桥基金会", "organizationType": 60,
        "country": "CN", "registryIdentifier": "CN-USCI-51530000836900607T",
        "registeredOn": "2015-03-01", "website": "https://greenbridge.example.org",
        "annualBudget": { "amount": "1250000.50", "currency": "CNY" }
    })
}

async fn create(app: &TestApp, session: &Session, input: Value) -> Value {
    app.graphql_as(Some(&session.access), CREATE, json!({ "input": input }))
        .await
}

async fn create_ok(app: &TestApp, session: &Session, input: Value) -> String {
    let response = create(app, session, input).await;
    data(&response)["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_member_creates_an_organisation_and_sees_what_it_is() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@example.org").await;
    let response = create(&app, &owner, chinese_ngo()).await;
    assert_eq!(
        data(&response)["createOrganization"],
        json!({
            "id": data(&response)["createOrganization"]["id"],
            "applicantCategory": "CHINESE_NGO", "canReceiveMoney": true, "country": "CN",
            "registryIdentifier": "CN-USCI-51530000836900607T",
            "name": { "en": "Green Bridge Foundation", "zh": "绿桥基金会" },
            "annualBudget": { "amount": "1250000.50", "currency": "CNY" }
        })
    );
    let me = app
        .graphql_as(
            Some(&owner.access),
            "{ me { organizations { name { en } members { role user { email } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&me)["me"]["organizations"],
        json!([{ "name": { "en": "Green Bridge Foundation" }, "members": [{ "role": "OWNER", "user": { "email": "owner@example.org" } }] }])
    );
}

#[tokio::test]
async fn the_category_is_derived_and_companies_never_pass_as_ngos() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@example.org").await;
    let cases = [
        // A company's USCI (91…) makes a company, whatever type was declared.
        (22, "CN", "CN-USCI-91440300279955604U", "COMPANY"),
        (70, "KE", "KE-NCB-12345", "COMPANY"),
        (73, "GB", "GB-COH-1234567", "COMPANY"),
        (22, "KE", "KE-NCB-67890", "HOST_COUNTRY_NGO"),
        (21, "GB", "GB-CHC-1234567", "INTERNATIONAL_NGO"),
        (80, "CN", "CN-USCI-11440300640735371U", "OTHER"),
        (22, "CN", "CN-USCI-5944030033973592X6", "OTHER"),
        (10, "LA", "LA-GOV-1", "OTHER"),
    ];
    for (org_type, country, registry, expected) in cases {
        let mut input = chinese_ngo();
        input["organizationType"] = json!(org_type);
        input["country"] = json!(country);
        input["registryIdentifier"] = json!(registry);
        let response = create(&app, &owner, input).await;
        let org = &data(&response)["createOrganization"];
        assert_eq!(
            org["applicantCategory"], expected,
            "{org_type} {country} {registry}"
        );
        assert_eq!(org["canReceiveMoney"], expected.ends_with("_NGO"));
    }
}

#[tokio::test]
async fn malformed_profiles_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@example.org").await;
    create_ok(&app, &owner, chinese_ngo()).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "bad check character",
            json!("CN-USCI-51530000836900607U"),
            "input.registryIdentifier",
        ),
        (
            "wrong length",
            json!("CN-USCI-5153000083690060"),
            "input.registryIdentifier",
        ),
        (
            "Chinese body without a USCI",
            json!("CN-SAIC-12345"),
            "input.registryIdentifier",
        ),
        (
            "taken",
            json!("CN-USCI-51530000836900607T"),
            "input.registryIdentifier",
        ),
    ];
    for (case, registry, field) in cases {
        let mut input = chinese_ngo();
        input["registryIdentifier"] = registry;
        let response = create(&app, &owner, input).await;
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
    let others: Vec<(&str, Value)> = vec![
        ("input.organizationType", json!({ "organizationType": 99 })),
        ("input.country", json!({ "country": "XX" })),
        (
            "input.registeredOn",
            json!({ "registeredOn": "2099-01-01" }),
        ),
        ("input.website", json!({ "website": "javascript:alert(1)" })),
        (
            "input.annualBudget.amount",
            json!({ "annualBudget": { "amount": "1.005", "currency": "CNY" } }),
        ),
        (
            "input.annualBudget.currency",
            json!({ "annualBudget": { "amount": "1", "currency": "XYZ" } }),
        ),
        ("input.nameEn", json!({ "nameEn": "   " })),
    ];
    for (field, change) in others {
        let mut input = chinese_ngo();
        input["registryIdentifier"] = json!("CN-USCI-51100000677354687P");
        for (key, value) in change.as_object().unwrap() {
            input[key] = value.clone();
        }
        let response = create(&app, &owner, input).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{field}: {response}"
        );
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn invitations_bring_members_in_once() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@example.org").await;
    let org = create_ok(&app, &owner, chinese_ngo()).await;
    let invitee = app.user("invitee@example.org").await;
    let stranger = app.user("stranger@example.org").await;
    data(
        &app.graphql_as(
            Some(&invitee.access),
            "mutation { updateMe(input: { locale: \"zh-CN\" }) { locale } }",
            json!({}),
        )
        .await,
    );

    let invite = "mutation($org: ID!, $email: String!) { inviteMember(organizationId: $org, email: $email) { email } }";
    let invited = app
        .graphql_as(
            Some(&owner.access),
            invite,
            json!({ "org": org, "email": "Invitee@example.org" }),
        )
        .await;
    assert_eq!(
        data(&invited)["inviteMember"]["email"],
        "invitee@example.org"
    );
    let token = app.emailed_token("invitee@example.org").await;
    let sent = app.sent_mail();
    let letter = sent
        .iter()
        .rev()
        .find(|m| m.to == "invitee@example.org")
        .unwrap();
    assert_eq!(
        letter.subject, "邀请您加入 Bridgefund 上的 绿桥基金会",
        "in the invitee's language"
    );

    let accept = "mutation($t: String!) { acceptInvitation(token: $t) { id } }";
    let wrong_person = app
        .graphql_as(Some(&stranger.access), accept, json!({ "t": token }))
        .await;
    assert_eq!(error_code(&wrong_person), Some("FORBIDDEN"));
    data(
        &app.graphql_as(Some(&invitee.access), accept, json!({ "t": token }))
            .await,
    );
    let again = app
        .graphql_as(Some(&invitee.access), accept, json!({ "t": token }))
        .await;
    assert_eq!(error_code(&again), Some("BAD_USER_INPUT"));

    let members = app
        .graphql_as(Some(&invitee.access), "query($id: ID!) { organization(id: $id) { members { role user { email roles organizations { id } } } } }", json!({ "id": org }))
        .await;
    assert_eq!(
        data(&members)["organization"]["members"],
        json!([
            { "role": "OWNER", "user": { "email": "owner@example.org", "roles": null, "organizations": null } },
            { "role": "MEMBER", "user": { "email": "invitee@example.org", "roles": [], "organizations": [{ "id": org }] } }
        ]),
        "another person's roles and organisations stay hidden"
    );
    let twice = app
        .graphql_as(
            Some(&owner.access),
            invite,
            json!({ "org": org, "email": "invitee@example.org" }),
        )
        .await;
    assert_eq!(error_code(&twice), Some("CONFLICT"));
}

#[tokio::test]
async fn owners_record_host_country_registrations() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@example.org").await;
    let org = create_ok(&app, &owner, chinese_ngo()).await;
    let add = "mutation($org: ID!, $input: HostCountryRegistrationInput!) { addHostCountryRegistration(organizationId: $org, input: $input) { id country agency number validUntil } }";
    let input = json!({ "country": "KE", "agency": "NGO Coordination Board", "number": "OP.218/051/15-0123/9876", "validUntil": "2028-12-31" });
    let added = app
        .graphql_as(
            Some(&owner.access),
            add,
            json!({ "org": org, "input": input }),
        )
        .await;
    let id = data(&added)["addHostCountryRegistration"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let duplicate = app
        .graphql_as(
            Some(&owner.access),
            add,
            json!({ "org": org, "input": input }),
        )
        .await;
    assert_eq!(error_code(&duplicate), Some("CONFLICT"));

    let listed = app
        .graphql_as(Some(&owner.access), "query($id: ID!) { organization(id: $id) { hostCountryRegistrations { country agency } } }", json!({ "id": org }))
        .await;
    assert_eq!(
        data(&listed)["organization"]["hostCountryRegistrations"],
        json!([{ "country": "KE", "agency": "NGO Coordination Board" }])
    );
    let remove = "mutation($id: ID!) { removeHostCountryRegistration(id: $id) }";
    data(
        &app.graphql_as(Some(&owner.access), remove, json!({ "id": id }))
            .await,
    );
    assert_eq!(
        error_code(
            &app.graphql_as(Some(&owner.access), remove, json!({ "id": id }))
                .await
        ),
        Some("NOT_FOUND")
    );
}

/// Anonymous, an outsider, a member, the owner and an admin against every query and mutation of
/// organisations, reaching them by lookup, by nested field and by list.
#[tokio::test]
async fn permission_matrix() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.user("owner@example.org").await;
    let member = app.user("member@example.org").await;
    let outsider = app.user("outsider@example.org").await;
    let org = create_ok(&app, &owner, chinese_ngo()).await;
    let invite = "mutation($org: ID!, $email: String!) { inviteMember(organizationId: $org, email: $email) { email } }";
    data(
        &app.graphql_as(
            Some(&owner.access),
            invite,
            json!({ "org": org, "email": "member@example.org" }),
        )
        .await,
    );
    let token = app.emailed_token("member@example.org").await;
    data(
        &app.graphql_as(
            Some(&member.access),
            "mutation($t: String!) { acceptInvitation(token: $t) { id } }",
            json!({ "t": token }),
        )
        .await,
    );
    let registration = app
        .graphql_as(
            Some(&owner.access),
            "mutation($org: ID!) { addHostCountryRegistration(organizationId: $org, input: { country: \"KE\", agency: \"Board\", number: \"1\" }) { id } }",
            json!({ "org": org }),
        )
        .await;
    let registration = data(&registration)["addHostCountryRegistration"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut update_input = chinese_ngo();
    update_input["nameEn"] = json!("Renamed");
    let operations: Vec<(&str, &str, Value)> = vec![
        (
            "organization",
            "query($id: ID!) { organization(id: $id) { id } }",
            json!({ "id": org }),
        ),
        (
            "organizations",
            "{ organizations(first: 10) { totalCount } }",
            json!({}),
        ),
        (
            "updateOrganization",
            "mutation($id: ID!, $input: OrganizationInput!) { updateOrganization(id: $id, input: $input) { id } }",
            json!({ "id": org, "input": update_input }),
        ),
        (
            "inviteMember",
            invite,
            json!({ "org": org, "email": "new@example.org" }),
        ),
        (
            "removeHostCountryRegistration",
            "mutation($id: ID!) { removeHostCountryRegistration(id: $id) }",
            json!({ "id": registration }),
        ),
    ];
    type Row = (&'static str, [Option<&'static str>; 5]);
    // anonymous, outsider, member, admin, owner (the owner last: removal changes the state)
    let expected: [Row; 5] = [
        (
            "organization",
            [Some("UNAUTHENTICATED"), Some("NOT_FOUND"), None, None, None],
        ),
        (
            "organizations",
            [
                Some("UNAUTHENTICATED"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
                Some("FORBIDDEN"),
            ],
        ),
        (
            "updateOrganization",
            [
                Some("UNAUTHENTICATED"),
                Some("NOT_FOUND"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
            ],
        ),
        (
            "inviteMember",
            [
                Some("UNAUTHENTICATED"),
                Some("NOT_FOUND"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
            ],
        ),
        (
            "removeHostCountryRegistration",
            [
                Some("UNAUTHENTICATED"),
                Some("NOT_FOUND"),
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
            ],
        ),
    ];
    let viewers = [
        None,
        Some(outsider.access.as_str()),
        Some(member.access.as_str()),
        Some(admin.access.as_str()),
        Some(owner.access.as_str()),
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

    // By list: an outsider's own list never shows it.
    let mine = app
        .graphql_as(
            Some(&outsider.access),
            "{ myOrganizations { id } me { organizations { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&mine)["myOrganizations"], json!([]));
    assert_eq!(data(&mine)["me"]["organizations"], json!([]));
    let anonymous = app.graphql("{ myOrganizations { id } }", json!({})).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}
