//! Every rule of a call holds on every path an applicant takes: what a draft's report says is what
//! its submission does, the call's awards and required documents are enforced, partners are told
//! when they are named, and two people editing one draft cannot overwrite each other.

mod common;

use std::collections::BTreeSet;

use common::{Session, TestApp, data, error_code, start_time};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

fn at(hours: i64) -> String {
    (start_time() + chrono::Duration::hours(hours)).to_rfc3339()
}

struct World {
    app: TestApp,
    manager: Session,
    applicant: Session,
    partner_owner: Session,
    fund: String,
    /// A Chinese foundation registered in 2015.
    ngo: String,
    /// A Nepali NGO.
    partner: String,
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

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let manager = app.user("manager@example.org").await;
    let fund = app
        .graphql_as(Some(&admin.access), "mutation($input: FundInput!) { createFund(input: $input) { id } }",
            json!({ "input": { "nameEn": "Schools Fund", "budget": { "amount": "900000000", "currency": "CNY" }, "managerIds": [manager.id] } }))
        .await;
    let fund = data(&fund)["createFund"]["id"].as_str().unwrap().to_owned();
    let applicant = app.user("applicant@example.org").await;
    let ngo = org(&app, &applicant, json!({ "nameEn": "Green Bridge Foundation", "nameZh": "绿桥基金会", "organizationType": 60, "country": "CN", "registryIdentifier": "CN-USCI-51530000836900607T", "registeredOn": "2015-03-01" })).await;
    let partner_owner = app.user("partner@example.org").await;
    data(
        &app.graphql_as(
            Some(&partner_owner.access),
            "mutation { updateMe(input: { locale: \"zh-CN\" }) { id } }",
            json!({}),
        )
        .await,
    );
    let partner = org(&app, &partner_owner, json!({ "nameEn": "Kathmandu Schools Trust", "organizationType": 22, "country": "NP", "registryIdentifier": "NP-SWC-4242", "registeredOn": "2010-01-01" })).await;
    World {
        app,
        manager,
        applicant,
        partner_owner,
        fund,
        ngo,
        partner,
    }
}

/// Creates and opens a call for work in Nepal and Kenya (awards of 10,000 to 300,000 CNY) with
/// the given extra rules (GraphQL `EligibilityRuleInput` literals).
async fn open_call(w: &World, rules: &[String], extra: Value) -> String {
    let mut input = json!({
        "titleEn": "Schools in Nepal", "opensAt": at(0), "closesAt": at(24 * 30),
        "budget": { "amount": "1000000", "currency": "CNY" },
        "minAward": { "amount": "10000", "currency": "CNY" }, "maxAward": { "amount": "300000", "currency": "CNY" },
        "hostCountries": ["NP", "KE"], "sdgGoals": [4],
        "rubric": [{ "key": "relevance", "nameEn": "Relevance", "weight": 1, "maxScore": 10 }]
    });
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    let created = w
        .app
        .graphql_as(Some(&w.manager.access), "mutation($f: ID!, $input: CallInput!) { createCall(fundId: $f, input: $input) { id } }", json!({ "f": w.fund, "input": input }))
        .await;
    let call = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for rule in rules {
        data(&w.app.graphql_as(Some(&w.manager.access), &format!("mutation($id: ID!) {{ addEligibilityRule(callId: $id, rule: {rule}) {{ id }} }}"), json!({ "id": call })).await);
    }
    data(
        &w.app
            .graphql_as(
                Some(&w.manager.access),
                "mutation($id: ID!) { openCall(id: $id) { status } }",
                json!({ "id": call }),
            )
            .await,
    );
    call
}

