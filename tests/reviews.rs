//! The review of a call: assignment (by hand and balanced automatically) without conflicts of
//! interest, reviews that score every criterion, the ranking, decisions with their letters and
//! grants, blind calls, reminders, and approvals racing for the last of a call's budget.

mod common;

use std::collections::{HashMap, HashSet};

use common::{Session, TestApp, data, error_code, start_time};
use serde_json::{Value, json};

fn at(hours: i64) -> String {
    (start_time() + chrono::Duration::hours(hours)).to_rfc3339()
}

struct World {
    app: TestApp,
    manager: Session,
    fund: String,
    applicant: Session,
    ngo: String,
    reviewers: Vec<Session>,
}

const CREATE_CALL: &str =
    "mutation($f: ID!, $input: CallInput!) { createCall(fundId: $f, input: $input) { id } }";

/// A fund with a manager (who reads Chinese), an applicant NGO, and `reviewers` in the pool.
async fn world(reviewers: usize) -> World {
    let app = TestApp::spawn().await;
    world_on(app, reviewers).await
}

async fn world_on(app: TestApp, reviewers: usize) -> World {
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
    let applicant = app.user("applicant@example.org").await;
    let ngo = organization(&app, &applicant, "Green Bridge", 0).await;
    let mut pool = Vec::new();
    for i in 0..reviewers {
        let reviewer = app.user(&format!("reviewer{i}@example.org")).await;
        data(
            &app.graphql_as(
                Some(&manager.access),
                "mutation($f: ID!, $u: ID!) { addReviewerToPool(fundId: $f, userId: $u) { id } }",
                json!({ "f": fund, "u": reviewer.id }),
            )
            .await,
        );
        pool.push(reviewer);
    }
    World {
        app,
        manager,
        fund,
        applicant,
        ngo,
        reviewers: pool,
    }
}

