//! Statement budgets of the operations the benchmark drives, on the seeded dataset: every
//! statement a request sends is counted (the pool's statements, and transaction control), and the
//! read operations stay within ten, the same at page sizes 1, 10 and 100. Speed itself is
//! measured by the benchmark in `bench/`, never here.

mod common;

use std::sync::atomic::Ordering;

use common::{TestApp, data};
use serde_json::{Value, json};

struct Seeded {
    app: TestApp,
    fixtures: bridgefund::seed::Fixtures,
}

async fn seeded() -> Seeded {
    // The statement counter is the process's: the scheduler (which ticks once at start, before
    // the seed) must not tick again while requests are measured.
    let app = TestApp::spawn_with(|config| config.scheduler_interval_secs = 3600).await;
    let fixtures = bridgefund::seed::seed(&app.context.db, 1, app.clock.now())
        .await
        .expect("seeded");
    Seeded { app, fixtures }
}

impl Seeded {
    async fn token(&self, email: &str) -> String {
        self.app
            .session(email, bridgefund::seed::SEED_PASSWORD)
            .await
            .access
    }

    /// Runs the operation and returns its data and the statements it sent.
    async fn measure(&self, token: Option<&str>, query: &str, variables: Value) -> (Value, u64) {
        let before = self.app.context.statements.load(Ordering::SeqCst);
        let response = self.app.graphql_as(token, query, variables).await;
        let after = self.app.context.statements.load(Ordering::SeqCst);
        (data(&response).clone(), after - before)
    }
}

pub const OPEN_CALLS: &str = "query($n: Int) { calls(filter: { statuses: [OPEN] }, first: $n) { totalCount edges { node { id title { en zh } closesAt acceptingSubmissions budget { amount currency } hostCountries sdgGoals fund { name { en } currency } } } } }";
pub const MANAGER_PAGE: &str = "query($call: ID!, $n: Int) { applications(filter: { callId: $call }, first: $n) { totalCount pageInfo { hasNextPage endCursor } edges { node { id reference status title { en zh } requestedAmount { amount currency } score scoreSpread reviewCount needsModeration organization { name { en } country applicantCategory } partners { status budgetShare { amount } organization { name { en } } } call { title { en } } } } } }";
pub const RANKING: &str = "query($call: ID!, $n: Int) { callRanking(callId: $call, first: $n) { rank score scoreSpread reviewCount assignedCount needsModeration recommendations { fund doNotFund } application { id reference title { en } organization { name { en } } } } }";
pub const SUMMARY: &str = "query($fund: ID!) { fundSummary(fundId: $fund) { budget { amount currency } committed { amount } disbursed { amount } remaining { amount } grants byHostCountry { key committed { amount } disbursed { amount } grants } byApplicantCategory { key committed { amount } } bySdg { key committed { amount } disbursed { amount } } } }";

#[tokio::test]
async fn read_operations_stay_within_ten_statements_at_any_page_size() {
    let s = seeded().await;
    let fund = &s.fixtures.funds[0];
    let manager = s.token(&fund.managers[0]).await;
    let mut report = Vec::new();
    for (name, token, query, variables, items) in [
        ("open calls", None, OPEN_CALLS, json!({}), "/calls/edges"),
        (
            "manager's applications",
            Some(manager.as_str()),
            MANAGER_PAGE,
            json!({ "call": fund.ranking_call }),
            "/applications/edges",
        ),
        (
            "call ranking",
            Some(manager.as_str()),
            RANKING,
            json!({ "call": fund.ranking_call }),
            "/callRanking",
        ),
    ] {
        let mut counts = Vec::new();
        for size in [1, 10, 100] {
            let mut variables = variables.clone();
            variables["n"] = json!(size);
            let (data, statements) = s.measure(token, query, variables).await;
            let returned = data
                .pointer(items)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            // Twelve calls are open at scale 1, so their page is full only up to twelve.
            assert!(
                returned == size || (name == "open calls" && returned == 12),
                "{name}: {returned} of {size}"
            );
            counts.push(statements);
        }
        report.push((name, counts.clone()));
        assert!(counts.iter().all(|c| *c == counts[0]), "{name}: {counts:?}");
        assert!(counts[0] <= 10, "{name}: {counts:?}");
    }
    let (summary, statements) = s
        .measure(Some(&manager), SUMMARY, json!({ "fund": fund.id }))
        .await;
    report.push(("fund summary", vec![statements]));
    assert!(statements <= 10, "fund summary: {statements}");
    // The breakdowns add up to the totals.
    let total = |lines: &Value, field: &str| -> f64 {
        lines
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l[field]["amount"].as_str().unwrap().parse::<f64>().unwrap())
            .sum()
    };
    let summary = &summary["fundSummary"];
    let committed: f64 = summary["committed"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for breakdown in ["byHostCountry", "byApplicantCategory", "bySdg"] {
        assert!(
            (total(&summary[breakdown], "committed") - committed).abs() < 0.001,
            "{breakdown}"
        );
    }
    eprintln!("statements per request: {report:?}");

    // Seeded applications carry their submitted version as submission writes it; listings never
    // read it, and it is there when asked for.
    let applicant = s.token(&s.fixtures.applicant).await;
    let (version, _) = s
        .measure(
            Some(&applicant),
            "query($id: ID!) { application(id: $id) { title { en } submittedVersion } }",
            json!({ "id": s.fixtures.application }),
        )
        .await;
    let version = &version["application"];
    assert_eq!(
        version["submittedVersion"]["content"]["titleEn"],
        version["title"]["en"]
    );
    assert!(version["submittedVersion"]["organization"]["nameEn"].is_string());
}

/// Page 200 of a listing costs what page 1 costs: cursors, not offsets.
#[tokio::test]
async fn a_deep_page_costs_what_the_first_page_costs() {
    let s = seeded().await;
    let fund = &s.fixtures.funds[0];
    let manager = s.token(&fund.managers[0]).await;
    let query = "query($after: String) { applications(first: 1, after: $after) { edges { cursor node { reference } } } }";
    let mut after: Option<String> = None;
    let mut first_cost = 0;
    for page in 1..=200 {
        let (data, statements) = s
            .measure(Some(&manager), query, json!({ "after": after }))
            .await;
        if page == 1 {
            first_cost = statements;
        }
        assert_eq!(statements, first_cost, "page {page}");
        after = data["applications"]["edges"][0]["cursor"]
            .as_str()
            .map(str::to_owned);
        assert!(after.is_some(), "page {page} is empty");
    }
}