const CREATE: &str = "mutation($call: ID!, $org: ID!, $input: ApplicationInput!) { createApplication(callId: $call, organizationId: $org, input: $input) { id version } }";
const UPDATE: &str = "mutation($id: ID!, $input: ApplicationInput!, $base: Int) { updateApplication(id: $id, input: $input, baseVersion: $base) { id version titleEn: title { en } title { zh } summary { en } requestedAmount { amount } partners { status budgetShare { amount } } } }";
const SUBMIT: &str = "mutation($id: ID!) { submitApplication(id: $id) { status } }";
const RESPOND: &str = "mutation($id: ID!, $org: ID!, $accept: Boolean!) { respondToPartnership(applicationId: $id, organizationId: $org, accept: $accept) { id } }";
const REPORT: &str = "query($id: ID!) { application(id: $id) { eligibility { eligible readyToSubmit results { rule { kind } outcome reason { en zh } } blockers { kind code field reason { en zh } } } } }";

async fn create(w: &World, call: &str, input: Value) -> String {
    let response = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            CREATE,
            json!({ "call": call, "org": w.ngo, "input": input }),
        )
        .await;
    data(&response)["createApplication"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn cny(amount: &str) -> Value {
    json!({ "amount": amount, "currency": "CNY" })
}

/// Sends a GraphQL multipart request with one PDF of the given kind.
async fn upload(app: &TestApp, token: &str, application: &str, kind: &str) {
    let query = "mutation($id: ID!, $kind: String!, $file: Upload!) { uploadDocument(applicationId: $id, kind: $kind, file: $file) { id } }";
    let operations =
        json!({ "query": query, "variables": { "id": application, "kind": kind, "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(
                b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec(),
            )
            .file_name("budget.pdf")
            .mime_str("application/pdf")
            .unwrap(),
        );
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    data(&body);
}

async fn report(w: &World, id: &str) -> Value {
    let response = w
        .app
        .graphql_as(Some(&w.applicant.access), REPORT, json!({ "id": id }))
        .await;
    data(&response)["application"]["eligibility"].clone()
}

/// The kinds of the rules a report does not pass, in order.
fn unmet(report: &Value) -> Vec<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] != "PASS")
        .map(|r| r["rule"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// One generated draft: which rules its call has and what the draft says.
#[derive(Debug)]
struct Case {
    rules: Vec<String>,
    other_open_application: bool,
    hosts: Vec<&'static str>,
    /// None, or the partner's answer: PENDING, ACCEPTED or DECLINED.
    partner: Option<&'static str>,
    budget_document: bool,
    requested: &'static str,
    lines_add_up: bool,
    titled: bool,
}

fn generate(rng: &mut StdRng) -> Case {
    let candidates = [
        "{ kind: HOST_COUNTRY_IN, countries: [\"NP\"] }".to_owned(),
        "{ kind: HOST_COUNTRY_PARTNER_REQUIRED }".to_owned(),
        "{ kind: REQUIRED_DOCUMENT, documentKind: \"BUDGET\" }".to_owned(),
        "{ kind: REQUESTED_AMOUNT_IN_RANGE, minAmount: { amount: \"20000\", currency: \"CNY\" }, maxAmount: { amount: \"200000\", currency: \"CNY\" } }".to_owned(),
        format!(
            "{{ kind: MIN_YEARS_REGISTERED, years: {} }}",
            if rng.random_bool(0.5) { 5 } else { 20 }
        ),
        "{ kind: MAX_OPEN_APPLICATIONS_PER_ORGANIZATION, maxApplications: 1 }".to_owned(),
        format!(
            "{{ kind: APPLICANT_CATEGORY_IN, categories: [{}] }}",
            if rng.random_bool(0.5) {
                "CHINESE_NGO"
            } else {
                "HOST_COUNTRY_NGO"
            }
        ),
    ];
    let rules = candidates
        .into_iter()
        .filter(|_| rng.random_bool(0.35))
        .collect();
    Case {
        rules,
        other_open_application: rng.random_bool(0.3),
        hosts: match rng.random_range(0..6) {
            0 => vec![],
            1 => vec!["KE"],
            2 => vec!["NP", "KE"],
            _ => vec!["NP"],
        },
        partner: match rng.random_range(0..5) {
            0 => None,
            1 => Some("PENDING"),
            2 => Some("DECLINED"),
            _ => Some("ACCEPTED"),
        },
        budget_document: rng.random_bool(0.6),
        requested: match rng.random_range(0..6) {
            0 => "250000.00",
            1 => "15000.00",
            2 => "400000.00",
            _ => "100000.00",
        },
        lines_add_up: rng.random_bool(0.85),
        titled: rng.random_bool(0.9),
    }
}

/// Over generated drafts (rules on and off, partners answering or not, documents there or not,
/// amounts in and out of bounds): when the report says the draft is ready, submission succeeds;
/// when submission refuses, the report named exactly that (the failed rules, or the first
/// blocker with the same code and field); and a rule is pending only while a partner has not
/// answered. Every rule kind is seen failing and passing over HTTP.
#[tokio::test]
async fn a_drafts_report_and_its_submission_never_disagree() {
    let w = world().await;
    let seed = 20_261_202;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut refused_by: BTreeSet<String> = BTreeSet::new();
    let mut passed: BTreeSet<String> = BTreeSet::new();
    let mut outcomes: BTreeSet<String> = BTreeSet::new();
    for round in 0..60 {
        let case = generate(&mut rng);
        let context = format!("seed {seed}, round {round}: {case:?}");
        let call = open_call(&w, &case.rules, json!({})).await;
        if case.other_open_application {
            create(
                &w,
                &call,
                json!({ "titleEn": "Another", "requestedAmount": cny("50000") }),
            )
            .await;
        }
        // A budget that does not add up is refused on saving; one not given yet is not.
        let lines = if case.lines_add_up {
            json!([{ "category": "Classrooms", "amount": cny(case.requested) }])
        } else {
            json!([])
        };
        let mut input = json!({
            "hostCountries": case.hosts, "sdgGoals": [4],
            "requestedAmount": cny(case.requested), "budgetLines": lines,
        });
        if case.titled {
            input["titleEn"] = json!("Safe schools in Sindhupalchok");
        }
        if case.partner.is_some() {
            input["partners"] =
                json!([{ "organizationId": w.partner, "budgetShare": cny("10000") }]);
        }
        let id = create(&w, &call, input).await;
        if let Some(answer) = case.partner
            && answer != "PENDING"
        {
            data(
                &w.app
                    .graphql_as(
                        Some(&w.partner_owner.access),
                        RESPOND,
                        json!({ "id": id, "org": w.partner, "accept": answer == "ACCEPTED" }),
                    )
                    .await,
            );
        }
        if case.budget_document {
            upload(&w.app, &w.applicant.access, &id, "budget").await;
        }

        let report = report(&w, &id).await;
        for result in report["results"].as_array().unwrap() {
            outcomes.insert(result["outcome"].as_str().unwrap().to_owned());
            if result["outcome"] == "PENDING" {
                assert_eq!(case.partner, Some("PENDING"), "{context}: {result}");
            }
            if result["outcome"] == "PASS" {
                passed.insert(result["rule"]["kind"].as_str().unwrap().to_owned());
            }
        }
        let blockers = report["blockers"].as_array().unwrap().clone();
        let ready = report["readyToSubmit"].as_bool().unwrap();
        assert_eq!(
            ready,
            blockers.is_empty() && unmet(&report).is_empty(),
            "{context}: {report}"
        );
        assert_eq!(
            report["eligible"].as_bool().unwrap(),
            unmet(&report).is_empty(),
            "{context}"
        );

        let submitted = w
            .app
            .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
            .await;
        match error_code(&submitted) {
            None => {
                assert!(
                    ready,
                    "{context}: submitted though the report said {report}"
                );
                assert_eq!(
                    submitted["data"]["submitApplication"]["status"],
                    "SUBMITTED"
                );
            }
            Some(code) => {
                assert!(!ready, "{context}: refused {submitted} after {report}");
                let error = &submitted["errors"][0];
                if let Some(first) = blockers.first() {
                    assert_eq!(first["code"], code, "{context}: {submitted} vs {report}");
                    assert_eq!(
                        error["extensions"]["field"].as_str(),
                        first["field"].as_str(),
                        "{context}"
                    );
                    assert_eq!(error["message"], first["reason"]["en"], "{context}");
                } else {
                    assert_eq!(code, "INELIGIBLE", "{context}: {submitted}");
                    let failed: Vec<String> = error["extensions"]["failures"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f["rule"].as_str().unwrap().to_owned())
                        .collect();
                    assert_eq!(failed, unmet(&report), "{context}");
                    refused_by.extend(failed);
                }
            }
        }
    }
    let kinds = w
        .app
        .graphql(
            "{ __type(name: \"EligibilityRuleKind\") { enumValues { name } } }",
            json!({}),
        )
        .await;
    for kind in data(&kinds)["__type"]["enumValues"].as_array().unwrap() {
        let kind = kind["name"].as_str().unwrap();
        assert!(passed.contains(kind), "no generated draft passed {kind}");
        if kind != "NGO_ONLY" {
            assert!(
                refused_by.contains(kind),
                "no generated draft was refused for {kind}: {refused_by:?}"
            );
        }
    }
    assert_eq!(
        outcomes,
        BTreeSet::from(["FAIL".to_owned(), "PASS".to_owned(), "PENDING".to_owned()])
    );
}

/// The report of a draft reads the draft: a draft that names Nepal passes a Nepal-only rule, and
/// the call-level pre-check counts the organisation's open applications.
#[tokio::test]
async fn the_report_of_a_draft_checks_what_the_draft_says() {
    let w = world().await;
    let call = open_call(
        &w,
        &[
            "{ kind: HOST_COUNTRY_IN, countries: [\"NP\"] }".to_owned(),
            "{ kind: MAX_OPEN_APPLICATIONS_PER_ORGANIZATION, maxApplications: 1 }".to_owned(),
        ],
        json!({}),
    )
    .await;
    let pre_check = "query($call: ID!, $org: ID!) { eligibility(callId: $call, organizationId: $org) { eligible results { rule { kind } outcome reason { en } } } }";
    let before = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            pre_check,
            json!({ "call": call, "org": w.ngo }),
        )
        .await;
    let results = &data(&before)["eligibility"]["results"];
    assert_eq!(results[1]["outcome"], "PENDING", "{before}");
    assert_eq!(results[2]["outcome"], "PASS", "{before}");

    let id = create(
        &w,
        &call,
        json!({ "titleEn": "Schools", "hostCountries": ["NP"], "requestedAmount": cny("100000"),
                "budgetLines": [{ "category": "Classrooms", "amount": cny("100000") }] }),
    )
    .await;
    let draft = report(&w, &id).await;
    assert_eq!(draft["results"][1]["outcome"], "PASS", "{draft}");
    assert_eq!(
        draft["results"][1]["reason"]["en"],
        "every host country of the application is eligible for this call: Nepal (NP)"
    );
    assert_eq!(draft["readyToSubmit"], true, "{draft}");
    // The check reads the draft afresh: fine for a short page, refused for a long one.
    let page = |first: i64| {
        w.app.graphql_as(
            Some(&w.applicant.access),
            "query($first: Int) { applications(first: $first) { nodes { eligibility { readyToSubmit } } } }",
            json!({ "first": first }),
        )
    };
    let short = page(10).await;
    assert_eq!(
        data(&short)["applications"]["nodes"][0]["eligibility"]["readyToSubmit"],
        true
    );
    assert_eq!(error_code(&page(100).await), Some("LIMIT_EXCEEDED"));

    // With a draft in the call, a second application would be one too many.
    let after = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            pre_check,
            json!({ "call": call, "org": w.ngo }),
        )
        .await;
    let results = &data(&after)["eligibility"]["results"];
    assert_eq!(results[2]["outcome"], "FAIL", "{after}");
    assert_eq!(data(&after)["eligibility"]["eligible"], false);
    assert!(
        results[2]["reason"]["en"]
            .as_str()
            .unwrap()
            .contains("already has 1 other open application in this call"),
        "{after}"
    );
    let second = create(
        &w,
        &call,
        json!({ "titleEn": "More schools", "hostCountries": ["NP"], "requestedAmount": cny("100000"),
                "budgetLines": [{ "category": "Classrooms", "amount": cny("100000") }] }),
    )
    .await;
    let refused = w
        .app
        .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": second }))
        .await;
    assert_eq!(error_code(&refused), Some("INELIGIBLE"), "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["failures"][0]["rule"],
        "MAX_OPEN_APPLICATIONS_PER_ORGANIZATION"
    );
}

