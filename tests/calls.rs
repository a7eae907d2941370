//! Calls for proposals: managers set them up within the fund's budget, the scheduler opens and
//! closes them, anyone browses open ones, and organisations see exactly why they are eligible.

mod common;

use common::{Session, TestApp, data, error_code, start_time};
use serde_json::{Value, json};

const CREATE_FUND: &str = "mutation($input: FundInput!) { createFund(input: $input) { id } }";
const CREATE_CALL: &str = "mutation($fund: ID!, $input: CallInput!) { createCall(fundId: $fund, input: $input) { id status } }";
const OPEN: &str = "mutation($id: ID!) { openCall(id: $id) { status published } }";

struct Setup {
    app: TestApp,
    admin: Session,
    manager: Session,
    fund: String,
}

async fn setup_on(app: TestApp) -> Setup {
    let admin = app.admin().await;
    let manager = app.user("manager@example.org").await;
    let fund = app
        .graphql_as(
            Some(&admin.access),
            CREATE_FUND,
            json!({ "input": { "nameEn": "SSC Fund", "budget": { "amount": "10000000.00", "currency": "CNY" }, "managerIds": [manager.id] } }),
        )
        .await;
    let fund = data(&fund)["createFund"]["id"].as_str().unwrap().to_owned();
    Setup {
        app,
        admin,
        manager,
        fund,
    }
}

async fn setup() -> Setup {
    setup_on(TestApp::spawn().await).await
}

fn at(hours: i64) -> String {
    (start_time() + chrono::Duration::hours(hours)).to_rfc3339()
}

fn call_input(budget: &str) -> Value {
    json!({
        "titleEn": "Clean water in East Africa", "titleZh": "东非清洁饮水",
        "opensAt": at(0), "closesAt": at(24 * 30),
        "budget": { "amount": budget, "currency": "CNY" },
        "minAward": { "amount": "100000", "currency": "CNY" },
        "maxAward": { "amount": "500000", "currency": "CNY" },
        "hostCountries": ["KE", "tz"], "sdgGoals": [6, 3],
        "rubric": [
            { "key": "relevance", "nameEn": "Relevance", "nameZh": "相关性", "weight": 2, "maxScore": 10 },
            { "key": "feasibility", "nameEn": "Feasibility", "weight": 1, "maxScore": 5 }
        ]
    })
}

async fn create_call(s: &Setup, input: Value) -> Value {
    s.app
        .graphql_as(
            Some(&s.manager.access),
            CREATE_CALL,
            json!({ "fund": s.fund, "input": input }),
        )
        .await
}

async fn open_call(s: &Setup) -> String {
    let created = create_call(s, call_input("2000000")).await;
    let id = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let opened = s
        .app
        .graphql_as(Some(&s.manager.access), OPEN, json!({ "id": id }))
        .await;
    assert_eq!(data(&opened)["openCall"]["status"], "OPEN");
    id
}

