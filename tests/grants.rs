//! Grants and disbursements: from approval to confirmed receipt in a CNY and a USD fund, the
//! remittance rule around its threshold, four eyes, refusals that say what a tranche waits on,
//! idempotency keys (refusals free them, completed effects replay) under concurrency from two
//! instances, bank detail changes, tracking, and who sees money.

mod common;

use common::{Session, TestApp, data, error_code, start_time};
use serde_json::{Value, json};

fn at(hours: i64) -> String {
    (start_time() + chrono::Duration::hours(hours)).to_rfc3339()
}

fn day(days: i64) -> String {
    (start_time() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

struct World {
    app: TestApp,
    planner: Session,
    approver: Session,
    applicant: Session,
    reviewer: Session,
    fund: String,
    currency: &'static str,
    grant: String,
}

/// A fund in `currency` with two managers, and a grant of `award` to a Kenyan NGO.
async fn world(currency: &'static str, award: &str) -> World {
    world_on(TestApp::spawn().await, currency, award).await
}

async fn world_on(app: TestApp, currency: &'static str, award: &str) -> World {
    let admin = app.admin().await;
    let planner = app.user("planner@example.org").await;
    let approver = app.user("approver@example.org").await;
    let fund = app
        .graphql_as(Some(&admin.access), "mutation($input: FundInput!) { createFund(input: $input) { id } }",
            json!({ "input": { "nameEn": "SSC Fund", "budget": { "amount": "50000000", "currency": currency }, "managerIds": [planner.id, approver.id] } }))
        .await;
    let fund = data(&fund)["createFund"]["id"].as_str().unwrap().to_owned();
    let reviewer = app.user("reviewer@example.org").await;
    data(
        &app.graphql_as(
            Some(&planner.access),
            "mutation($f: ID!, $u: ID!) { addReviewerToPool(fundId: $f, userId: $u) { id } }",
            json!({ "f": fund, "u": reviewer.id }),
        )
        .await,
    );
    let call = app
        .graphql_as(Some(&planner.access), "mutation($f: ID!, $input: CallInput!) { createCall(fundId: $f, input: $input) { id } }",
            json!({ "f": fund, "input": {
                "titleEn": "Clean water", "opensAt": at(0), "closesAt": at(24 * 30),
                "budget": { "amount": "10000000", "currency": currency },
                "minAward": { "amount": "1000", "currency": currency }, "maxAward": { "amount": "5000000", "currency": currency },
                "hostCountries": ["KE", "TZ"], "sdgGoals": [6, 3], "reviewersPerApplication": 1,
                "rubric": [{ "key": "relevance", "nameEn": "Relevance", "weight": 1, "maxScore": 10 }]
            } }))
        .await;
    let call = data(&call)["createCall"]["id"].as_str().unwrap().to_owned();
    data(
        &app.graphql_as(
            Some(&planner.access),
            "mutation($id: ID!) { openCall(id: $id) { status } }",
            json!({ "id": call }),
        )
        .await,
    );
    let applicant = app.user("applicant@example.org").await;
    let org = app
        .graphql_as(Some(&applicant.access), "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id } }",
            json!({ "input": { "nameEn": "Maji Safi", "organizationType": 22, "country": "KE", "registryIdentifier": "KE-NCB-4242" } }))
        .await;
    let org = data(&org)["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = app
        .graphql_as(Some(&applicant.access), "mutation($call: ID!, $org: ID!, $input: ApplicationInput!) { createApplication(callId: $call, organizationId: $org, input: $input) { id } }",
            json!({ "call": call, "org": org, "input": {
                "titleEn": "Wells", "hostCountries": ["KE", "TZ"], "sdgGoals": [6, 3],
                "requestedAmount": { "amount": award, "currency": currency }, "durationMonths": 12,
                "budgetLines": [{ "category": "Drilling", "amount": { "amount": award, "currency": currency } }]
            } }))
        .await;
    let application = data(&created)["createApplication"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(
        &app.graphql_as(
            Some(&applicant.access),
            "mutation($id: ID!) { submitApplication(id: $id) { id } }",
            json!({ "id": application }),
        )
        .await,
    );
    data(&app.graphql_as(Some(&planner.access), "mutation($a: ID!, $r: ID!, $due: DateTime!) { assignReviewer(applicationId: $a, reviewerId: $r, dueAt: $due) { id } }", json!({ "a": application, "r": reviewer.id, "due": at(24 * 40) })).await);
    // Applications are decided once the call has closed: its manager closes it early.
    data(
        &app.graphql_as(
            Some(&planner.access),
            "mutation($id: ID!) { closeCall(id: $id) { status } }",
            json!({ "id": call }),
        )
        .await,
    );
    let decided = app
        .graphql_as(Some(&planner.access), "mutation($id: ID!, $input: DecisionInput!) { decideApplication(applicationId: $id, input: $input, idempotencyKey: \"decide-1\") { grant { id } } }",
            json!({ "id": application, "input": { "outcome": "APPROVE", "amount": { "amount": award, "currency": currency }, "rationale": "Strong plan" } }))
        .await;
    let grant = data(&decided)["decideApplication"]["grant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        app,
        planner,
        approver,
        applicant,
        reviewer,
        fund,
        currency,
        grant,
    }
}

const GRANT: &str = "query($id: ID!) { grant(id: $id) { amount { amount currency } planned { amount } disbursed { amount } remaining { amount } acceptedAt bankDetailsStatus disbursements { id sequence status amount { amount } waitingOn filingRequired thresholdEquivalent { amount currency } } } }";
const PLAN: &str = "mutation($g: ID!, $t: [TrancheInput!]!, $k: String) { planTranches(grantId: $g, tranches: $t, idempotencyKey: $k) { id sequence status amount { amount } } }";
const FILING: &str = "mutation($id: ID!, $file: Upload!, $k: String) { recordRemittanceFiling(disbursementId: $id, reference: \"SAFE-2027-118\", filedOn: \"2027-03-20\", document: $file, idempotencyKey: $k) { waitingOn filing { reference sha256 } } }";
const APPROVE: &str = "mutation($id: ID!, $rate: QuotedRateInput, $k: String) { approveDisbursement(disbursementId: $id, expectedRate: $rate, idempotencyKey: $k) { status filingRequired thresholdEquivalent { amount currency } waitingOn } }";
const SENT: &str = "mutation($id: ID!, $input: DisbursementSentInput!, $k: String) { markDisbursementSent(disbursementId: $id, input: $input, idempotencyKey: $k) { id status sentOn bankReference actualRate amountSent { amount currency } grant { disbursed { amount } } } }";
const CONFIRM: &str = "mutation($id: ID!, $k: String) { confirmDisbursementReceived(disbursementId: $id, idempotencyKey: $k) { status confirmedAt } }";

impl World {
    async fn as_(&self, who: &Session, query: &str, variables: Value) -> Value {
        self.app
            .graphql_as(Some(&who.access), query, variables)
            .await
    }

    fn money(&self, amount: &str) -> Value {
        json!({ "amount": amount, "currency": self.currency })
    }

    /// The grantee accepts and records an account in `currency`.
    async fn ready_to_pay(&self, currency: &str) {
        data(
            &self
                .as_(
                    &self.applicant,
                    "mutation($g: ID!) { acceptGrant(grantId: $g) { acceptedAt } }",
                    json!({ "g": self.grant }),
                )
                .await,
        );
        data(&self.as_(&self.applicant, "mutation($g: ID!, $input: BankDetailsInput!) { setGrantBankDetails(grantId: $g, input: $input) { bankDetailsStatus } }",
            json!({ "g": self.grant, "input": { "accountName": "Maji Safi", "accountNumber": "0123456789", "bankName": "KCB", "swift": "KCBLKENA", "currency": currency } })).await);
    }

    /// The approver approves a tranche at an expected rate of 0.14 to the US dollar.
    async fn approve(&self, id: &str) {
        data(
            &self
                .as_(
                    &self.approver,
                    APPROVE,
                    json!({ "id": id, "rate": rate("0.14") }),
                )
                .await,
        );
    }

    /// Plans tranches (by the planner) and returns the ids of those created.
    async fn plan(&self, tranches: Value) -> Vec<String> {
        let planned = self
            .as_(
                &self.planner,
                PLAN,
                json!({ "g": self.grant, "t": tranches }),
            )
            .await;
        data(&planned)["planTranches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The planner records the remittance filing of tranche `id` with a PDF (a GraphQL multipart
    /// request), under `key` if given.
    async fn record_filing(&self, id: &str, key: Option<&str>) -> Value {
        let operations =
            json!({ "query": FILING, "variables": { "id": id, "file": null, "k": key } });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(b"%PDF-1.7\n%%EOF\n".to_vec())
                    .file_name("filing.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            );
        self.app
            .http
            .post(self.app.url("/graphql"))
            .bearer_auth(&self.planner.access)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn grant(&self) -> Value {
        let response = self
            .as_(&self.planner, GRANT, json!({ "id": self.grant }))
            .await;
        data(&response)["grant"].clone()
    }
}

fn rate(rate: &str) -> Value {
    json!({ "rate": rate, "source": "PBOC reference rate", "on": day(0) })
}

/// What a refusal says the tranche waits on (`null` when it waits on nothing).
fn waiting_on(response: &Value) -> &Value {
    &response["errors"][0]["extensions"]["waitingOn"]
}

/// Whether the answer says it repeats an earlier request's effect.
fn replayed(response: &Value) -> bool {
    response["extensions"]["idempotentReplay"] == true
}

#[tokio::test]
async fn a_cny_grant_is_followed_from_approval_to_confirmed_receipt() {
    let w = world("CNY", "400000").await;
    assert_eq!(
        w.grant().await["amount"],
        json!({ "amount": "400000.00", "currency": "CNY" })
    );
    let ids = w
        .plan(json!([
            { "amount": w.money("300000"), "dueOn": day(30) },
            { "amount": w.money("100000"), "dueOn": day(90), "condition": "Midterm report received" }
        ]))
        .await;
    assert_eq!(ids.len(), 2);
    let over = w
        .as_(
            &w.planner,
            PLAN,
            json!({ "g": w.grant, "t": [{ "amount": w.money("0.01"), "dueOn": day(100) }] }),
        )
        .await;
    assert_eq!(
        error_code(&over),
        Some("BAD_USER_INPUT"),
        "the planned total never exceeds the award"
    );

    // Four eyes: the planner cannot approve; the other manager needs the expected USD rate.
    let own = w
        .as_(
            &w.planner,
            APPROVE,
            json!({ "id": ids[0], "rate": rate("0.14") }),
        )
        .await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"));
    let no_rate = w.as_(&w.approver, APPROVE, json!({ "id": ids[0] })).await;
    assert_eq!(no_rate["errors"][0]["extensions"]["field"], "expectedRate");
    let approved = w
        .as_(
            &w.approver,
            APPROVE,
            json!({ "id": ids[0], "rate": rate("0.14") }),
        )
        .await;
    assert_eq!(
        data(&approved)["approveDisbursement"],
        json!({
            "status": "APPROVED", "filingRequired": false,
            "thresholdEquivalent": { "amount": "42000.00", "currency": "USD" },
            "waitingOn": ["ACCEPTANCE", "BANK_DETAILS", "SENDING"]
        })
    );
    let send = |input: Value| w.as_(&w.planner, SENT, json!({ "id": ids[0], "input": input }));
    let kes = json!({ "bankReference": "KCB-TT-0001", "sentOn": day(31), "rateToUsd": "0.1400", "rateToPayee": "18.2", "amountSent": { "amount": "5460000", "currency": "KES" } });
    assert_eq!(
        error_code(&send(kes.clone()).await),
        Some("INVALID_STATE"),
        "not before the grantee accepts and gives bank details"
    );
    w.ready_to_pay("KES").await;
    let mut wrong_currency = kes.clone();
    wrong_currency["amountSent"]["currency"] = json!("CNY");
    assert_eq!(
        send(wrong_currency).await["errors"][0]["extensions"]["field"],
        "input.amountSent"
    );
    let sent = send(kes).await;
    assert_eq!(
        data(&sent)["markDisbursementSent"],
        json!({
            "id": ids[0], "status": "SENT", "sentOn": day(31), "bankReference": "KCB-TT-0001",
            "actualRate": "0.14", "amountSent": { "amount": "5460000.00", "currency": "KES" },
            "grant": { "disbursed": { "amount": "300000.00" } }
        })
    );

    // The grantee confirms; managers cannot confirm for them.
    let by_manager = w.as_(&w.planner, CONFIRM, json!({ "id": ids[0] })).await;
    assert_eq!(error_code(&by_manager), Some("FORBIDDEN"));
    let confirmed = w.as_(&w.applicant, CONFIRM, json!({ "id": ids[0] })).await;
    assert_eq!(
        data(&confirmed)["confirmDisbursementReceived"]["status"],
        "CONFIRMED"
    );
    w.app.deliver_mail().await;
    let mail = w.app.sent_mail();
    assert!(
        mail.iter()
            .any(|m| m.to == "applicant@example.org" && m.raw.contains("KCB-TT-0001"))
    );
    assert_eq!(
        mail.iter()
            .filter(|m| m.subject.starts_with("Receipt of 300000.00 CNY confirmed"))
            .count(),
        2,
        "both managers hear of the receipt: {:?}",
        mail.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );

    // The second tranche waits for its condition; once sent it fails and is planned again.
    let early = w
        .as_(
            &w.approver,
            APPROVE,
            json!({ "id": ids[1], "rate": rate("0.14") }),
        )
        .await;
    assert_eq!(error_code(&early), Some("INVALID_STATE"));
    data(&w.as_(&w.planner, "mutation($id: ID!) { markTrancheConditionMet(disbursementId: $id) { conditionMetAt } }", json!({ "id": ids[1] })).await);
    w.approve(&ids[1]).await;
    data(&w.as_(&w.planner, SENT, json!({ "id": ids[1], "input": { "bankReference": "KCB-TT-0002", "sentOn": day(91), "rateToUsd": "0.14", "rateToPayee": "18.2", "amountSent": { "amount": "1820000", "currency": "KES" } } })).await);
    assert_eq!(w.grant().await["disbursed"]["amount"], "400000.00");
    let failed = w.as_(&w.planner, "mutation($id: ID!) { markDisbursementFailed(disbursementId: $id, reason: \"Returned by the receiving bank\") { status grant { disbursed { amount } planned { amount } } } }", json!({ "id": ids[1] })).await;
    assert_eq!(
        data(&failed)["markDisbursementFailed"],
        json!({ "status": "FAILED", "grant": { "disbursed": { "amount": "300000.00" }, "planned": { "amount": "300000.00" } } })
    );
    let again = w
        .plan(json!([{ "amount": w.money("100000"), "dueOn": day(120) }]))
        .await;
    assert_eq!(again.len(), 1, "the failed amount can be planned again");

    // Tracking: totals, breakdowns that add up, and the audit trail.
    let summary = w.as_(&w.planner, "query($f: ID!) { fundSummary(fundId: $f) { budget { amount } committed { amount } disbursed { amount } remaining { amount } grants byHostCountry { key committed { amount } disbursed { amount } } bySdg { key committed { amount } } byApplicantCategory { key committed { amount } } } }", json!({ "f": w.fund })).await;
    assert_eq!(
        data(&summary)["fundSummary"],
        json!({
            "budget": { "amount": "50000000.00" }, "committed": { "amount": "400000.00" },
            "disbursed": { "amount": "300000.00" }, "remaining": { "amount": "49600000.00" }, "grants": 1,
            "byHostCountry": [
                { "key": "KE", "committed": { "amount": "200000.00" }, "disbursed": { "amount": "150000.00" } },
                { "key": "TZ", "committed": { "amount": "200000.00" }, "disbursed": { "amount": "150000.00" } }
            ],
            "bySdg": [{ "key": "3", "committed": { "amount": "200000.00" } }, { "key": "6", "committed": { "amount": "200000.00" } }],
            "byApplicantCategory": [{ "key": "HOST_COUNTRY_NGO", "committed": { "amount": "400000.00" } }]
        })
    );
    let trail = w
        .as_(
            &w.planner,
            "query($id: ID!) { grant(id: $id) { auditTrail { action actor { email } } } }",
            json!({ "id": w.grant }),
        )
        .await;
    let actions: Vec<&str> = data(&trail)["grant"]["auditTrail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "application.decide",
        "grant.create",
        "grant.plan_tranches",
        "disbursement.approve",
        "grant.accept",
        "grant.bank_details",
        "disbursement.mark_sent",
        "disbursement.confirm_received",
        "disbursement.mark_failed",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let grantee_trail = w
        .as_(
            &w.applicant,
            "query($id: ID!) { grant(id: $id) { auditTrail { action } } }",
            json!({ "id": w.grant }),
        )
        .await;
    assert_eq!(data(&grantee_trail)["grant"]["auditTrail"], Value::Null);
}

#[tokio::test]
async fn a_usd_grant_needs_no_rates() {
    let w = world("USD", "80000").await;
    let ids = w
        .plan(json!([{ "amount": w.money("30000"), "dueOn": day(30) }]))
        .await;
    let approved = w.as_(&w.approver, APPROVE, json!({ "id": ids[0] })).await;
    assert_eq!(
        data(&approved)["approveDisbursement"]["thresholdEquivalent"],
        json!({ "amount": "30000.00", "currency": "USD" })
    );
    w.ready_to_pay("USD").await;
    let sent = w.as_(&w.planner, SENT, json!({ "id": ids[0], "input": { "bankReference": "WIRE-1", "sentOn": day(30), "amountSent": { "amount": "30000", "currency": "USD" } } })).await;
    assert_eq!(data(&sent)["markDisbursementSent"]["status"], "SENT");
    data(&w.as_(&w.applicant, CONFIRM, json!({ "id": ids[0] })).await);
    let grant = w.grant().await;
    assert_eq!(grant["disbursed"]["amount"], "30000.00");
    assert_eq!(grant["remaining"]["amount"], "50000.00");
    assert_eq!(grant["disbursements"][0]["status"], "CONFIRMED");
}

/// 357,142.86 CNY at 0.14 is 50,000.0004 USD → 50,000.00: exactly the threshold, no filing.
/// 357,142.82 is 49,999.99 (below); 357,142.90 is 50,000.01 (above): it needs a filing.
#[tokio::test]
async fn the_remittance_rule_at_below_and_above_fifty_thousand_dollars() {
    let w = world("CNY", "1500000").await;
    w.ready_to_pay("CNY").await;
    let ids = w
        .plan(json!([
            { "amount": w.money("357142.86"), "dueOn": day(30) },
            { "amount": w.money("357142.82"), "dueOn": day(30) },
            { "amount": w.money("357142.90"), "dueOn": day(30) },
            { "amount": w.money("357142.86"), "dueOn": day(30) }
        ]))
        .await;
    let mut equivalents = Vec::new();
    for id in &ids {
        let approved = w
            .as_(
                &w.approver,
                APPROVE,
                json!({ "id": id, "rate": rate("0.14") }),
            )
            .await;
        let approved = &data(&approved)["approveDisbursement"];
        equivalents.push((
            approved["thresholdEquivalent"]["amount"]
                .as_str()
                .unwrap()
                .to_owned(),
            approved["filingRequired"].as_bool().unwrap(),
        ));
    }
    assert_eq!(
        equivalents,
        [
            ("50000.00".to_owned(), false),
            ("49999.99".to_owned(), false),
            ("50000.01".to_owned(), true),
            ("50000.00".to_owned(), false),
        ]
    );
    let waiting = w.as_(&w.planner, "query($f: ID!) { fundDisbursements(fundId: $f, view: AWAITING_FILING) { totalCount edges { node { id } } } }", json!({ "f": w.fund })).await;
    assert_eq!(data(&waiting)["fundDisbursements"]["totalCount"], 1);
    assert_eq!(
        data(&waiting)["fundDisbursements"]["edges"][0]["node"]["id"],
        ids[2]
    );
    let cny = |amount: &str| json!({ "amount": amount, "currency": "CNY" });
    let input = |amount: &str, rate: &str| json!({ "bankReference": "REF", "sentOn": day(30), "rateToUsd": rate, "amountSent": cny(amount) });

    data(
        &w.as_(
            &w.planner,
            SENT,
            json!({ "id": ids[0], "input": input("357142.86", "0.14") }),
        )
        .await,
    );
    data(
        &w.as_(
            &w.planner,
            SENT,
            json!({ "id": ids[1], "input": input("357142.82", "0.14") }),
        )
        .await,
    );
    let unfiled = w
        .as_(
            &w.planner,
            SENT,
            json!({ "id": ids[2], "input": input("357142.90", "0.14") }),
        )
        .await;
    assert_eq!(error_code(&unfiled), Some("INVALID_STATE"));
    assert_eq!(waiting_on(&unfiled), &json!(["FILING"]));
    assert!(
        unfiled["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("filing")
    );
    // Approved at exactly the threshold, but the rate actually used puts it above: refused.
    let rate_moved = w
        .as_(
            &w.planner,
            SENT,
            json!({ "id": ids[3], "input": input("357142.86", "0.1401") }),
        )
        .await;
    assert_eq!(error_code(&rate_moved), Some("INVALID_STATE"));
    assert_eq!(
        waiting_on(&rate_moved),
        &json!(["FILING"]),
        "the rate used decides, not the one expected"
    );

    // With the filing recorded, the payment goes out.
    let filed = w.record_filing(&ids[2], None).await;
    assert_eq!(
        data(&filed)["recordRemittanceFiling"]["filing"]["reference"],
        "SAFE-2027-118"
    );
    assert_eq!(
        data(&filed)["recordRemittanceFiling"]["waitingOn"],
        json!(["SENDING"])
    );
    let sent = w
        .as_(
            &w.planner,
            SENT,
            json!({ "id": ids[2], "input": input("357142.90", "0.14") }),
        )
        .await;
    assert_eq!(data(&sent)["markDisbursementSent"]["status"], "SENT");
    w.app.deliver_mail().await;
    assert_eq!(
        w.app
            .sent_mail()
            .iter()
            .filter(|m| m.subject.starts_with("Tax record filing needed"))
            .filter(|m| m.to == "planner@example.org")
            .count(),
        1,
        "the managers are told once that a filing is needed"
    );
}

/// Fifty requests to send one tranche with one key, over two instances: one effect, and every
/// answer is the same success or CONFLICT.
#[tokio::test]
async fn fifty_concurrent_sends_with_one_key_pay_once() {
    let w = world("CNY", "400000").await;
    w.ready_to_pay("CNY").await;
    let ids = w
        .plan(json!([{ "amount": w.money("100000"), "dueOn": day(30) }]))
        .await;
    w.approve(&ids[0]).await;
    let second = TestApp::spawn_on(w.app.db.shared(), |_| {}).await;
    second.clock.set(w.app.clock.now());
    let input = json!({ "bankReference": "KCB-1", "sentOn": day(30), "rateToUsd": "0.14", "amountSent": { "amount": "100000", "currency": "CNY" } });
    let requests = (0..50).map(|i| {
        let app = if i % 2 == 0 { &w.app } else { &second };
        app.graphql_as(
            Some(&w.planner.access),
            SENT,
            json!({ "id": ids[0], "input": input, "k": "send-tranche-1" }),
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let successes: Vec<&Value> = responses
        .iter()
        .filter(|r| r.get("errors").is_none())
        .collect();
    assert!(!successes.is_empty());
    eprintln!(
        "one key, 50 requests: {} successes, {} conflicts",
        successes.len(),
        responses.len() - successes.len()
    );
    for response in &responses {
        if response.get("errors").is_some() {
            assert_eq!(error_code(response), Some("CONFLICT"), "{response}");
        } else {
            assert_eq!(
                response["data"], successes[0]["data"],
                "every success is the same"
            );
        }
    }
    assert_eq!(
        successes.iter().filter(|r| !replayed(r)).count(),
        1,
        "one request paid; every other success says it is a replay"
    );
    assert_eq!(
        successes[0]["data"]["markDisbursementSent"]["grant"]["disbursed"]["amount"],
        "100000.00"
    );
    assert_eq!(w.grant().await["disbursed"]["amount"], "100000.00");
    let db = w.app.db.connect().await;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let effects = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("disbursement.mark_sent"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(effects, 1);
    let fund = entity::fund::Entity::find().all(&db).await.unwrap();
    assert_eq!(fund[0].disbursed_minor, 10_000_000);

    // The same key with other input is refused; a retry later replays the success.
    let mut other = input.clone();
    other["bankReference"] = json!("KCB-2");
    let reused = w
        .as_(
            &w.planner,
            SENT,
            json!({ "id": ids[0], "input": other, "k": "send-tranche-1" }),
        )
        .await;
    assert_eq!(error_code(&reused), Some("CONFLICT"));
    let retry = w
        .as_(
            &w.planner,
            SENT,
            json!({ "id": ids[0], "input": input, "k": "send-tranche-1" }),
        )
        .await;
    assert_eq!(retry["data"], successes[0]["data"]);
    assert!(replayed(&retry), "{retry}");
    let without_key = w
        .as_(&w.planner, SENT, json!({ "id": ids[0], "input": input }))
        .await;
    assert_eq!(
        error_code(&without_key),
        Some("INVALID_STATE"),
        "without the key, a second send is refused by the state machine"
    );
}

/// A send refused for want of the filing keeps nothing under its key: once the filing is
/// recorded, the same key pays. The payment is then replayed, and says so; the key cannot be
/// reused for another payment.
#[tokio::test]
async fn a_refused_request_frees_its_key_and_a_completed_one_is_replayed() {
    let w = world("CNY", "1500000").await;
    w.ready_to_pay("CNY").await;
    let ids = w
        .plan(json!([{ "amount": w.money("357142.90"), "dueOn": day(30) }]))
        .await;
    w.approve(&ids[0]).await;
    let input = json!({ "bankReference": "KCB-9", "sentOn": day(30), "rateToUsd": "0.14", "amountSent": w.money("357142.90") });
    let send = |input: &Value| {
        w.as_(
            &w.planner,
            SENT,
            json!({ "id": ids[0], "input": input, "k": "send-1" }),
        )
    };

    let refused = send(&input).await;
    assert_eq!(error_code(&refused), Some("INVALID_STATE"));
    assert_eq!(waiting_on(&refused), &json!(["FILING"]));
    assert!(!replayed(&refused));
    data(&w.record_filing(&ids[0], Some("file-1")).await);

    let sent = send(&input).await;
    assert_eq!(
        data(&sent)["markDisbursementSent"]["status"],
        "SENT",
        "the same key, once the cause is fixed, gets the real effect"
    );
    assert!(!replayed(&sent), "the first effect is no replay: {sent}");
    let again = send(&input).await;
    assert_eq!(again["data"], sent["data"]);
    assert!(replayed(&again), "a replay says so: {again}");
    assert_eq!(
        w.grant().await["disbursed"]["amount"],
        "357142.90",
        "paid once"
    );

    let mut other = input.clone();
    other["bankReference"] = json!("KCB-10");
    let reused = send(&other).await;
    assert_eq!(error_code(&reused), Some("CONFLICT"), "{reused}");
    let refiled = w.record_filing(&ids[0], Some("file-1")).await;
    assert!(replayed(&refiled), "a filing is replayed too: {refiled}");
    assert_eq!(
        data(&refiled)["recordRemittanceFiling"]["filing"]["reference"],
        "SAFE-2027-118"
    );
}

#[tokio::test]
async fn refusals_keep_no_key_and_keys_are_checked() {
    let w = world("CNY", "400000").await;
    let ids = w
        .plan(json!([{ "amount": w.money("100000"), "dueOn": day(30) }]))
        .await;
    let approve = async |who: &Session, key: &str| {
        w.as_(
            who,
            APPROVE,
            json!({ "id": ids[0], "rate": rate("0.14"), "k": key }),
        )
        .await
    };
    let own = approve(&w.planner, "approve-1").await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"), "four eyes");
    let long = "k".repeat(256);
    assert_eq!(
        error_code(&approve(&w.planner, &long).await),
        Some("BAD_USER_INPUT")
    );
    // Keys are scoped to the viewer: the other manager's same key is a new request.
    let approved = approve(&w.approver, "approve-1").await;
    assert_eq!(data(&approved)["approveDisbursement"]["status"], "APPROVED");
    assert!(!replayed(&approved));
    // The planner's refusal was not kept: asked again, the tranche answers as it is now.
    let own_again = approve(&w.planner, "approve-1").await;
    assert_eq!(error_code(&own_again), Some("INVALID_STATE"), "{own_again}");
    assert_eq!(
        waiting_on(&own_again),
        &Value::Null,
        "an approved tranche waits on nothing to be approved"
    );
    // A decision's key is checked too.
    let decided = w.app.graphql_as(Some(&w.planner.access), "mutation($id: ID!) { decideApplication(applicationId: $id, input: { outcome: REJECT, rationale: \"x\" }, idempotencyKey: \"decide-1\") { status } }", json!({ "id": ids[0] })).await;
    assert_eq!(
        error_code(&decided),
        Some("CONFLICT"),
        "the key was used for another application"
    );
}

/// Every step refused because the tranche is not ready says what it waits on, in the terms of
/// the tranche's `waitingOn`; a step the tranche is past waits on nothing.
#[tokio::test]
async fn a_refused_payment_says_what_it_waits_on() {
    let w = world("CNY", "1500000").await;
    let ids = w
        .plan(json!([{ "amount": w.money("357142.90"), "dueOn": day(30), "condition": "Baseline survey done" }]))
        .await;
    let id = &ids[0];
    let input = json!({ "bankReference": "KCB-7", "sentOn": day(30), "rateToUsd": "0.14", "amountSent": w.money("357142.90") });
    let approve = || {
        w.as_(
            &w.approver,
            APPROVE,
            json!({ "id": id, "rate": rate("0.14") }),
        )
    };
    let send = || w.as_(&w.planner, SENT, json!({ "id": id, "input": input }));
    let confirm = || w.as_(&w.applicant, CONFIRM, json!({ "id": id }));
    let tranche = async || w.grant().await["disbursements"][0]["waitingOn"].clone();

    assert_eq!(tranche().await, json!(["CONDITION", "APPROVAL"]));
    let early = approve().await;
    assert_eq!(error_code(&early), Some("INVALID_STATE"));
    assert_eq!(waiting_on(&early), &json!(["CONDITION"]));
    assert_eq!(waiting_on(&send().await), &json!(["CONDITION", "APPROVAL"]));
    assert_eq!(
        waiting_on(&confirm().await),
        &json!(["CONDITION", "APPROVAL"])
    );

    data(&w.as_(&w.planner, "mutation($id: ID!) { markTrancheConditionMet(disbursementId: $id) { conditionMetAt } }", json!({ "id": id })).await);
    data(&approve().await);
    assert_eq!(
        tranche().await,
        json!(["ACCEPTANCE", "BANK_DETAILS", "FILING", "SENDING"])
    );
    let unready = send().await;
    assert_eq!(error_code(&unready), Some("INVALID_STATE"));
    assert_eq!(
        waiting_on(&unready),
        &json!(["ACCEPTANCE", "BANK_DETAILS", "FILING"]),
        "everything before sending, at once"
    );
    assert_eq!(
        waiting_on(&confirm().await),
        &json!(["ACCEPTANCE", "BANK_DETAILS", "FILING", "SENDING"])
    );

    w.ready_to_pay("CNY").await;
    assert_eq!(waiting_on(&send().await), &json!(["FILING"]));
    data(&w.record_filing(id, None).await);
    data(&send().await);
    assert_eq!(tranche().await, json!(["CONFIRMATION"]));

    let late = approve().await;
    assert_eq!(error_code(&late), Some("INVALID_STATE"));
    assert_eq!(
        waiting_on(&late),
        &Value::Null,
        "past approval, nothing to wait for"
    );
    let refiled = w.record_filing(id, None).await;
    assert_eq!(error_code(&refiled), Some("INVALID_STATE"));
    assert_eq!(waiting_on(&refiled), &Value::Null);
    data(&confirm().await);
    let twice = confirm().await;
    assert_eq!(error_code(&twice), Some("INVALID_STATE"));
    assert_eq!(waiting_on(&twice), &Value::Null);
}

/// `planTranches` answers the tranches it created, in order, and its replay the same ones.
#[tokio::test]
async fn planning_answers_the_tranches_it_created() {
    let w = world("CNY", "400000").await;
    w.plan(json!([{ "amount": w.money("50000"), "dueOn": day(10) }]))
        .await;
    let plan = || {
        w.as_(
            &w.planner,
            PLAN,
            json!({ "g": w.grant, "t": [
                { "amount": w.money("100000"), "dueOn": day(30) },
                { "amount": w.money("150000"), "dueOn": day(60) }
            ], "k": "plan-2" }),
        )
    };
    let planned = plan().await;
    let tranches = data(&planned)["planTranches"].clone();
    let ids: Vec<&str> = tranches
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        tranches,
        json!([
            { "id": ids[0], "sequence": 2, "status": "PLANNED", "amount": { "amount": "100000.00" } },
            { "id": ids[1], "sequence": 3, "status": "PLANNED", "amount": { "amount": "150000.00" } }
        ]),
        "only this request's tranches, not the one planned before"
    );
    let replay = plan().await;
    assert_eq!(replay["data"], planned["data"]);
    assert!(replayed(&replay) && !replayed(&planned), "{replay}");
    let grant = w.grant().await;
    assert_eq!(grant["planned"]["amount"], "300000.00", "planned once");
    assert_eq!(grant["disbursements"].as_array().unwrap().len(), 3);
}

/// One tranche, for its fund's managers and its grantee's members; `NOT_FOUND` for anyone else
/// and for an id that names nothing.
#[tokio::test]
async fn a_tranche_is_seen_by_those_who_see_its_grant() {
    let w = world("CNY", "400000").await;
    let ids = w
        .plan(json!([{ "amount": w.money("100000"), "dueOn": day(30) }]))
        .await;
    let query = "query($id: ID!) { disbursement(id: $id) { id sequence status amount { amount currency } waitingOn grant { id } plannedBy { email } } }";
    let tranche = json!({
        "id": ids[0], "sequence": 1, "status": "PLANNED",
        "amount": { "amount": "100000.00", "currency": "CNY" }, "waitingOn": ["APPROVAL"],
        "grant": { "id": w.grant },
    });
    let mut by_manager = tranche.clone();
    by_manager["plannedBy"] = json!({ "email": "planner@example.org" });
    let seen = w.as_(&w.approver, query, json!({ "id": ids[0] })).await;
    assert_eq!(data(&seen)["disbursement"], by_manager);
    let mut by_grantee = tranche;
    by_grantee["plannedBy"] = Value::Null;
    let seen = w.as_(&w.applicant, query, json!({ "id": ids[0] })).await;
    assert_eq!(
        data(&seen)["disbursement"],
        by_grantee,
        "the grantee sees the tranche, not who planned it"
    );

    let stranger = w.app.user("stranger@example.org").await;
    for who in [&stranger, &w.reviewer] {
        let hidden = w.as_(who, query, json!({ "id": ids[0] })).await;
        assert_eq!(error_code(&hidden), Some("NOT_FOUND"), "{hidden}");
    }
    let unknown = w
        .as_(
            &w.planner,
            query,
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    let anonymous = w.app.graphql(query, json!({ "id": ids[0] })).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

/// Ten plans of 100,000 race for an award of 400,000 from two instances: four fit.
#[tokio::test]
async fn concurrent_plans_never_exceed_the_award() {
    let w = world("CNY", "400000").await;
    let second = TestApp::spawn_on(w.app.db.shared(), |_| {}).await;
    second.clock.set(w.app.clock.now());
    let requests = (0..10).map(|i| {
        let app = if i % 2 == 0 { &w.app } else { &second };
        app.graphql_as(
            Some(&w.planner.access),
            PLAN,
            json!({ "g": w.grant, "t": [{ "amount": w.money("100000"), "dueOn": day(30) }] }),
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let planned = responses
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    assert_eq!(planned, 4, "{responses:#?}");
    let grant = w.grant().await;
    assert_eq!(grant["planned"]["amount"], "400000.00");
    assert_eq!(grant["disbursements"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn changed_bank_details_wait_for_a_manager() {
    let w = world("CNY", "400000").await;
    w.ready_to_pay("CNY").await;
    let ids = w
        .plan(json!([{ "amount": w.money("100000"), "dueOn": day(30) }]))
        .await;
    w.approve(&ids[0]).await;
    let changed = w.as_(&w.applicant, "mutation($g: ID!, $input: BankDetailsInput!) { setGrantBankDetails(grantId: $g, input: $input) { bankDetailsStatus bankDetails { accountNumber } } }",
        json!({ "g": w.grant, "input": { "accountName": "Maji Safi", "accountNumber": "999", "bankName": "Equity", "currency": "CNY" } })).await;
    assert_eq!(
        data(&changed)["setGrantBankDetails"],
        json!({ "bankDetailsStatus": "PENDING", "bankDetails": { "accountNumber": "999" } })
    );
    let input = json!({ "bankReference": "R", "sentOn": day(30), "rateToUsd": "0.14", "amountSent": { "amount": "100000", "currency": "CNY" } });
    let refused = w
        .as_(&w.planner, SENT, json!({ "id": ids[0], "input": input }))
        .await;
    assert_eq!(error_code(&refused), Some("INVALID_STATE"));
    let view = w.as_(&w.planner, "query($f: ID!) { fundDisbursements(fundId: $f, view: AWAITING_BANK_DETAILS) { totalCount } }", json!({ "f": w.fund })).await;
    assert_eq!(data(&view)["fundDisbursements"]["totalCount"], 1);
    let by_grantee = w
        .as_(
            &w.applicant,
            "mutation($g: ID!) { approveGrantBankDetails(grantId: $g) { bankDetailsStatus } }",
            json!({ "g": w.grant }),
        )
        .await;
    assert_eq!(error_code(&by_grantee), Some("FORBIDDEN"));
    data(
        &w.as_(
            &w.approver,
            "mutation($g: ID!) { approveGrantBankDetails(grantId: $g) { bankDetailsStatus } }",
            json!({ "g": w.grant }),
        )
        .await,
    );
    data(
        &w.as_(&w.planner, SENT, json!({ "id": ids[0], "input": input }))
            .await,
    );
    w.app.deliver_mail().await;
    let told = w
        .app
        .sent_mail()
        .into_iter()
        .filter(|m| m.subject.starts_with("Maji Safi changed its bank details"))
        .count();
    assert_eq!(told, 2, "both managers are told of the change");
}

#[tokio::test]
async fn overdue_tranches_are_reported_once() {
    let w = world("CNY", "400000").await;
    w.plan(json!([{ "amount": w.money("100000"), "dueOn": day(10) }]))
        .await;
    let notices = || bridgefund::service::disbursement::send_overdue_notices(&w.app.context);
    assert_eq!(notices().await.unwrap(), 0);
    w.app.clock.advance(chrono::Duration::days(11));
    assert_eq!(notices().await.unwrap(), 1);
    assert_eq!(notices().await.unwrap(), 0, "once");
    let planner = w.app.session("planner@example.org", common::PASSWORD).await;
    let overdue = w
        .app
        .graphql_as(
            Some(&planner.access),
            "query($f: ID!) { fundDisbursements(fundId: $f, view: OVERDUE) { totalCount } }",
            json!({ "f": w.fund }),
        )
        .await;
    assert_eq!(data(&overdue)["fundDisbursements"]["totalCount"], 1);
}

#[tokio::test]
async fn grantees_see_only_their_grants_and_reviewers_see_no_money() {
    let w = world("CNY", "400000").await;
    let stranger = w.app.user("stranger@example.org").await;
    for who in [&stranger, &w.reviewer] {
        let grant = w
            .as_(
                who,
                "query($id: ID!) { grant(id: $id) { id } }",
                json!({ "id": w.grant }),
            )
            .await;
        assert_eq!(error_code(&grant), Some("NOT_FOUND"));
        let list = w.as_(who, "{ grants { totalCount } }", json!({})).await;
        assert_eq!(data(&list)["grants"]["totalCount"], 0);
        let summary = w
            .as_(
                who,
                "query($f: ID!) { fundSummary(fundId: $f) { committed { amount } } }",
                json!({ "f": w.fund }),
            )
            .await;
        assert_eq!(error_code(&summary), Some("FORBIDDEN"));
        let totals = w
            .as_(
                who,
                "query($f: ID!) { fund(id: $f) { totals { committed { amount } } } }",
                json!({ "f": w.fund }),
            )
            .await;
        assert_eq!(data(&totals)["fund"]["totals"], Value::Null);
    }
    let mine = w
        .as_(
            &w.applicant,
            "{ grants { totalCount edges { node { reference amount { amount } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&mine)["grants"]["totalCount"], 1);
    let accept_by_manager = w
        .as_(
            &w.planner,
            "mutation($g: ID!) { acceptGrant(grantId: $g) { acceptedAt } }",
            json!({ "g": w.grant }),
        )
        .await;
    assert_eq!(error_code(&accept_by_manager), Some("FORBIDDEN"));
    let accept_by_stranger = w
        .as_(
            &stranger,
            "mutation($g: ID!) { acceptGrant(grantId: $g) { acceptedAt } }",
            json!({ "g": w.grant }),
        )
        .await;
    assert_eq!(error_code(&accept_by_stranger), Some("NOT_FOUND"));
}

#[tokio::test]
async fn ending_a_grant_releases_what_was_not_paid() {
    let w = world("CNY", "400000").await;
    w.ready_to_pay("CNY").await;
    let ids = w
        .plan(json!([
            { "amount": w.money("100000"), "dueOn": day(30) },
            { "amount": w.money("150000"), "dueOn": day(60) }
        ]))
        .await;
    w.approve(&ids[0]).await;
    data(&w.as_(&w.planner, SENT, json!({ "id": ids[0], "input": { "bankReference": "R1", "sentOn": day(30), "rateToUsd": "0.14", "amountSent": { "amount": "100000", "currency": "CNY" } } })).await);
    let complete = "mutation($g: ID!) { completeGrant(grantId: $g) { status } }";
    let terminate = "mutation($g: ID!) { terminateGrant(grantId: $g, reason: \"Partner withdrew\") { status planned { amount } disbursements { status } } }";
    assert_eq!(
        error_code(&w.as_(&w.planner, complete, json!({ "g": w.grant })).await),
        Some("INVALID_STATE"),
        "tranches are still open"
    );
    assert_eq!(
        error_code(&w.as_(&w.planner, terminate, json!({ "g": w.grant })).await),
        Some("INVALID_STATE"),
        "a payment is on its way"
    );
    data(&w.as_(&w.applicant, CONFIRM, json!({ "id": ids[0] })).await);
    assert_eq!(
        error_code(
            &w.as_(&w.applicant, terminate, json!({ "g": w.grant }))
                .await
        ),
        Some("FORBIDDEN")
    );
    let ended = w.as_(&w.planner, terminate, json!({ "g": w.grant })).await;
    assert_eq!(
        data(&ended)["terminateGrant"],
        json!({ "status": "TERMINATED", "planned": { "amount": "100000.00" }, "disbursements": [{ "status": "CONFIRMED" }, { "status": "CANCELLED" }] })
    );
    let summary = w.as_(&w.planner, "query($f: ID!) { fundSummary(fundId: $f) { committed { amount } disbursed { amount } byHostCountry { committed { amount } } } }", json!({ "f": w.fund })).await;
    assert_eq!(
        data(&summary)["fundSummary"],
        json!({ "committed": { "amount": "100000.00" }, "disbursed": { "amount": "100000.00" }, "byHostCountry": [{ "committed": { "amount": "50000.00" } }, { "committed": { "amount": "50000.00" } }] }),
        "only what was paid stays committed"
    );
    assert_eq!(
        error_code(&w.as_(&w.planner, complete, json!({ "g": w.grant })).await),
        Some("INVALID_STATE"),
        "a terminated grant stays terminated"
    );
    let more = w
        .as_(
            &w.planner,
            PLAN,
            json!({ "g": w.grant, "t": [{ "amount": w.money("1000"), "dueOn": day(100) }] }),
        )
        .await;
    assert_eq!(error_code(&more), Some("INVALID_STATE"));
}

/// Terminating a grant while tranches are being planned from another instance never leaves a
/// tranche open on an ended grant, and the fund keeps committed exactly what the grants hold.
#[tokio::test]
async fn plans_racing_a_termination_never_outlive_the_grant() {
    let w = world("CNY", "400000").await;
    let second = TestApp::spawn_on(w.app.db.shared(), |_| {}).await;
    second.clock.set(w.app.clock.now());
    let plans = (0..6).map(|i| {
        let app = if i % 2 == 0 { &w.app } else { &second };
        app.graphql_as(
            Some(&w.planner.access),
            PLAN,
            json!({ "g": w.grant, "t": [{ "amount": w.money("10000"), "dueOn": day(30) }] }),
        )
    });
    let terminate = second.graphql_as(
        Some(&w.approver.access),
        "mutation($g: ID!) { terminateGrant(grantId: $g, reason: \"Closed\") { status } }",
        json!({ "g": w.grant }),
    );
    let (responses, ended) = tokio::join!(futures_util::future::join_all(plans), terminate);
    data(&ended);
    for response in &responses {
        if response.get("errors").is_some() {
            assert_eq!(error_code(response), Some("INVALID_STATE"), "{response}");
        }
    }
    let grant = w.grant().await;
    assert!(
        grant["disbursements"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "CANCELLED"),
        "{grant}"
    );
    assert_eq!(grant["planned"]["amount"], "0.00");
    let db = w.app.db.connect().await;
    use sea_orm::EntityTrait;
    let fund = entity::fund::Entity::find().all(&db).await.unwrap();
    assert_eq!(fund[0].committed_minor, 0);
}

#[tokio::test]
async fn a_cancelled_tranche_frees_its_amount_and_cannot_be_sent() {
    let w = world("CNY", "400000").await;
    w.ready_to_pay("CNY").await;
    let ids = w
        .plan(json!([{ "amount": w.money("400000"), "dueOn": day(30) }]))
        .await;
    w.approve(&ids[0]).await;
    let cancel = "mutation($id: ID!, $k: String) { cancelDisbursement(disbursementId: $id, reason: \"Plan changed\", idempotencyKey: $k) { status cancelReason grant { planned { amount } } } }";
    let by_grantee = w.as_(&w.applicant, cancel, json!({ "id": ids[0] })).await;
    assert_eq!(error_code(&by_grantee), Some("FORBIDDEN"));
    let cancelled = w
        .as_(&w.planner, cancel, json!({ "id": ids[0], "k": "cancel-1" }))
        .await;
    assert_eq!(
        data(&cancelled)["cancelDisbursement"],
        json!({ "status": "CANCELLED", "cancelReason": "Plan changed", "grant": { "planned": { "amount": "0.00" } } })
    );
    let retried = w
        .as_(&w.planner, cancel, json!({ "id": ids[0], "k": "cancel-1" }))
        .await;
    assert_eq!(
        retried["data"], cancelled["data"],
        "a retry replays the cancellation"
    );
    assert!(replayed(&retried) && !replayed(&cancelled), "{retried}");
    assert_eq!(
        error_code(&w.as_(&w.planner, cancel, json!({ "id": ids[0] })).await),
        Some("INVALID_STATE"),
        "a cancelled tranche stays cancelled"
    );
    let sent = w.as_(&w.planner, SENT, json!({ "id": ids[0], "input": { "bankReference": "R", "sentOn": day(30), "rateToUsd": "0.14", "amountSent": { "amount": "400000", "currency": "CNY" } } })).await;
    assert_eq!(error_code(&sent), Some("INVALID_STATE"));
    let again = w
        .plan(json!([{ "amount": w.money("400000"), "dueOn": day(60) }]))
        .await;
    assert_eq!(again.len(), 1, "the whole award can be planned again");
}