/// A call that awards 10,000 to 300,000 refuses a request of 400,000 at submission, with the
/// field named, and its report says so before.
#[tokio::test]
async fn a_request_outside_the_calls_awards_is_refused_at_submission() {
    let w = world().await;
    let call = open_call(&w, &[], json!({})).await;
    for (requested, allowed) in [
        ("400000.00", false),
        ("9999.99", false),
        ("300000.00", true),
    ] {
        let id = create(
            &w,
            &call,
            json!({ "titleEn": "Schools", "hostCountries": ["NP"], "requestedAmount": cny(requested),
                    "budgetLines": [{ "category": "Classrooms", "amount": cny(requested) }] }),
        )
        .await;
        let draft = report(&w, &id).await;
        let submitted = w
            .app
            .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
            .await;
        if allowed {
            data(&submitted);
            assert_eq!(draft["blockers"], json!([]));
        } else {
            assert_eq!(draft["blockers"][0]["kind"], "AMOUNT_OUTSIDE_AWARD_BOUNDS");
            assert_eq!(
                error_code(&submitted),
                Some("BAD_USER_INPUT"),
                "{submitted}"
            );
            assert_eq!(
                submitted["errors"][0]["extensions"]["field"],
                "requestedAmount"
            );
            assert_eq!(
                submitted["errors"][0]["message"],
                format!(
                    "the requested {requested} CNY is outside this call's awards of 10000.00 CNY \
                     to 300000.00 CNY"
                )
            );
        }
    }
}