/// A Kenyan NGO owned by `owner`.
async fn organization(app: &TestApp, owner: &Session, name: &str, n: usize) -> String {
    let response = app
        .graphql_as(
            Some(&owner.access),
            "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id } }",
            json!({ "input": { "nameEn": name, "organizationType": 22, "country": "KE", "registryIdentifier": format!("KE-NCB-{}", 4000 + n) } }),
        )
        .await;
    data(&response)["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An open call with a two-criterion rubric, closing in 30 days.
async fn call(w: &World, budget: &str, per_application: i32, blind: bool) -> String {
    let max_award = budget.parse::<u64>().unwrap().min(500_000).to_string();
    let input = json!({
        "titleEn": "Clean water", "titleZh": "清洁饮水", "opensAt": at(0), "closesAt": at(24 * 30),
        "budget": { "amount": budget, "currency": "CNY" },
        "minAward": { "amount": "10000", "currency": "CNY" }, "maxAward": { "amount": max_award, "currency": "CNY" },
        "hostCountries": ["KE", "TZ"], "sdgGoals": [6],
        "reviewersPerApplication": per_application, "blindReview": blind, "moderationThreshold": 20,
        "rubric": [
            { "key": "relevance", "nameEn": "Relevance", "weight": 60, "maxScore": 10 },
            { "key": "feasibility", "nameEn": "Feasibility", "weight": 40, "maxScore": 5 }
        ]
    });
    let created = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            CREATE_CALL,
            json!({ "f": w.fund, "input": input }),
        )
        .await;
    let call = data(&created)["createCall"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
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

/// A submitted application of `org` (owned by `owner`), optionally with a partner that accepts.
async fn submitted(
    w: &World,
    owner: &Session,
    call: &str,
    org: &str,
    requested: &str,
    partner: Option<(&Session, &str)>,
) -> String {
    let id = draft(w, owner, call, org, requested, partner).await;
    submit(w, owner, &id).await;
    id
}

async fn submit(w: &World, owner: &Session, id: &str) {
    data(
        &w.app
            .graphql_as(
                Some(&owner.access),
                "mutation($id: ID!) { submitApplication(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await,
    );
}

async fn draft(
    w: &World,
    owner: &Session,
    call: &str,
    org: &str,
    requested: &str,
    partner: Option<(&Session, &str)>,
) -> String {
    let partners: Vec<Value> = partner
        .iter()
        .map(|(_, p)| json!({ "organizationId": p, "budgetShare": { "amount": "1000", "currency": "CNY" } }))
        .collect();
    let input = json!({
        "titleEn": "Wells for Kitui", "titleZh": "基图伊水井", "summaryEn": "Ten wells",
        "hostCountries": ["KE"], "sdgGoals": [6],
        "requestedAmount": { "amount": requested, "currency": "CNY" },
        "durationMonths": 12, "plannedStart": "2027-06-01",
        "partners": partners,
        "budgetLines": [{ "category": "Drilling", "amount": { "amount": requested, "currency": "CNY" } }]
    });
    let created = w.app
        .graphql_as(Some(&owner.access), "mutation($call: ID!, $org: ID!, $input: ApplicationInput!) { createApplication(callId: $call, organizationId: $org, input: $input) { id } }",
            json!({ "call": call, "org": org, "input": input }))
        .await;
    let id = data(&created)["createApplication"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if let Some((partner_owner, partner)) = partner {
        data(&w.app.graphql_as(Some(&partner_owner.access), "mutation($id: ID!, $org: ID!) { respondToPartnership(applicationId: $id, organizationId: $org, accept: true) { id } }", json!({ "id": id, "org": partner })).await);
    }
    id
}

/// Attaches a PDF named `name` to a draft (a GraphQL multipart request).
async fn attach(w: &World, owner: &Session, application: &str, name: &str) {
    let query = "mutation($id: ID!, $file: Upload!) { uploadDocument(applicationId: $id, kind: \"budget_plan\", file: $file) { id } }";
    let operations = json!({ "query": query, "variables": { "id": application, "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(
                b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec(),
            )
            .file_name(name.to_owned())
            .mime_str("application/pdf")
            .unwrap(),
        );
    let response: Value = w
        .app
        .http
        .post(w.app.url("/graphql"))
        .bearer_auth(&owner.access)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data(&response);
}

const ASSIGN: &str = "mutation($a: ID!, $r: ID!, $due: DateTime!) { assignReviewer(applicationId: $a, reviewerId: $r, dueAt: $due) { id status dueAt subject { reference } } }";
const SUBMIT_REVIEW: &str = "mutation($id: ID!, $input: ReviewInput!) { submitReview(assignmentId: $id, input: $input) { status review { score recommendation submittedAt } } }";
const SAVE_REVIEW: &str = "mutation($id: ID!, $input: ReviewInput!) { saveReview(assignmentId: $id, input: $input) { status review { scores { key score justification } score } } }";
const DECIDE: &str = "mutation($id: ID!, $input: DecisionInput!) { decideApplication(applicationId: $id, input: $input) { status decision { outcome amount { amount currency } conditions rationale } grant { reference amount { amount } startsOn endsOn status } } }";

const DESK_REJECT: &str = "mutation($id: ID!, $input: DeskRejectionInput!, $k: String) { deskRejectApplication(applicationId: $id, input: $input, idempotencyKey: $k) { status decision { outcome deskRejection rationale rationaleShared } } }";

/// Closes the call by hand, before its closing time: applications are decided once it closed.
async fn close(w: &World, call: &str) {
    let closed = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "mutation($id: ID!) { closeCall(id: $id) { status } }",
            json!({ "id": call }),
        )
        .await;
    assert_eq!(data(&closed)["closeCall"]["status"], "CLOSED");
}

async fn call_status(w: &World, call: &str) -> Value {
    let response = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "query($id: ID!) { call(id: $id) { status } }",
            json!({ "id": call }),
        )
        .await;
    data(&response)["call"]["status"].clone()
}

async fn assign(w: &World, application: &str, reviewer: &Session) -> Value {
    w.app
        .graphql_as(
            Some(&w.manager.access),
            ASSIGN,
            json!({ "a": application, "r": reviewer.id, "due": at(24 * 40) }),
        )
        .await
}

fn review(relevance: i64, feasibility: i64, recommendation: &str) -> Value {
    json!({
        "scores": [
            { "key": "relevance", "score": relevance, "justification": "Serves the driest wards" },
            { "key": "feasibility", "score": feasibility, "justification": "Experienced driller" }
        ],
        "recommendation": recommendation, "comment": "Solid plan"
    })
}

#[tokio::test]
async fn a_manager_runs_a_review_from_assignment_to_decision_letter() {
    let w = world(2).await;
    let call = call(&w, "2000000", 2, false).await;
    let application = submitted(&w, &w.applicant, &call, &w.ngo, "300000", None).await;
    let (first, second) = (&w.reviewers[0], &w.reviewers[1]);

    let assigned = assign(&w, &application, first).await;
    let assignment = data(&assigned)["assignReviewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(data(&assigned)["assignReviewer"]["status"], "ASSIGNED");
    let status = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "query($id: ID!) { application(id: $id) { status } }",
            json!({ "id": application }),
        )
        .await;
    assert_eq!(
        data(&status)["application"]["status"],
        "UNDER_REVIEW",
        "the first assignment starts the review"
    );
    assert_eq!(
        error_code(&assign(&w, &application, first).await),
        Some("CONFLICT"),
        "once per reviewer"
    );
    let second_assigned = assign(&w, &application, second).await;
    let second_assignment = data(&second_assigned)["assignReviewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The reviewer is told, and finds the assignment.
    w.app.deliver_mail().await;
    assert!(
        w.app
            .sent_mail()
            .iter()
            .any(|m| m.to == "reviewer0@example.org" && m.subject.contains("BF-2027-0001")),
        "the reviewer is emailed"
    );
    let mine = w.app.graphql_as(Some(&first.access), "{ myReviewAssignments { totalCount edges { node { id subject { reference title { en } organization { name { en } } } } } } }", json!({})).await;
    let mine = &data(&mine)["myReviewAssignments"];
    assert_eq!(mine["totalCount"], 1);
    assert_eq!(
        mine["edges"][0]["node"]["subject"]["organization"]["name"]["en"], "Green Bridge",
        "an open call shows the applicant"
    );

    // A draft may be partial; only the reviewer sees it.
    let draft = w
        .app
        .graphql_as(
            Some(&first.access),
            SAVE_REVIEW,
            json!({ "id": assignment, "input": { "scores": [{ "key": "relevance", "score": 7 }] } }),
        )
        .await;
    assert_eq!(
        data(&draft)["saveReview"]["review"]["scores"],
        json!([{ "key": "relevance", "score": 7, "justification": "" }])
    );

    // 60% × 9/10 + 40% × 5/5 = 94.00; 60% × 3/10 + 40% × 2/5 = 34.00.
    let submitted_review = w
        .app
        .graphql_as(
            Some(&first.access),
            SUBMIT_REVIEW,
            json!({ "id": assignment, "input": review(9, 5, "FUND") }),
        )
        .await;
    let submitted_review = &data(&submitted_review)["submitReview"];
    assert_eq!(submitted_review["status"], "SUBMITTED");
    assert_eq!(submitted_review["review"]["score"], 94.0);
    data(
        &w.app
            .graphql_as(
                Some(&second.access),
                SUBMIT_REVIEW,
                json!({ "id": second_assignment, "input": review(3, 2, "DO_NOT_FUND") }),
            )
            .await,
    );

    // The ranking shows the disagreement.
    let ranking = w.app.graphql_as(Some(&w.manager.access), "query($c: ID!) { callRanking(callId: $c) { rank score scoreSpread reviewCount assignedCount needsModeration recommendations { fund doNotFund } application { reference } } }", json!({ "c": call })).await;
    assert_eq!(
        data(&ranking)["callRanking"],
        json!([{
            "rank": 1, "score": 64.0, "scoreSpread": 60.0, "reviewCount": 2, "assignedCount": 2,
            "needsModeration": true, "recommendations": { "fund": 1, "doNotFund": 1 },
            "application": { "reference": "BF-2027-0001" }
        }])
    );
    let scores = "query($id: ID!) { application(id: $id) { score scoreSpread reviewCount needsModeration reviewAssignments { review { score } } } }";
    let as_manager = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            scores,
            json!({ "id": application }),
        )
        .await;
    assert_eq!(data(&as_manager)["application"]["score"], 64.0);
    assert_eq!(
        data(&as_manager)["application"]["reviewAssignments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let as_applicant = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            scores,
            json!({ "id": application }),
        )
        .await;
    assert_eq!(
        data(&as_applicant)["application"],
        json!({ "score": null, "scoreSpread": null, "reviewCount": null, "needsModeration": null, "reviewAssignments": null }),
        "applicants see no scores and no reviewers"
    );

    // The decision, once the call has closed: an approval creates the grant and commits the money.
    close(&w, &call).await;
    let decided = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            DECIDE,
            json!({ "id": application, "input": {
                "outcome": "APPROVE", "amount": { "amount": "250000", "currency": "CNY" },
                "conditions": "Quarterly reports", "rationale": "Strong partner, modest scale"
            } }),
        )
        .await;
    assert_eq!(
        data(&decided)["decideApplication"],
        json!({
            "status": "APPROVED",
            "decision": { "outcome": "APPROVE", "amount": { "amount": "250000.00", "currency": "CNY" }, "conditions": "Quarterly reports", "rationale": "Strong partner, modest scale" },
            "grant": { "reference": "BF-2027-0001", "amount": { "amount": "250000.00" }, "startsOn": "2027-06-01", "endsOn": "2028-05-31", "status": "ACTIVE" }
        })
    );
    let totals = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "query($f: ID!) { fund(id: $f) { totals { committed { amount } } } }",
            json!({ "f": w.fund }),
        )
        .await;
    assert_eq!(
        data(&totals)["fund"]["totals"]["committed"]["amount"],
        "250000.00"
    );
    assert_eq!(
        error_code(
            &w.app
                .graphql_as(
                    Some(&w.manager.access),
                    DECIDE,
                    json!({ "id": application, "input": { "outcome": "REJECT", "rationale": "Changed our mind" } }),
                )
                .await
        ),
        Some("INVALID_STATE"),
        "an approval is final"
    );

    // The applicant reads the decision and gets a letter.
    let read = w.app.graphql_as(Some(&w.applicant.access), "query($id: ID!) { application(id: $id) { decision { outcome amount { amount } conditions rationale decidedBy { id } } } }", json!({ "id": application })).await;
    assert_eq!(
        data(&read)["application"]["decision"],
        json!({ "outcome": "APPROVE", "amount": { "amount": "250000.00" }, "conditions": "Quarterly reports", "rationale": "Strong partner, modest scale", "decidedBy": null })
    );
    w.app.deliver_mail().await;
    let letters: Vec<_> = w
        .app
        .sent_mail()
        .into_iter()
        .filter(|m| m.to == "applicant@example.org" && m.subject.contains("approved"))
        .collect();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].raw.contains("250000.00 CNY"),
        "{}",
        letters[0].raw
    );
}

#[tokio::test]
async fn bad_reviews_are_refused_and_a_submitted_review_is_final() {
    let w = world(2).await;
    let call = call(&w, "2000000", 2, false).await;
    let application = submitted(&w, &w.applicant, &call, &w.ngo, "300000", None).await;
    let assigned = assign(&w, &application, &w.reviewers[0]).await;
    let assignment = data(&assigned)["assignReviewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let submit = |who: &Session, input: Value| {
        let token = who.access.clone();
        let variables = json!({ "id": assignment, "input": input });
        let app = &w.app;
        async move { app.graphql_as(Some(&token), SUBMIT_REVIEW, variables).await }
    };
    let reviewer = &w.reviewers[0];
    let refused = |response: &Value| {
        (
            error_code(response).map(str::to_owned),
            response["errors"][0]["extensions"]["field"]
                .as_str()
                .map(str::to_owned),
        )
    };

    let out_of_range = submit(reviewer, review(11, 5, "FUND")).await;
    assert_eq!(
        refused(&out_of_range),
        (
            Some("BAD_USER_INPUT".into()),
            Some("input.scores.relevance".into())
        )
    );
    let negative = submit(reviewer, review(-1, 5, "FUND")).await;
    assert_eq!(error_code(&negative), Some("BAD_USER_INPUT"));
    let mut unjustified = review(8, 4, "FUND");
    unjustified["scores"][1]["justification"] = json!("   ");
    assert_eq!(
        refused(&submit(reviewer, unjustified).await),
        (
            Some("BAD_USER_INPUT".into()),
            Some("input.scores.feasibility".into())
        )
    );
    let mut missing = review(8, 4, "FUND");
    missing["scores"].as_array_mut().unwrap().pop();
    assert_eq!(
        error_code(&submit(reviewer, missing).await),
        Some("BAD_USER_INPUT")
    );
    let mut unknown = review(8, 4, "FUND");
    unknown["scores"][1]["key"] = json!("budget");
    assert_eq!(
        error_code(&submit(reviewer, unknown).await),
        Some("BAD_USER_INPUT")
    );
    let mut no_recommendation = review(8, 4, "FUND");
    no_recommendation
        .as_object_mut()
        .unwrap()
        .remove("recommendation");
    assert_eq!(
        refused(&submit(reviewer, no_recommendation).await),
        (
            Some("BAD_USER_INPUT".into()),
            Some("input.recommendation".into())
        )
    );

    // Someone not assigned learns nothing; the manager may not review for them.
    assert_eq!(
        error_code(&submit(&w.reviewers[1], review(8, 4, "FUND")).await),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&submit(&w.applicant, review(8, 4, "FUND")).await),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&submit(&w.manager, review(8, 4, "FUND")).await),
        Some("FORBIDDEN")
    );

    data(&submit(reviewer, review(8, 4, "FUND_WITH_CONDITIONS")).await);
    assert_eq!(
        error_code(&submit(reviewer, review(1, 1, "DO_NOT_FUND")).await),
        Some("INVALID_STATE"),
        "a second submission"
    );
    let save = w
        .app
        .graphql_as(
            Some(&reviewer.access),
            SAVE_REVIEW,
            json!({ "id": assignment, "input": review(1, 1, "DO_NOT_FUND") }),
        )
        .await;
    assert_eq!(error_code(&save), Some("INVALID_STATE"));
    let unassign = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "mutation($id: ID!) { unassignReviewer(assignmentId: $id) }",
            json!({ "id": assignment }),
        )
        .await;
    assert_eq!(
        error_code(&unassign),
        Some("INVALID_STATE"),
        "a submitted review stays"
    );
    // An assignment not yet reviewed can be removed, and the reviewer assigned again.
    let second = data(&assign(&w, &application, &w.reviewers[1]).await)["assignReviewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "mutation($id: ID!) { unassignReviewer(assignmentId: $id) }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(data(&removed)["unassignReviewer"], true);
    let gone = w
        .app
        .graphql_as(
            Some(&w.reviewers[1].access),
            "{ myReviewAssignments { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&gone)["myReviewAssignments"]["totalCount"], 0);
    data(&assign(&w, &application, &w.reviewers[1]).await);
    let kept = w
        .app
        .graphql_as(
            Some(&reviewer.access),
            "query($id: ID!) { reviewAssignment(id: $id) { review { score recommendation } } }",
            json!({ "id": assignment }),
        )
        .await;
    assert_eq!(
        data(&kept)["reviewAssignment"]["review"],
        json!({ "score": 80.0, "recommendation": "FUND_WITH_CONDITIONS" })
    );
}

#[tokio::test]
async fn reviewers_do_not_see_each_others_reviews_or_other_applications() {
    let w = world(2).await;
    let call = call(&w, "2000000", 2, false).await;
    let application = submitted(&w, &w.applicant, &call, &w.ngo, "300000", None).await;
    let first = data(&assign(&w, &application, &w.reviewers[0]).await)["assignReviewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(&assign(&w, &application, &w.reviewers[1]).await);
    data(
        &w.app
            .graphql_as(
                Some(&w.reviewers[0].access),
                SUBMIT_REVIEW,
                json!({ "id": first, "input": review(9, 5, "FUND") }),
            )
            .await,
    );
    let other = &w.reviewers[1];
    let read = w
        .app
        .graphql_as(
            Some(&other.access),
            "query($id: ID!) { reviewAssignment(id: $id) { id } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(error_code(&read), Some("NOT_FOUND"));
    let full = w
        .app
        .graphql_as(
            Some(&other.access),
            "query($id: ID!) { application(id: $id) { id } }",
            json!({ "id": application }),
        )
        .await;
    assert_eq!(
        error_code(&full),
        Some("NOT_FOUND"),
        "reviewers read the subject, not the application"
    );
    let list = w
        .app
        .graphql_as(
            Some(&other.access),
            "{ applications { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&list)["applications"]["totalCount"], 0);
    let ranking = w
        .app
        .graphql_as(
            Some(&other.access),
            "query($c: ID!) { callRanking(callId: $c) { rank } }",
            json!({ "c": call }),
        )
        .await;
    assert_eq!(error_code(&ranking), Some("FORBIDDEN"));
    let own = w
        .app
        .graphql_as(
            Some(&other.access),
            "{ myReviewAssignments { edges { node { review { score } subject { reference } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&own)["myReviewAssignments"]["edges"][0]["node"]["review"],
        json!({ "score": null }),
        "their own (empty) review only"
    );
}

#[tokio::test]
async fn a_blind_call_hides_the_applicant_from_reviewers_on_every_path() {
    let w = world(1).await;
    let call = call(&w, "2000000", 1, true).await;
    let partner_owner = w.app.user("partner@example.org").await;
    let partner = organization(&w.app, &partner_owner, "Maji Safi Trust", 1).await;
    let application = draft(
        &w,
        &w.applicant,
        &call,
        &w.ngo,
        "300000",
        Some((&partner_owner, &partner)),
    )
    .await;
    // A document whose file name names the applicant.
    attach(&w, &w.applicant, &application, "Green Bridge budget.pdf").await;
    submit(&w, &w.applicant, &application).await;
    let reviewer = &w.reviewers[0];
    let assignment = data(&assign(&w, &application, reviewer).await)["assignReviewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let everything = "query($id: ID!) {
        myReviewAssignments { edges { node { id subject { reference blind organization { id name { en } } partners { organization { name { en } } } title { en } budgetLines { category } documents { fileName downloadPath } call { title { en } } } } } }
        reviewAssignment(id: $id) { subject { organization { id } partners { budgetShare { amount } } } reviewer { email } }
    }";
    let seen = w
        .app
        .graphql_as(
            Some(&reviewer.access),
            everything,
            json!({ "id": assignment }),
        )
        .await;
    let subject = &data(&seen)["myReviewAssignments"]["edges"][0]["node"]["subject"];
    assert_eq!(subject["blind"], true);
    assert_eq!(subject["organization"], Value::Null);
    assert_eq!(subject["partners"], Value::Null);
    assert_eq!(subject["title"]["en"], "Wells for Kitui");
    let text = seen.to_string();
    for identity in [
        "Green Bridge",
        "Maji Safi",
        "applicant@example.org",
        "partner@example.org",
        w.ngo.as_str(),
        partner.as_str(),
    ] {
        assert!(!text.contains(identity), "{identity} leaked: {text}");
    }

    // The reviewer downloads the document; an unassigned user cannot.
    let path = subject["documents"][0]["downloadPath"].as_str().unwrap();
    let download = w
        .app
        .http
        .get(w.app.url(path))
        .bearer_auth(&reviewer.access)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(disposition, "attachment; filename=\"BUDGET_PLAN.pdf\"");
    assert!(download.bytes().await.unwrap().starts_with(b"%PDF"));
    let outsider = w.app.user("outsider@example.org").await;
    let refused = w
        .app
        .http
        .get(w.app.url(path))
        .bearer_auth(&outsider.access)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);

    // Other paths: the application itself, its submitted version, the organisation's members.
    for query in [
        "query($id: ID!) { application(id: $id) { submittedVersion } }",
        "query($id: ID!) { application(id: $id) { organization { name { en } } } }",
    ] {
        let response = w
            .app
            .graphql_as(Some(&reviewer.access), query, json!({ "id": application }))
            .await;
        assert_eq!(error_code(&response), Some("NOT_FOUND"), "{query}");
        assert!(!response.to_string().contains("Green Bridge"));
    }
    let members = w
        .app
        .graphql_as(
            Some(&reviewer.access),
            "query($id: ID!) { organization(id: $id) { members { user { email } } } }",
            json!({ "id": w.ngo }),
        )
        .await;
    assert!(!members.to_string().contains("applicant@example.org"));

    // The assignment email does not name the applicant either.
    w.app.deliver_mail().await;
    let mail: Vec<_> = w
        .app
        .sent_mail()
        .into_iter()
        .filter(|m| m.to == "reviewer0@example.org")
        .collect();
    assert!(!mail.is_empty());
    for message in mail {
        assert!(!message.raw.contains("Green Bridge") && !message.raw.contains("Maji Safi"));
    }
}

#[tokio::test]
async fn conflicted_reviewers_and_managers_are_kept_out() {
    let w = world(2).await;
    let call = call(&w, "2000000", 1, false).await;
    let partner_owner = &w.reviewers[1];
    let partner = organization(&w.app, partner_owner, "Maji Safi Trust", 1).await;
    let application = submitted(
        &w,
        &w.applicant,
        &call,
        &w.ngo,
        "300000",
        Some((partner_owner, &partner)),
    )
    .await;

    let conflicted = assign(&w, &application, partner_owner).await;
    assert_eq!(error_code(&conflicted), Some("BAD_USER_INPUT"));
    assert!(
        conflicted["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("conflict of interest")
    );
    let outsider = w.app.user("outsider@example.org").await;
    let not_in_pool = assign(&w, &application, &outsider).await;
    assert_eq!(
        not_in_pool["errors"][0]["extensions"]["field"], "reviewerId",
        "{not_in_pool}"
    );
    let as_reviewer = w
        .app
        .graphql_as(
            Some(&w.reviewers[0].access),
            ASSIGN,
            json!({ "a": application, "r": w.reviewers[0].id, "due": at(24 * 40) }),
        )
        .await;
    assert_eq!(
        error_code(&as_reviewer),
        Some("NOT_FOUND"),
        "a reviewer cannot assign, and learns nothing of an application not theirs"
    );
    let as_applicant = w
        .app
        .graphql_as(
            Some(&w.applicant.access),
            ASSIGN,
            json!({ "a": application, "r": w.reviewers[0].id, "due": at(24 * 40) }),
        )
        .await;
    assert_eq!(error_code(&as_applicant), Some("FORBIDDEN"));

    // Automatic assignment skips the partner's member.
    let auto = w.app.graphql_as(Some(&w.manager.access), "mutation($c: ID!, $due: DateTime!) { autoAssignReviewers(callId: $c, dueAt: $due) { assignments { id reviewer { email } } unfilled { missing } } }", json!({ "c": call, "due": at(24 * 40) })).await;
    let auto = &data(&auto)["autoAssignReviewers"];
    assert_eq!(
        auto["assignments"][0]["reviewer"]["email"],
        "reviewer0@example.org"
    );
    assert_eq!(auto["assignments"].as_array().unwrap().len(), 1);
    let assignment = auto["assignments"][0]["id"].as_str().unwrap().to_owned();

    // A declared conflict recuses the reviewer, tells the managers, and is audited.
    let declared = w.app.graphql_as(Some(&w.reviewers[0].access), "mutation($id: ID!) { declareConflictOfInterest(assignmentId: $id, reason: \"I advised the applicant last year\") { status recusalReason subject { reference } } }", json!({ "id": assignment })).await;
    assert_eq!(
        data(&declared)["declareConflictOfInterest"],
        json!({ "status": "RECUSED", "recusalReason": "I advised the applicant last year", "subject": null })
    );
    let again = assign(&w, &application, &w.reviewers[0]).await;
    assert_eq!(
        error_code(&again),
        Some("BAD_USER_INPUT"),
        "a recused reviewer is not assigned again"
    );
    let review_after = w
        .app
        .graphql_as(
            Some(&w.reviewers[0].access),
            SUBMIT_REVIEW,
            json!({ "id": assignment, "input": review(5, 5, "FUND") }),
        )
        .await;
    assert_eq!(error_code(&review_after), Some("INVALID_STATE"));
    w.app.deliver_mail().await;
    let told: Vec<_> = w
        .app
        .sent_mail()
        .into_iter()
        .filter(|m| m.to == "manager@example.org" && m.raw.contains("I advised the applicant"))
        .collect();
    assert_eq!(told.len(), 1, "the manager is told once");
    let db = w.app.db.connect().await;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let declarations = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("review.declare_conflict"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(declarations, 1);

    // A manager who belongs to the applicant cannot decide it.
    data(&w.app.graphql_as(Some(&w.applicant.access), "mutation($id: ID!, $email: String!) { inviteMember(organizationId: $id, email: $email) { id } }", json!({ "id": w.ngo, "email": "manager@example.org" })).await);
    let token = w.app.emailed_token("manager@example.org").await;
    data(
        &w.app
            .graphql_as(
                Some(&w.manager.access),
                "mutation($t: String!) { acceptInvitation(token: $t) { id } }",
                json!({ "t": token }),
            )
            .await,
    );
    let decided = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            DECIDE,
            json!({ "id": application, "input": { "outcome": "REJECT", "rationale": "No" } }),
        )
        .await;
    assert_eq!(error_code(&decided), Some("FORBIDDEN"));
}

/// 40 applications from 8 organisations, 7 reviewers, 3 each; two reviewers belong to applicant
/// organisations. Every application gets 3 distinct, unconflicted reviewers, and loads differ by
/// at most one.
#[tokio::test]
async fn automatic_assignment_balances_load_and_avoids_conflicts() {
    let w = world(7).await;
    let call = call(&w, "5000000", 3, false).await;
    let mut owners = Vec::new();
    for i in 0..8 {
        // Reviewers 0 and 1 own the first two organisations.
        let owner = match i {
            0 | 1 => w.reviewers[i].clone(),
            _ => w.app.user(&format!("owner{i}@example.org")).await,
        };
        let org = organization(&w.app, &owner, &format!("NGO {i}"), 10 + i).await;
        owners.push((owner, org));
    }
    let mut conflicted: HashMap<String, String> = HashMap::new();
    for n in 0..40 {
        let (owner, org) = &owners[n % 8];
        let id = submitted(&w, owner, &call, org, "100000", None).await;
        if n % 8 < 2 {
            conflicted.insert(id, w.reviewers[n % 8].id.clone());
        }
    }
    let auto = w.app.graphql_as(Some(&w.manager.access), "mutation($c: ID!, $due: DateTime!) { autoAssignReviewers(callId: $c, dueAt: $due) { assignments { reviewer { id } subject { reference } } unfilled { missing } } }", json!({ "c": call, "due": at(24 * 40) })).await;
    let auto = &data(&auto)["autoAssignReviewers"];
    assert_eq!(auto["unfilled"], json!([]));
    assert_eq!(auto["assignments"].as_array().unwrap().len(), 120);

    let db = w.app.db.connect().await;
    use sea_orm::EntityTrait;
    let rows = entity::review_assignment::Entity::find()
        .all(&db)
        .await
        .unwrap();
    let mut per_application: HashMap<String, HashSet<String>> = HashMap::new();
    let mut load: HashMap<String, usize> = HashMap::new();
    for row in &rows {
        let application = row.application_id.to_string();
        let reviewer = row.reviewer_id.to_string();
        assert_ne!(
            conflicted.get(&application),
            Some(&reviewer),
            "a conflicted reviewer was assigned"
        );
        assert!(
            per_application
                .entry(application)
                .or_default()
                .insert(reviewer.clone())
        );
        *load.entry(reviewer).or_default() += 1;
    }
    assert_eq!(per_application.len(), 40);
    assert!(per_application.values().all(|r| r.len() == 3));
    assert_eq!(load.len(), 7);
    let (min, max) = (load.values().min().unwrap(), load.values().max().unwrap());
    assert!(max - min <= 1, "loads {load:?}");

    // Running it again adds nothing: every application has its reviewers.
    let again = w.app.graphql_as(Some(&w.manager.access), "mutation($c: ID!, $due: DateTime!) { autoAssignReviewers(callId: $c, dueAt: $due) { assignments { id } } }", json!({ "c": call, "due": at(24 * 40) })).await;
    assert_eq!(
        data(&again)["autoAssignReviewers"]["assignments"],
        json!([])
    );
}

#[tokio::test]
async fn reviewers_are_reminded_before_the_due_date_and_once_overdue() {
    let w = world(1).await;
    let call = call(&w, "2000000", 1, false).await;
    let application = submitted(&w, &w.applicant, &call, &w.ngo, "300000", None).await;
    // Due in 72 hours; reminders come 48 hours before.
    data(
        &w.app
            .graphql_as(
                Some(&w.manager.access),
                ASSIGN,
                json!({ "a": application, "r": w.reviewers[0].id, "due": at(72) }),
            )
            .await,
    );
    let remind = || bridgefund::service::review::send_reminders(&w.app.context);
    assert_eq!(remind().await.unwrap(), 0, "too early");
    w.app.clock.advance(chrono::Duration::hours(25));
    assert_eq!(remind().await.unwrap(), 1);
    assert_eq!(remind().await.unwrap(), 0, "once");
    w.app.clock.advance(chrono::Duration::hours(48));
    assert_eq!(remind().await.unwrap(), 1, "overdue");
    assert_eq!(remind().await.unwrap(), 0, "overdue once");
    w.app.deliver_mail().await;
    let to_reviewer: Vec<String> = w
        .app
        .sent_mail()
        .into_iter()
        .filter(|m| m.to == "reviewer0@example.org" && m.subject.contains("BF-2027-0001"))
        .map(|m| m.subject)
        .collect();
    assert_eq!(to_reviewer.len(), 3, "{to_reviewer:?}");
    assert!(
        to_reviewer[1].to_lowercase().contains("due"),
        "{to_reviewer:?}"
    );
    assert!(
        to_reviewer[2].to_lowercase().contains("overdue"),
        "{to_reviewer:?}"
    );
}

#[tokio::test]
async fn waitlisted_applications_get_a_final_decision_and_the_call_is_decided() {
    let w = world(1).await;
    let call = call(&w, "2000000", 1, false).await;
    let first = submitted(&w, &w.applicant, &call, &w.ngo, "300000", None).await;
    let second = submitted(&w, &w.applicant, &call, &w.ngo, "200000", None).await;
    for application in [&first, &second] {
        data(&assign(&w, application, &w.reviewers[0]).await);
    }
    close(&w, &call).await;
    let decide = |application: &str, input: Value| {
        w.app.graphql_as(
            Some(&w.manager.access),
            DECIDE,
            json!({ "id": application, "input": input }),
        )
    };
    // Bad decisions are refused before anything changes.
    for (input, field) in [
        (
            json!({ "outcome": "APPROVE", "rationale": "Good" }),
            "input.amount",
        ),
        (
            json!({ "outcome": "APPROVE", "amount": { "amount": "300000.01", "currency": "CNY" }, "rationale": "Good" }),
            "input.amount",
        ),
        (
            json!({ "outcome": "APPROVE", "amount": { "amount": "1000", "currency": "USD" }, "rationale": "Good" }),
            "input.amount",
        ),
        (json!({ "outcome": "REJECT" }), "input.rationale"),
        (
            json!({ "outcome": "WAITLIST", "amount": { "amount": "1000", "currency": "CNY" }, "rationale": "Later" }),
            "input.amount",
        ),
    ] {
        let response = decide(&first, input.clone()).await;
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{input}: {response}"
        );
    }
    let waitlisted = decide(
        &first,
        json!({ "outcome": "WAITLIST", "rationale": "Budget is tight", "shareRationale": false }),
    )
    .await;
    assert_eq!(
        data(&waitlisted)["decideApplication"]["status"],
        "WAITLISTED"
    );
    let read = w.app.graphql_as(Some(&w.applicant.access), "query($id: ID!) { application(id: $id) { decision { outcome rationale rationaleShared } } }", json!({ "id": first })).await;
    assert_eq!(
        data(&read)["application"]["decision"],
        json!({ "outcome": "WAITLIST", "rationale": null, "rationaleShared": false }),
        "an unshared rationale stays with the managers"
    );

    data(
        &decide(
            &second,
            json!({ "outcome": "REJECT", "rationale": "Out of scope" }),
        )
        .await,
    );
    // Every application has its decision, so the call is decided; its waitlist may still move,
    // also after its announced closing time.
    assert_eq!(call_status(&w, &call).await, "DECIDED");
    w.app.clock.advance(chrono::Duration::days(31));
    bridgefund::service::call::apply_schedule(&w.app.context)
        .await
        .unwrap();
    let manager = w.app.session("manager@example.org", common::PASSWORD).await;
    let decide = |application: &str, input: Value| {
        w.app.graphql_as(
            Some(&manager.access),
            DECIDE,
            json!({ "id": application, "input": input }),
        )
    };
    let approved = decide(&first, json!({ "outcome": "APPROVE", "amount": { "amount": "300000", "currency": "CNY" }, "rationale": "Funds freed up" })).await;
    assert_eq!(data(&approved)["decideApplication"]["status"], "APPROVED");
    let status = w
        .app
        .graphql_as(
            Some(&manager.access),
            "query($id: ID!) { call(id: $id) { status } }",
            json!({ "id": call }),
        )
        .await;
    assert_eq!(data(&status)["call"]["status"], "DECIDED");
    let again = w
        .app
        .graphql_as(
            Some(&manager.access),
            "mutation($id: ID!) { markCallDecided(callId: $id) { status } }",
            json!({ "id": call }),
        )
        .await;
    assert_eq!(error_code(&again), Some("INVALID_STATE"));
}

/// Approvals race for the last of a call's budget from two instances on one database: exactly as
/// many succeed as the budget allows, and the committed total never passes it.
#[tokio::test]
async fn concurrent_approvals_never_exceed_the_call_budget() {
    let w = world(1).await;
    // 250,000 left for awards of 100,000: two fit.
    let call = call(&w, "250000", 1, false).await;
    let mut applications = Vec::new();
    for _ in 0..6 {
        let id = submitted(&w, &w.applicant, &call, &w.ngo, "100000", None).await;
        data(&assign(&w, &id, &w.reviewers[0]).await);
        applications.push(id);
    }
    close(&w, &call).await;
    let second = TestApp::spawn_on(w.app.db.shared(), |_| {}).await;
    second.clock.set(w.app.clock.now());
    let requests = applications.iter().enumerate().map(|(i, id)| {
        let app = if i % 2 == 0 { &w.app } else { &second };
        app.graphql_as(
            Some(&w.manager.access),
            DECIDE,
            json!({ "id": id, "input": { "outcome": "APPROVE", "amount": { "amount": "100000", "currency": "CNY" }, "rationale": "Good" } }),
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let approved = responses
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    let refused = responses
        .iter()
        .filter(|r| error_code(r) == Some("INVALID_STATE"))
        .count();
    assert_eq!((approved, refused), (2, 4), "{responses:#?}");

    let db = w.app.db.connect().await;
    use sea_orm::EntityTrait;
    let calls = entity::call::Entity::find().all(&db).await.unwrap();
    assert_eq!(calls[0].committed_minor, 20_000_000);
    let grants = entity::grant::Entity::find().all(&db).await.unwrap();
    assert_eq!(grants.len(), 2);
    let fund = entity::fund::Entity::find().all(&db).await.unwrap();
    assert_eq!(fund[0].committed_minor, 20_000_000);
    // The refused applications are still under review, untouched.
    let statuses: Vec<String> = entity::application::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| *s == "UNDER_REVIEW").count(), 4);
}

async fn desk_reject(w: &World, who: &Session, id: &str, input: Value, key: Option<&str>) -> Value {
    w.app
        .graphql_as(
            Some(&who.access),
            DESK_REJECT,
            json!({ "id": id, "input": input, "k": key }),
        )
        .await
}

/// The text bodies of the decision letters sent to `to` about `reference`.
fn letters(w: &World, to: &str, reference: &str) -> Vec<String> {
    w.app
        .sent_mail()
        .into_iter()
        .filter(|m| m.to == to && m.subject == format!("Decision on your application {reference}"))
        .map(|m| {
            let parsed = mail_parser::MessageParser::default()
                .parse(m.raw.as_bytes())
                .expect("parsable email");
            parsed.body_text(0).expect("text body").into_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_submitted_application_is_rejected_at_the_desk_and_the_call_is_then_decided() {
    let w = world(1).await;
    let call = call(&w, "2000000", 1, false).await;
    let duplicate = submitted(&w, &w.applicant, &call, &w.ngo, "300000", None).await;
    let reviewed = submitted(&w, &w.applicant, &call, &w.ngo, "200000", None).await;
    let late = submitted(&w, &w.applicant, &call, &w.ngo, "100000", None).await;
    data(&assign(&w, &reviewed, &w.reviewers[0]).await);
    let input = json!({ "reason": "DUPLICATE", "rationale": "Same project as BF-2027-0002" });

    // Only the fund's managers: others who see it are refused, others still do not see it.
    let outsider = w.app.user("outsider@example.org").await;
    for (who, code) in [
        (&outsider, "NOT_FOUND"),
        (&w.reviewers[0], "NOT_FOUND"),
        (&w.applicant, "FORBIDDEN"),
    ] {
        let refused = desk_reject(&w, who, &duplicate, input.clone(), None).await;
        assert_eq!(error_code(&refused), Some(code), "{}: {refused}", who.email);
    }
    // Only a submitted application without reviewers, and never without a rationale.
    let under_review = desk_reject(&w, &w.manager, &reviewed, input.clone(), None).await;
    assert_eq!(error_code(&under_review), Some("INVALID_STATE"));
    let unexplained = desk_reject(
        &w,
        &w.manager,
        &duplicate,
        json!({ "reason": "DUPLICATE", "rationale": "  " }),
        None,
    )
    .await;
    assert_eq!(
        unexplained["errors"][0]["extensions"]["field"],
        "input.rationale"
    );

    // While the call is still open, screening as applications arrive; a retry gets the answer.
    let rejected = desk_reject(&w, &w.manager, &duplicate, input.clone(), Some("desk-1")).await;
    assert_eq!(
        data(&rejected)["deskRejectApplication"],
        json!({
            "status": "REJECTED",
            "decision": { "outcome": "REJECT", "deskRejection": "DUPLICATE", "rationale": "Same project as BF-2027-0002", "rationaleShared": true }
        })
    );
    let retried = desk_reject(&w, &w.manager, &duplicate, input.clone(), Some("desk-1")).await;
    assert_eq!(retried["data"], rejected["data"]);
    assert_eq!(
        rejected.get("extensions"),
        None,
        "the first answer is no replay"
    );
    assert_eq!(retried["extensions"], json!({ "idempotentReplay": true }));
    assert_eq!(call_status(&w, &call).await, "OPEN");
    let read = w.app.graphql_as(Some(&w.applicant.access), "query($id: ID!) { application(id: $id) { status decision { outcome deskRejection rationale decidedBy { id } } reviewAssignments { id } } }", json!({ "id": duplicate })).await;
    assert_eq!(
        data(&read)["application"],
        json!({
            "status": "REJECTED",
            "decision": { "outcome": "REJECT", "deskRejection": "DUPLICATE", "rationale": "Same project as BF-2027-0002", "decidedBy": null },
            "reviewAssignments": null
        })
    );
    let db = w.app.db.connect().await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let audited = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("application.desk_reject"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1, "the retry changed nothing");
    let (before, after) = (
        audited[0].before_state.clone().unwrap(),
        audited[0].after_state.clone().unwrap(),
    );
    assert_eq!(before["status"], "SUBMITTED");
    assert_eq!(
        (&after["status"], &after["deskRejection"]),
        (&json!("REJECTED"), &json!("DUPLICATE"))
    );

    // After the close: the reviewed one is decided, and the last undecided one, rejected at the
    // desk without sharing the rationale, makes the call decided.
    close(&w, &call).await;
    data(
        &w.app
            .graphql_as(
                Some(&w.manager.access),
                DECIDE,
                json!({ "id": reviewed, "input": { "outcome": "REJECT", "rationale": "Weak plan" } }),
            )
            .await,
    );
    assert_eq!(call_status(&w, &call).await, "CLOSED", "one still waits");
    let last = desk_reject(
        &w,
        &w.manager,
        &late,
        json!({ "reason": "OUT_OF_SCOPE", "rationale": "Not about water", "shareRationale": false }),
        None,
    )
    .await;
    assert_eq!(data(&last)["deskRejectApplication"]["status"], "REJECTED");
    assert_eq!(call_status(&w, &call).await, "DECIDED");
    let again = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "mutation($id: ID!) { markCallDecided(callId: $id) { status } }",
            json!({ "id": call }),
        )
        .await;
    assert_eq!(error_code(&again), Some("INVALID_STATE"), "already decided");
    let read = w.app.graphql_as(Some(&w.applicant.access), "query($id: ID!) { application(id: $id) { decision { deskRejection rationale rationaleShared } } }", json!({ "id": late })).await;
    assert_eq!(
        data(&read)["application"]["decision"],
        json!({ "deskRejection": "OUT_OF_SCOPE", "rationale": null, "rationaleShared": false })
    );

    // Each rejection at the desk sends the decision letter, once.
    w.app.deliver_mail().await;
    let first = letters(&w, "applicant@example.org", "BF-2027-0001");
    assert_eq!(first.len(), 1);
    assert!(
        first[0].contains("Same project as BF-2027-0002"),
        "{}",
        first[0]
    );
    let last = letters(&w, "applicant@example.org", "BF-2027-0003");
    assert_eq!(last.len(), 1);
    assert!(!last[0].contains("Not about water"), "{}", last[0]);
}

#[tokio::test]
async fn applications_are_decided_only_once_the_call_has_closed() {
    let w = world(1).await;
    let call = call(&w, "2000000", 1, false).await;
    let application = submitted(&w, &w.applicant, &call, &w.ngo, "300000", None).await;
    data(&assign(&w, &application, &w.reviewers[0]).await);
    let approve = json!({ "id": application, "input": { "outcome": "APPROVE", "amount": { "amount": "250000", "currency": "CNY" }, "rationale": "Good" } });
    let early = w
        .app
        .graphql_as(Some(&w.manager.access), DECIDE, approve.clone())
        .await;
    assert_eq!(error_code(&early), Some("INVALID_STATE"), "{early}");
    let read = w
        .app
        .graphql_as(
            Some(&w.manager.access),
            "query($id: ID!) { application(id: $id) { status decision { outcome } grant { id } } }",
            json!({ "id": application }),
        )
        .await;
    assert_eq!(
        data(&read)["application"],
        json!({ "status": "UNDER_REVIEW", "decision": null, "grant": null }),
        "nothing changed"
    );

    close(&w, &call).await;
    let decided = w
        .app
        .graphql_as(Some(&w.manager.access), DECIDE, approve)
        .await;
    assert_eq!(data(&decided)["decideApplication"]["status"], "APPROVED");
}

#[tokio::test]
async fn an_award_stays_within_the_calls_minimum_and_maximum() {
    let w = world(1).await;
    // Awards from 10,000 to 500,000.
    let call = call(&w, "2000000", 1, false).await;
    let application = submitted(&w, &w.applicant, &call, &w.ngo, "400000", None).await;
    data(&assign(&w, &application, &w.reviewers[0]).await);
    // As an application submitted before requests were held to the call's bounds: 600,000.
    let db = w.app.db.connect().await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::application::Entity::update_many()
        .col_expr(
            entity::application::Column::RequestedMinor,
            sea_orm::sea_query::Expr::value(60_000_000_i64),
        )
        .filter(entity::application::Column::Id.eq(uuid::Uuid::parse_str(&application).unwrap()))
        .exec(&db)
        .await
        .unwrap();
    close(&w, &call).await;
    let approve = |amount: &str| {
        w.app.graphql_as(
            Some(&w.manager.access),
            DECIDE,
            json!({ "id": application, "input": { "outcome": "APPROVE", "amount": { "amount": amount, "currency": "CNY" }, "rationale": "Good" } }),
        )
    };
    for amount in ["500000.01", "600000", "9999.99"] {
        let refused = approve(amount).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{amount}");
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], "input.amount",
            "{amount}"
        );
    }
    let approved = approve("500000").await;
    assert_eq!(
        data(&approved)["decideApplication"]["grant"]["amount"]["amount"],
        "500000.00"
    );
}