async fn allocated(s: &Setup) -> String {
    let fund = s
        .app
        .graphql_as(
            Some(&s.admin.access),
            "query($id: ID!) { fund(id: $id) { totals { allocated { amount } } } }",
            json!({ "id": s.fund }),
        )
        .await;
    data(&fund)["fund"]["totals"]["allocated"]["amount"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn drafts_are_private_and_open_calls_are_public() {
    let s = setup().await;
    let created = create_call(&s, call_input("2000000")).await;
    let id = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lookup = "query($id: ID!) { call(id: $id) { title { en zh } status hostCountries sdgGoals budget { amount currency } rubric { key weight } eligibilityRules { kind } } }";
    assert_eq!(
        error_code(&s.app.graphql(lookup, json!({ "id": id })).await),
        Some("NOT_FOUND")
    );
    let public_list = "{ calls { totalCount edges { node { id } } } }";
    assert_eq!(
        data(&s.app.graphql(public_list, json!({})).await)["calls"]["totalCount"],
        0
    );

    s.app
        .graphql_as(Some(&s.manager.access), OPEN, json!({ "id": id }))
        .await;
    let call = s.app.graphql(lookup, json!({ "id": id })).await;
    assert_eq!(
        data(&call)["call"],
        json!({
            "title": { "en": "Clean water in East Africa", "zh": "东非清洁饮水" }, "status": "OPEN",
            "hostCountries": ["KE", "TZ"], "sdgGoals": [3, 6],
            "budget": { "amount": "2000000.00", "currency": "CNY" },
            "rubric": [{ "key": "relevance", "weight": 2 }, { "key": "feasibility", "weight": 1 }],
            "eligibilityRules": [{ "kind": "NGO_ONLY" }]
        })
    );
    let filtered = |filter: Value| {
        let app = &s.app;
        async move {
            let response = app
                .graphql(
                    "query($f: CallFilterInput) { calls(filter: $f) { totalCount } }",
                    json!({ "f": filter }),
                )
                .await;
            data(&response)["calls"]["totalCount"].as_i64().unwrap()
        }
    };
    assert_eq!(filtered(json!({ "hostCountry": "KE" })).await, 1);
    assert_eq!(filtered(json!({ "hostCountry": "UG" })).await, 0);
    assert_eq!(filtered(json!({ "sdgGoal": 6 })).await, 1);
    assert_eq!(filtered(json!({ "sdgGoal": 7 })).await, 0);
    assert_eq!(
        filtered(json!({ "applicantCategory": "HOST_COUNTRY_NGO" })).await,
        1
    );
    assert_eq!(
        filtered(json!({ "applicantCategory": "COMPANY" })).await,
        0,
        "no call is ever open to companies"
    );
    assert_eq!(
        filtered(json!({ "fundId": s.fund, "statuses": ["OPEN"] })).await,
        1
    );
    assert_eq!(filtered(json!({ "closesBefore": at(24) })).await, 0);
}

#[tokio::test]
async fn managers_of_another_fund_and_outsiders_cannot_touch_a_call() {
    let s = setup().await;
    let other = s.app.user("other@example.org").await;
    let created = create_call(&s, call_input("2000000")).await;
    let id = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let not_theirs = s
        .app
        .graphql_as(
            Some(&other.access),
            CREATE_CALL,
            json!({ "fund": s.fund, "input": call_input("1") }),
        )
        .await;
    assert_eq!(error_code(&not_theirs), Some("FORBIDDEN"));
    let draft = s
        .app
        .graphql_as(
            Some(&other.access),
            "query($id: ID!) { call(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        error_code(&draft),
        Some("NOT_FOUND"),
        "a draft does not exist for outsiders"
    );
    assert_eq!(
        error_code(
            &s.app
                .graphql_as(Some(&other.access), OPEN, json!({ "id": id }))
                .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&s.app.graphql(OPEN, json!({ "id": id })).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn calls_never_allocate_more_than_the_fund_has() {
    let s = setup().await;
    let first = create_call(&s, call_input("6000000")).await;
    let first = data(&first)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = create_call(&s, call_input("6000000")).await;
    assert_eq!(error_code(&second), Some("LIMIT_EXCEEDED"));
    assert_eq!(allocated(&s).await, "6000000.00");

    // Abandoning a draft gives its budget back.
    let archived = s
        .app
        .graphql_as(
            Some(&s.manager.access),
            "mutation($id: ID!) { archiveCall(id: $id) { status } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(data(&archived)["archiveCall"]["status"], "ARCHIVED");
    assert_eq!(allocated(&s).await, "0.00");
    data(&create_call(&s, call_input("6000000")).await);

    let wrong_currency = create_call(
        &s,
        json!({ "budget": { "amount": "1", "currency": "USD" } })
            .as_object()
            .map(|o| {
                let mut input = call_input("1");
                for (k, v) in o {
                    input[k] = v.clone();
                }
                input["minAward"] = json!({ "amount": "1", "currency": "USD" });
                input["maxAward"] = json!({ "amount": "1", "currency": "USD" });
                input
            })
            .unwrap(),
    )
    .await;
    assert_eq!(error_code(&wrong_currency), Some("BAD_USER_INPUT"));
}

/// Two application instances on one database allocate concurrently: the fund's budget holds.
#[tokio::test]
async fn concurrent_allocations_from_two_instances_never_overspend() {
    let s = setup().await;
    let second = TestApp::spawn_on(s.app.db.shared(), |_| {}).await;
    second.clock.set(s.app.clock.now());
    let requests = (0..10).map(|i| {
        let app = if i % 2 == 0 { &s.app } else { &second };
        app.graphql_as(
            Some(&s.manager.access),
            CREATE_CALL,
            json!({ "fund": s.fund, "input": call_input("2000000") }),
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let succeeded = responses
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    let refused = responses
        .iter()
        .filter(|r| error_code(r) == Some("LIMIT_EXCEEDED"))
        .count();
    assert_eq!((succeeded, refused), (5, 5), "{responses:#?}");
    assert_eq!(allocated(&s).await, "10000000.00");
}

#[tokio::test]
async fn a_call_opens_and_closes_by_itself_at_its_times() {
    let s = setup().await;
    let mut input = call_input("2000000");
    input["opensAt"] = json!(at(48));
    input["closesAt"] = json!(at(96));
    let created = create_call(&s, input).await;
    let id = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let published = s
        .app
        .graphql_as(Some(&s.manager.access), OPEN, json!({ "id": id }))
        .await;
    assert_eq!(
        data(&published)["openCall"],
        json!({ "status": "DRAFT", "published": true })
    );

    let status = || {
        let app = &s.app;
        let token = s.manager.access.clone();
        let id = id.clone();
        async move {
            let response = app
                .graphql_as(
                    Some(&token),
                    "query($id: ID!) { call(id: $id) { status acceptingSubmissions } }",
                    json!({ "id": id }),
                )
                .await;
            data(&response)["call"].clone()
        }
    };
    bridgefund::service::call::apply_schedule(&s.app.context)
        .await
        .unwrap();
    assert_eq!(
        status().await,
        json!({ "status": "DRAFT", "acceptingSubmissions": false })
    );
    s.app.clock.advance(chrono::Duration::hours(48));
    bridgefund::service::call::apply_schedule(&s.app.context)
        .await
        .unwrap();
    assert_eq!(
        status().await,
        json!({ "status": "OPEN", "acceptingSubmissions": true })
    );

    // Even before the scheduler runs, submissions stop at the closing time.
    s.app.clock.advance(chrono::Duration::hours(48));
    assert_eq!(
        status().await,
        json!({ "status": "OPEN", "acceptingSubmissions": false })
    );
    bridgefund::service::call::apply_schedule(&s.app.context)
        .await
        .unwrap();
    assert_eq!(
        status().await,
        json!({ "status": "CLOSED", "acceptingSubmissions": false })
    );
}

#[tokio::test]
async fn an_open_call_only_gets_a_later_deadline_and_its_rules_are_frozen() {
    let s = setup().await;
    let id = open_call(&s).await;
    let update = "mutation($id: ID!, $input: CallInput!) { updateCall(id: $id, input: $input) { closesAt } }";
    let mut later = call_input("2000000");
    later["closesAt"] = json!(at(24 * 40));
    let moved = s
        .app
        .graphql_as(
            Some(&s.manager.access),
            update,
            json!({ "id": id, "input": later }),
        )
        .await;
    assert_eq!(data(&moved)["updateCall"]["closesAt"], at(24 * 40));
    let mut earlier = call_input("2000000");
    earlier["closesAt"] = json!(at(24 * 35));
    let refused = s
        .app
        .graphql_as(
            Some(&s.manager.access),
            update,
            json!({ "id": id, "input": earlier }),
        )
        .await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"));
    assert_eq!(
        refused["errors"][0]["extensions"]["field"],
        "input.closesAt"
    );

    let mut new_rubric = later.clone();
    new_rubric["rubric"][0]["weight"] = json!(5);
    let frozen = s
        .app
        .graphql_as(
            Some(&s.manager.access),
            update,
            json!({ "id": id, "input": new_rubric }),
        )
        .await;
    assert_eq!(
        error_code(&frozen),
        Some("INVALID_STATE"),
        "the rubric is frozen once open"
    );
    let add = "mutation($id: ID!) { addEligibilityRule(callId: $id, rule: { kind: MIN_YEARS_REGISTERED, years: 2 }) { id } }";
    assert_eq!(
        error_code(
            &s.app
                .graphql_as(Some(&s.manager.access), add, json!({ "id": id }))
                .await
        ),
        Some("INVALID_STATE")
    );
    let close = "mutation($id: ID!) { closeCall(id: $id) { status closesAt } }";
    s.app.clock.advance(chrono::Duration::days(41));
    // Access tokens last 15 minutes: sign in again after the jump in time.
    let manager = s.app.session("manager@example.org", common::PASSWORD).await;
    let closed = s
        .app
        .graphql_as(Some(&manager.access), close, json!({ "id": id }))
        .await;
    assert_eq!(
        data(&closed)["closeCall"],
        json!({ "status": "CLOSED", "closesAt": at(24 * 40) }),
        "closed after its time, a call keeps its closing time"
    );
    assert_eq!(
        error_code(
            &s.app
                .graphql_as(Some(&manager.access), close, json!({ "id": id }))
                .await
        ),
        Some("INVALID_STATE"),
        "once"
    );
}

/// An owner's organisation (a Kenyan NGO) named `name`.
async fn organization(s: &Setup, owner: &Session, name: &str, n: usize) -> String {
    let response = s
        .app
        .graphql_as(
            Some(&owner.access),
            "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id } }",
            json!({ "input": { "nameEn": name, "organizationType": 22, "country": "KE", "registryIdentifier": format!("KE-NCB-{}", 5000 + n) } }),
        )
        .await;
    data(&response)["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A draft of `org` in `call`, asking for 200,000.
async fn draft(s: &Setup, owner: &Session, call: &str, org: &str, title: &str) -> String {
    let input = json!({
        "titleEn": title, "hostCountries": ["KE"], "sdgGoals": [6],
        "requestedAmount": { "amount": "200000", "currency": "CNY" }, "durationMonths": 12,
        "budgetLines": [{ "category": "Drilling", "amount": { "amount": "200000", "currency": "CNY" } }]
    });
    let created = s
        .app
        .graphql_as(Some(&owner.access), "mutation($call: ID!, $org: ID!, $input: ApplicationInput!) { createApplication(callId: $call, organizationId: $org, input: $input) { id } }",
            json!({ "call": call, "org": org, "input": input }))
        .await;
    data(&created)["createApplication"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const SUBMIT: &str = "mutation($id: ID!) { submitApplication(id: $id) { status } }";

#[tokio::test]
async fn a_manager_closes_a_call_early_and_members_with_drafts_are_told() {
    let s = setup().await;
    let call = open_call(&s).await;
    // Green Bridge has two drafts and two members, one reading Chinese; Blue Sky has submitted.
    let alice = s.app.user("alice@example.org").await;
    let bo = s.app.user("bo@example.org").await;
    data(
        &s.app
            .graphql_as(
                Some(&bo.access),
                "mutation { updateMe(input: { locale: \"zh-CN\" }) { id } }",
                json!({}),
            )
            .await,
    );
    let green = organization(&s, &alice, "Green Bridge", 1).await;
    data(&s.app.graphql_as(Some(&alice.access), "mutation($org: ID!, $email: String!) { inviteMember(organizationId: $org, email: $email) { email } }", json!({ "org": green, "email": "bo@example.org" })).await);
    let token = s.app.emailed_token("bo@example.org").await;
    data(
        &s.app
            .graphql_as(
                Some(&bo.access),
                "mutation($t: String!) { acceptInvitation(token: $t) { id } }",
                json!({ "t": token }),
            )
            .await,
    );
    let wells = draft(&s, &alice, &call, &green, "Wells").await;
    draft(&s, &alice, &call, &green, "Pumps").await;
    let carol = s.app.user("carol@example.org").await;
    let blue = organization(&s, &carol, "Blue Sky", 2).await;
    let submitted = draft(&s, &carol, &call, &blue, "Latrines").await;
    data(
        &s.app
            .graphql_as(Some(&carol.access), SUBMIT, json!({ "id": submitted }))
            .await,
    );

    // Members and outsiders cannot close it; its manager can, a month early.
    let close =
        "mutation($id: ID!) { closeCall(id: $id) { status closesAt acceptingSubmissions } }";
    assert_eq!(
        error_code(
            &s.app
                .graphql_as(Some(&alice.access), close, json!({ "id": call }))
                .await
        ),
        Some("FORBIDDEN")
    );
    s.app.clock.advance(chrono::Duration::minutes(10));
    let manager = s.app.session("manager@example.org", common::PASSWORD).await;
    let closed = s
        .app
        .graphql_as(Some(&manager.access), close, json!({ "id": call }))
        .await;
    let closed_at = (start_time() + chrono::Duration::minutes(10)).to_rfc3339();
    assert_eq!(
        data(&closed)["closeCall"],
        json!({ "status": "CLOSED", "closesAt": closed_at, "acceptingSubmissions": false }),
        "the closing time becomes now"
    );

    // The drafts can no longer be submitted.
    let alice = s.app.session("alice@example.org", common::PASSWORD).await;
    let late = s
        .app
        .graphql_as(Some(&alice.access), SUBMIT, json!({ "id": wells }))
        .await;
    assert_eq!(error_code(&late), Some("INVALID_STATE"), "{late}");

    // The audit event keeps the announced closing time.
    let db = s.app.db.connect().await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let events = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("call.close"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let time = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .to_rfc3339()
    };
    let (before, after) = (
        events[0].before_state.clone().unwrap(),
        events[0].after_state.clone().unwrap(),
    );
    assert_eq!(before["status"], "OPEN");
    assert_eq!(time(&before["closesAt"]), at(24 * 30));
    assert_eq!(after["status"], "CLOSED");
    assert_eq!(time(&after["closesAt"]), closed_at);
    assert_eq!(after["early"], true);

    // One email per member per draft, in their language; nothing to the submitted one's owner.
    s.app.deliver_mail().await;
    let told = |to: &str| -> Vec<(String, String)> {
        s.app
            .sent_mail()
            .into_iter()
            .filter(|m| {
                m.to == to && (m.subject.contains("closed early") || m.subject.contains("提前截止"))
            })
            .map(|m| {
                let parsed = mail_parser::MessageParser::default()
                    .parse(m.raw.as_bytes())
                    .expect("parsable email");
                let text = parsed.body_text(0).expect("text body").into_owned();
                (m.subject, text)
            })
            .collect()
    };
    let to_alice = told("alice@example.org");
    assert_eq!(to_alice.len(), 2, "{to_alice:?}");
    assert!(
        to_alice
            .iter()
            .all(|(subject, _)| subject == "The call Clean water in East Africa has closed early")
    );
    assert!(to_alice.iter().any(|(_, text)| text.contains("\"Wells\"")));
    assert!(to_alice.iter().any(|(_, text)| text.contains("\"Pumps\"")));
    assert!(
        to_alice[0].1.contains("2027-03-31 08:00 UTC")
            && to_alice[0].1.contains("2027-03-01 08:10 UTC"),
        "{}",
        to_alice[0].1
    );
    let to_bo = told("bo@example.org");
    assert_eq!(to_bo.len(), 2, "{to_bo:?}");
    assert!(
        to_bo
            .iter()
            .all(|(subject, _)| subject == "项目征集“东非清洁饮水”已提前截止")
    );
    assert_eq!(told("carol@example.org"), vec![]);

    // Closing again is refused and tells no one twice.
    assert_eq!(
        error_code(
            &s.app
                .graphql_as(Some(&manager.access), close, json!({ "id": call }))
                .await
        ),
        Some("INVALID_STATE")
    );
    s.app.deliver_mail().await;
    assert_eq!(told("alice@example.org").len(), 2);
}

#[tokio::test]
async fn a_call_opens_only_with_a_rubric() {
    let s = setup().await;
    let mut input = call_input("2000000");
    input.as_object_mut().unwrap().remove("rubric");
    let created = create_call(&s, input).await;
    let id = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        error_code(
            &s.app
                .graphql_as(Some(&s.manager.access), OPEN, json!({ "id": id }))
                .await
        ),
        Some("INVALID_STATE")
    );
}

#[tokio::test]
async fn ngo_only_cannot_be_removed_or_weakened_and_eligibility_says_why() {
    let s = setup().await;
    let created = create_call(&s, call_input("2000000")).await;
    let id = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let remove = "mutation($id: ID!) { removeEligibilityRule(callId: $id, index: 0) { id } }";
    assert_eq!(
        error_code(
            &s.app
                .graphql_as(Some(&s.manager.access), remove, json!({ "id": id }))
                .await
        ),
        Some("BAD_USER_INPUT")
    );
    let weaken = "mutation($id: ID!) { addEligibilityRule(callId: $id, rule: { kind: APPLICANT_CATEGORY_IN, categories: [HOST_COUNTRY_NGO, COMPANY] }) { id } }";
    assert_eq!(
        error_code(
            &s.app
                .graphql_as(Some(&s.manager.access), weaken, json!({ "id": id }))
                .await
        ),
        Some("BAD_USER_INPUT")
    );
    let add = "mutation($id: ID!) { addEligibilityRule(callId: $id, rule: { kind: MIN_YEARS_REGISTERED, years: 3 }) { eligibilityRules { kind years } } }";
    let added = s
        .app
        .graphql_as(Some(&s.manager.access), add, json!({ "id": id }))
        .await;
    assert_eq!(
        data(&added)["addEligibilityRule"]["eligibilityRules"],
        json!([{ "kind": "NGO_ONLY", "years": null }, { "kind": "MIN_YEARS_REGISTERED", "years": 3 }])
    );
    s.app
        .graphql_as(Some(&s.manager.access), OPEN, json!({ "id": id }))
        .await;

    let applicant = s.app.user("ngo@example.org").await;
    let create_org =
        "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id } }";
    let ngo = s
        .app
        .graphql_as(
            Some(&applicant.access),
            create_org,
            json!({ "input": {
        "nameEn": "Green Bridge", "organizationType": 60, "country": "CN",
        "registryIdentifier": "CN-USCI-51530000836900607T", "registeredOn": "2015-03-01" } }),
        )
        .await;
    let ngo = data(&ngo)["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let company = s
        .app
        .graphql_as(
            Some(&applicant.access),
            create_org,
            json!({ "input": {
        "nameEn": "Bridge Trading", "organizationType": 22, "country": "CN",
        "registryIdentifier": "CN-USCI-91440300279955604U", "registeredOn": "2010-01-01" } }),
        )
        .await;
    let company = data(&company)["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let report = "query($call: ID!, $org: ID!) { eligibility(callId: $call, organizationId: $org) { eligible results { rule { kind } outcome reason { en zh } } } }";
    let ngo_report = s
        .app
        .graphql_as(
            Some(&applicant.access),
            report,
            json!({ "call": id, "org": ngo }),
        )
        .await;
    let ngo_report = &data(&ngo_report)["eligibility"];
    assert_eq!(ngo_report["eligible"], true);
    assert_eq!(ngo_report["results"].as_array().unwrap().len(), 2);

    let company_report = s
        .app
        .graphql_as(
            Some(&applicant.access),
            report,
            json!({ "call": id, "org": company }),
        )
        .await;
    let company_report = &data(&company_report)["eligibility"];
    assert_eq!(
        company_report["eligible"], false,
        "a company declared as an NGO is still a company"
    );
    let first = &company_report["results"][0];
    assert_eq!(
        (first["rule"]["kind"].as_str(), first["outcome"].as_str()),
        (Some("NGO_ONLY"), Some("FAIL"))
    );
    assert!(
        !first["reason"]["en"].as_str().unwrap().is_empty()
            && !first["reason"]["zh"].as_str().unwrap().is_empty()
    );

    let outsider = s.app.user("outsider@example.org").await;
    let hidden = s
        .app
        .graphql_as(
            Some(&outsider.access),
            report,
            json!({ "call": id, "org": ngo }),
        )
        .await;
    assert_eq!(
        error_code(&hidden),
        Some("NOT_FOUND"),
        "only members check their organisation"
    );
}

/// The public list of open calls is the same for every anonymous reader, so an answer is shared
/// for a few seconds; signed-in readers, errors and other documents are never answered from it.
#[tokio::test]
async fn anonymous_readers_share_a_recent_answer_and_see_changes_within_seconds() {
    let s = setup().await;
    let first = open_call(&s).await;
    let list = "{ calls(first: 20) { edges { node { id } } } }";
    let ids = |response: &Value| -> Vec<String> {
        data(response)["calls"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&s.app.graphql(list, json!({})).await), [first.as_str()]);

    let second = open_call(&s).await;
    // Within the five seconds: the kept answer, and only for anonymous readers.
    assert_eq!(ids(&s.app.graphql(list, json!({})).await), [first.as_str()]);
    let reader = s.app.user("reader@example.org").await;
    assert_eq!(
        ids(&s
            .app
            .graphql_as(Some(&reader.access), list, json!({}))
            .await)
        .len(),
        2
    );
    // Another document (here, other variables) is answered afresh.
    let paged = "query($n: Int) { calls(first: $n) { edges { node { id } } } }";
    assert_eq!(
        ids(&s.app.graphql(paged, json!({ "n": 20 })).await).len(),
        2
    );
    // An answer with errors is not kept.
    let missing = "query($id: ID!) { call(id: $id) { id } }";
    let draft = data(&create_call(&s, call_input("1000000")).await)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        error_code(&s.app.graphql(missing, json!({ "id": draft })).await),
        Some("NOT_FOUND")
    );
    data(
        &s.app
            .graphql_as(Some(&s.manager.access), OPEN, json!({ "id": draft }))
            .await,
    );
    assert_eq!(
        data(&s.app.graphql(missing, json!({ "id": draft })).await)["call"]["id"],
        draft.as_str()
    );

    s.app.clock.advance(chrono::Duration::seconds(5));
    let fresh = ids(&s.app.graphql(list, json!({})).await);
    assert_eq!(fresh.len(), 3);
    assert!(fresh.contains(&second));
}

#[tokio::test]
async fn with_sharing_turned_off_anonymous_readers_see_changes_at_once() {
    let s = setup_on(TestApp::spawn_with(|config| config.public_cache_seconds = 0).await).await;
    let list = "{ calls(first: 20) { edges { node { id } } } }";
    open_call(&s).await;
    let count = |response: Value| data(&response)["calls"]["edges"].as_array().unwrap().len();
    assert_eq!(count(s.app.graphql(list, json!({})).await), 1);
    open_call(&s).await;
    assert_eq!(count(s.app.graphql(list, json!({})).await), 2);
}