/// A call's required documents are its REQUIRED_DOCUMENT rules: one list, enforced at
/// submission, whichever way the manager set it.
#[tokio::test]
async fn required_documents_are_the_calls_rules_and_are_enforced() {
    let w = world().await;
    let call = open_call(
        &w,
        &["{ kind: REQUIRED_DOCUMENT, documentKind: \"registration_certificate\" }".to_owned()],
        json!({ "requiredDocuments": ["budget"] }),
    )
    .await;
    let shown = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            "query($id: ID!) { call(id: $id) { requiredDocuments eligibilityRules { kind documentKind } } }",
            json!({ "id": call }),
        )
        .await;
    assert_eq!(
        data(&shown)["call"],
        json!({
            "requiredDocuments": ["BUDGET", "REGISTRATION_CERTIFICATE"],
            "eligibilityRules": [
                { "kind": "NGO_ONLY", "documentKind": null },
                { "kind": "REQUIRED_DOCUMENT", "documentKind": "BUDGET" },
                { "kind": "REQUIRED_DOCUMENT", "documentKind": "REGISTRATION_CERTIFICATE" },
            ]
        })
    );
    let id = create(
        &w,
        &call,
        json!({ "titleEn": "Schools", "hostCountries": ["NP"], "requestedAmount": cny("100000"),
                "budgetLines": [{ "category": "Classrooms", "amount": cny("100000") }] }),
    )
    .await;
    upload(&w.app, &w.applicant.access, &id, "budget").await;
    let refused = w
        .app
        .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&refused), Some("INELIGIBLE"), "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["failures"],
        json!([{
            "rule": "REQUIRED_DOCUMENT", "outcome": "FAIL",
            "reasonEn": "no document of kind REGISTRATION_CERTIFICATE is attached; this call requires one",
            "reasonZh": "未提交类型为REGISTRATION_CERTIFICATE的文件；本次征集要求提交此类文件",
        }])
    );
    upload(&w.app, &w.applicant.access, &id, "registration_certificate").await;
    data(
        &w.app
            .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
            .await,
    );
}

/// A partner is emailed in its language when named, answers from its list of partnerships, and
/// keeps its answer through changes that are not its own terms; a change of its share asks it
/// again and tells it again.
#[tokio::test]
async fn partners_are_told_when_named_and_keep_their_answer_unless_their_terms_change() {
    let w = world().await;
    let call = open_call(&w, &[], json!({})).await;
    let id = create(
        &w,
        &call,
        json!({ "titleEn": "Schools", "hostCountries": ["NP"], "requestedAmount": cny("100000"),
                "partners": [{ "organizationId": w.partner, "budgetShare": cny("30000") }],
                "budgetLines": [{ "category": "Classrooms", "amount": cny("100000") }] }),
    )
    .await;
    w.app.deliver_mail().await;
    let requests = partnership_requests(&w.app);
    assert_eq!(requests.len(), 1, "one email to the partner's member");
    let text = &requests[0];
    assert!(
        text.contains("绿桥基金会"),
        "in Chinese, naming the lead: {text}"
    );
    assert!(
        text.contains("30000.00 CNY"),
        "with the share asked: {text}"
    );
    assert!(
        text.contains("100000.00 CNY"),
        "and the whole request: {text}"
    );

    let list = "query($org: ID!, $statuses: [PartnershipStatus!]) { partnerships(organizationId: $org, statuses: $statuses) { totalCount nodes { status budgetShare { amount } lead { id } organization { id } application { id status title { en } } } } }";
    let listed = w
        .app
        .graphql_as(
            Some(&w.partner_owner.access),
            list,
            json!({ "org": w.partner, "statuses": ["PENDING"] }),
        )
        .await;
    assert_eq!(
        data(&listed)["partnerships"],
        json!({ "totalCount": 1, "nodes": [{
            "status": "PENDING", "budgetShare": { "amount": "30000.00" },
            "lead": { "id": w.ngo }, "organization": { "id": w.partner },
            "application": { "id": id, "status": "DRAFT", "title": { "en": "Schools" } },
        }] })
    );
    let outsider = w
        .app
        .graphql_as(Some(&w.applicant.access), list, json!({ "org": w.partner }))
        .await;
    assert_eq!(error_code(&outsider), Some("NOT_FOUND"), "{outsider}");
    assert!(outsider["data"].is_null());

    data(
        &w.app
            .graphql_as(
                Some(&w.partner_owner.access),
                RESPOND,
                json!({ "id": id, "org": w.partner, "accept": true }),
            )
            .await,
    );
    // Changing what is not the partner's terms keeps its answer and tells it nothing.
    let changed = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            UPDATE,
            json!({ "id": id, "input": { "titleEn": "Safer schools", "summaryEn": "Twelve schools" } }),
        )
        .await;
    let changed = &data(&changed)["updateApplication"];
    assert_eq!(changed["partners"][0]["status"], "ACCEPTED");
    assert_eq!(changed["titleEn"]["en"], "Safer schools");
    assert_eq!(changed["requestedAmount"]["amount"], "100000.00");
    w.app.deliver_mail().await;
    assert_eq!(partnership_requests(&w.app).len(), 1);

    // A new share asks again, and says so.
    let changed = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            UPDATE,
            json!({ "id": id, "input": { "partners": [{ "organizationId": w.partner, "budgetShare": cny("40000") }] } }),
        )
        .await;
    let changed = &data(&changed)["updateApplication"];
    assert_eq!(
        changed["partners"],
        json!([{ "status": "PENDING", "budgetShare": { "amount": "40000.00" } }])
    );
    w.app.deliver_mail().await;
    let requests = partnership_requests(&w.app);
    assert_eq!(requests.len(), 2);
    assert!(requests[1].contains("40000.00 CNY"), "{}", requests[1]);
    let refused = w
        .app
        .graphql_as(Some(&w.applicant.access), SUBMIT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&refused), Some("INVALID_STATE"));
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .ends_with("waiting for Kathmandu Schools Trust")
    );
}

/// The plain-text bodies of the partnership requests the partner's member received, in order.
fn partnership_requests(app: &TestApp) -> Vec<String> {
    app.sent_mail()
        .iter()
        .filter(|m| m.to == "partner@example.org")
        .filter_map(|m| {
            let parsed = mail_parser::MessageParser::default().parse(m.raw.as_bytes())?;
            Some(parsed.body_text(0)?.into_owned())
        })
        .filter(|text| text.contains("列为合作伙伴"))
        .collect()
}

/// Two saves based on one version: the second is refused with CONFLICT and the first is kept;
/// a save sends only what changes, and `null` clears a field.
#[tokio::test]
async fn a_stale_save_cannot_overwrite_a_newer_one_and_saves_are_partial() {
    let w = world().await;
    let call = open_call(&w, &[], json!({})).await;
    let id = create(
        &w,
        &call,
        json!({ "titleEn": "Schools", "titleZh": "学校", "hostCountries": ["NP"], "requestedAmount": cny("100000"),
                "budgetLines": [{ "category": "Classrooms", "amount": cny("100000") }] }),
    )
    .await;
    let save = |input: Value, base: Option<i64>| {
        w.app.graphql_as(
            Some(&w.applicant.access),
            UPDATE,
            json!({ "id": id, "input": input, "base": base }),
        )
    };
    let first = save(json!({ "summaryEn": "Twelve schools" }), Some(1)).await;
    let first = &data(&first)["updateApplication"];
    assert_eq!(first["version"], 2);
    assert_eq!(first["titleEn"]["en"], "Schools", "left out, so kept");
    assert_eq!(first["title"]["zh"], "学校");

    let stale = save(json!({ "summaryEn": "Ten schools" }), Some(1)).await;
    assert_eq!(error_code(&stale), Some("CONFLICT"), "{stale}");
    assert!(stale["data"].is_null());
    assert!(
        stale["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("changed since version 1 (it is now version 2)")
    );

    let cleared = save(json!({ "titleZh": null }), Some(2)).await;
    let cleared = &data(&cleared)["updateApplication"];
    assert_eq!(cleared["version"], 3);
    assert_eq!(
        cleared["summary"]["en"], "Twelve schools",
        "the first save stands"
    );
    assert_eq!(cleared["title"]["zh"], Value::Null);
    assert_eq!(cleared["titleEn"]["en"], "Schools");
}

/// Concurrent saves based on one version: exactly one wins, on either database.
#[tokio::test]
async fn of_concurrent_saves_on_one_version_exactly_one_wins() {
    let w = world().await;
    let call = open_call(&w, &[], json!({})).await;
    let id = create(
        &w,
        &call,
        json!({ "titleEn": "Schools", "requestedAmount": cny("100000") }),
    )
    .await;
    let saves = (0..8).map(|n| {
        w.app.graphql_as(
            Some(&w.applicant.access),
            UPDATE,
            json!({ "id": id, "input": { "summaryEn": format!("version {n}") }, "base": 1 }),
        )
    });
    let answers = futures_util::future::join_all(saves).await;
    let won: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("errors").is_none())
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|a| a.get("errors").is_some())
            .all(|a| error_code(a) == Some("CONFLICT")),
        "{answers:?}"
    );
    let now = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            "query($id: ID!) { application(id: $id) { version summary { en } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&now)["application"]["version"], 2);
    assert_eq!(
        data(&now)["application"]["summary"]["en"],
        won[0]["data"]["updateApplication"]["summary"]["en"]
    );
}

/// A call closing in the year 2999 is a typing mistake: refused with the field named.
#[tokio::test]
async fn a_call_cannot_close_centuries_ahead() {
    let w = world().await;
    for closes_at in ["2999-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"] {
        let input = json!({
            "titleEn": "Far away", "opensAt": at(0), "closesAt": closes_at,
            "budget": cny("1000"), "minAward": cny("1"), "maxAward": cny("1000"),
        });
        let refused = w
            .app
            .graphql_as(Some(&w.manager.access), "mutation($f: ID!, $input: CallInput!) { createCall(fundId: $f, input: $input) { id } }", json!({ "f": w.fund, "input": input }))
            .await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
        assert_eq!(
            refused["errors"][0]["extensions"]["field"]
                .as_str()
                .map(|f| f.ends_with("closesAt")),
            Some(true),
            "{refused}"
        );
    }
}
