//! The world the schema walks act on: one fund with its calls, applications, an award, tranches,
//! documents, registrations, invitations and mail, built over HTTP as its users would; and the
//! schema as introspection tells it. The isolation walk and the fuzzer share both.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::{Session, TestApp, data, start_time};

pub fn at(days: i64) -> String {
    (start_time() + chrono::Duration::days(days)).to_rfc3339()
}

pub fn day(days: i64) -> String {
    (start_time() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

pub const CURRENCY: &str = "CNY";

/// What an id names. The walk fills every id argument with one of these, by the argument's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Fund,
    Call,
    Application,
    Organization,
    PartnerOrganization,
    User,
    Reviewer,
    Manager,
    Assignment,
    Document,
    Grant,
    Disbursement,
    Registration,
    EmailMessage,
    Invitation,
}

/// Nouns an id's name ends with, and what they name. An argument `id` takes the noun from the
/// end of its field's name (`submitApplication(id)` → application); others from their own name
/// (`grantId`, `partnerOrganizationIds`).
pub const NOUNS: [(&str, Kind); 15] = [
    ("application", Kind::Application),
    ("call", Kind::Call),
    ("fund", Kind::Fund),
    ("organization", Kind::Organization),
    ("reviewer", Kind::Reviewer),
    ("manager", Kind::Manager),
    ("user", Kind::User),
    ("assignment", Kind::Assignment),
    ("document", Kind::Document),
    ("grant", Kind::Grant),
    ("disbursement", Kind::Disbursement),
    ("tranche", Kind::Disbursement),
    ("registration", Kind::Registration),
    ("email", Kind::EmailMessage),
    ("invitation", Kind::Invitation),
];

/// What an id argument or input field names; `owner` is the root field or the input type it
/// belongs to. `None` fails the walk: a new name needs a decision here.
pub fn kind_of(owner: &str, name: &str) -> Option<Kind> {
    match (owner, name) {
        // The organisation that answers a partnership is the partner, not the applicant.
        ("respondToPartnership", "organizationId") | ("PartnerInput", "organizationId") => {
            return Some(Kind::PartnerOrganization);
        }
        _ => {}
    }
    let noun = if name == "id" {
        owner
    } else {
        name.strip_suffix("Ids")
            .or_else(|| name.strip_suffix("Id"))?
    };
    let noun = noun.to_lowercase();
    NOUNS
        .iter()
        .find(|(suffix, _)| noun.ends_with(suffix))
        .map(|(_, kind)| *kind)
}

// ---------------------------------------------------------------------------------------------
// The schema, as introspection tells it.

#[derive(Debug, Clone)]
pub enum Ty {
    NonNull(Box<Ty>),
    List(Box<Ty>),
    Named(String),
}

impl Ty {
    pub fn parse(value: &Value) -> Ty {
        match value["kind"].as_str() {
            Some("NON_NULL") => Ty::NonNull(Box::new(Ty::parse(&value["ofType"]))),
            Some("LIST") => Ty::List(Box::new(Ty::parse(&value["ofType"]))),
            _ => Ty::Named(value["name"].as_str().expect("a named type").to_owned()),
        }
    }

    pub fn named(&self) -> &str {
        match self {
            Ty::NonNull(inner) | Ty::List(inner) => inner.named(),
            Ty::Named(name) => name,
        }
    }

    pub fn required(&self) -> bool {
        matches!(self, Ty::NonNull(_))
    }

    pub fn render(&self) -> String {
        match self {
            Ty::NonNull(inner) => format!("{}!", inner.render()),
            Ty::List(inner) => format!("[{}]", inner.render()),
            Ty::Named(name) => name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Arg {
    pub name: String,
    pub ty: Ty,
    pub has_default: bool,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub args: Vec<Arg>,
    pub ty: Ty,
}

pub struct Schema {
    pub types: HashMap<String, Value>,
    pub query: Vec<Field>,
    pub mutation: Vec<Field>,
}

pub const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } }";

pub async fn introspect(app: &TestApp, viewer: &Session) -> Schema {
    let query = format!(
        "query {{ __schema {{ queryType {{ name }} mutationType {{ name }} types {{ kind name \
         fields {{ name args {{ name defaultValue type {{ ...T }} }} type {{ ...T }} }} \
         inputFields {{ name defaultValue type {{ ...T }} }} enumValues {{ name }} }} }} }} {TYPE_REF}"
    );
    let response = app
        .graphql_as(Some(&viewer.access), &query, json!({}))
        .await;
    let schema = &data(&response)["__schema"];
    let types: HashMap<String, Value> = schema["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
        .collect();
    let fields_of = |root: &Value| -> Vec<Field> {
        let name = root["name"].as_str().expect("root type");
        types[name]["fields"]
            .as_array()
            .expect("root fields")
            .iter()
            .map(|f| Field {
                name: f["name"].as_str().unwrap().to_owned(),
                args: f["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| Arg {
                        name: a["name"].as_str().unwrap().to_owned(),
                        ty: Ty::parse(&a["type"]),
                        has_default: !a["defaultValue"].is_null(),
                    })
                    .collect(),
                ty: Ty::parse(&f["type"]),
            })
            .collect()
    };
    Schema {
        query: fields_of(&schema["queryType"]),
        mutation: fields_of(&schema["mutationType"]),
        types,
    }
}

impl Schema {
    pub fn kind_of_type(&self, name: &str) -> &str {
        self.types[name]["kind"].as_str().unwrap_or("")
    }
}

pub async fn as_(app: &TestApp, who: &Session, query: &str, variables: Value) -> Value {
    let response = app.graphql_as(Some(&who.access), query, variables).await;
    data(&response).clone()
}

pub fn id_in(value: &Value) -> String {
    value.as_str().expect("an id").to_owned()
}

pub const CREATE_CALL: &str =
    "mutation($f: ID!, $input: CallInput!) { createCall(fundId: $f, input: $input) { id } }";
pub const CREATE_ORG: &str =
    "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id } }";
pub const CREATE_APPLICATION: &str = "mutation($call: ID!, $org: ID!, $input: ApplicationInput!) { createApplication(callId: $call, organizationId: $org, input: $input) { id reference } }";
pub const ASSIGN: &str = "mutation($a: ID!, $r: ID!, $due: DateTime!) { assignReviewer(applicationId: $a, reviewerId: $r, dueAt: $due) { id } }";

pub fn call_input(title: &str, closes_in_days: i64) -> Value {
    json!({
        "titleEn": title, "opensAt": at(0), "closesAt": at(closes_in_days),
        "budget": { "amount": "2000000", "currency": CURRENCY },
        "minAward": { "amount": "10000", "currency": CURRENCY },
        "maxAward": { "amount": "500000", "currency": CURRENCY },
        "hostCountries": ["KE", "TZ"], "sdgGoals": [6], "reviewersPerApplication": 1,
        "rubric": [{ "key": "relevance", "nameEn": "Relevance", "weight": 1, "maxScore": 10 }]
    })
}

pub fn application_input(title: &str, requested: &str, partner: Option<&str>) -> Value {
    let partners: Vec<Value> = partner
        .iter()
        .map(|p| json!({ "organizationId": p, "budgetShare": { "amount": "1000", "currency": CURRENCY } }))
        .collect();
    json!({
        "titleEn": title, "summaryEn": "Ten wells in the driest wards",
        "hostCountries": ["KE"], "sdgGoals": [6],
        "requestedAmount": { "amount": requested, "currency": CURRENCY },
        "durationMonths": 12, "plannedStart": day(90), "partners": partners,
        "budgetLines": [{ "category": "Drilling", "amount": { "amount": requested, "currency": CURRENCY } }]
    })
}

pub fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec()
}

/// Sends a GraphQL multipart request with a PDF for each of `uploads` (variable paths).
pub async fn multipart(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: &Value,
    uploads: &[String],
) -> Value {
    let operations = json!({ "query": query, "variables": variables });
    let map: BTreeMap<String, Vec<String>> = uploads
        .iter()
        .enumerate()
        .map(|(i, path)| (i.to_string(), vec![format!("variables.{path}")]))
        .collect();
    let mut form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", serde_json::to_string(&map).unwrap());
    for i in 0..uploads.len() {
        form = form.part(
            i.to_string(),
            reqwest::multipart::Part::bytes(pdf())
                .file_name("evidence.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    }
    app.http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request reaches the server")
        .json()
        .await
        .expect("JSON response")
}

/// An admin; a CNY fund with two managers and a reviewer in its pool; an applicant NGO with an
/// owner and a partner NGO; an open call with a rubric and an application in it (submitted with
/// a document, under review, reviewed); a second call whose application became a grant with
/// tranches; a draft call; an invitation, a host-country registration and mail in the outbox.
/// Everything the world holds, by name.
pub struct SharedWorld {
    pub app: TestApp,
    pub fund: String,
    pub call: String,
    pub grant_call: String,
    pub draft_call: String,
    pub application: String,
    pub reference: String,
    pub funded: String,
    pub funded_reference: String,
    pub org: String,
    pub partner: String,
    pub owner: Session,
    pub partner_owner: Session,
    pub reviewer: Session,
    pub manager: Session,
    pub second_manager: Session,
    pub admin: Session,
    pub assignment: String,
    pub document: String,
    pub grant: String,
    pub grant_reference: String,
    pub disbursements: Vec<String>,
    pub registration: String,
    pub email: String,
    pub invitation: String,
}

pub async fn shared_world() -> SharedWorld {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let manager = app.user("first.manager@example.org").await;
    let second_manager = app.user("second.manager@example.org").await;
    let fund = as_(&app, &admin, "mutation($input: FundInput!) { createFund(input: $input) { id } }",
        json!({ "input": { "nameEn": "South-South Water Fund", "budget": { "amount": "50000000", "currency": CURRENCY }, "managerIds": [manager.id, second_manager.id] } })).await;
    let fund = id_in(&fund["createFund"]["id"]);
    let reviewer = app.user("reviewer@example.org").await;
    as_(
        &app,
        &manager,
        "mutation($f: ID!, $u: ID!) { addReviewerToPool(fundId: $f, userId: $u) { id } }",
        json!({ "f": fund, "u": reviewer.id }),
    )
    .await;

    let mut calls = Vec::new();
    // The second call closes after two days, so that its application can be decided.
    for (title, closes_in_days) in [
        ("Clean water", 30),
        ("Safe sanitation", 2),
        ("Draft: boreholes", 30),
    ] {
        let created = as_(
            &app,
            &manager,
            CREATE_CALL,
            json!({ "f": fund, "input": call_input(title, closes_in_days) }),
        )
        .await;
        calls.push(id_in(&created["createCall"]["id"]));
    }
    let (call, grant_call, draft_call) = (calls[0].clone(), calls[1].clone(), calls[2].clone());
    for id in [&call, &grant_call] {
        as_(
            &app,
            &manager,
            "mutation($id: ID!) { openCall(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    }

    let owner = app.user("owner@example.org").await;
    let org = as_(&app, &owner, CREATE_ORG, json!({ "input": { "nameEn": "Maji Safi Collective", "organizationType": 22, "country": "KE", "registryIdentifier": "KE-NCB-7001" } })).await;
    let org = id_in(&org["createOrganization"]["id"]);
    let partner_owner = app.user("partner@example.org").await;
    let partner = as_(&app, &partner_owner, CREATE_ORG, json!({ "input": { "nameEn": "Daraja Partners Trust", "organizationType": 22, "country": "KE", "registryIdentifier": "KE-NCB-7002" } })).await;
    let partner = id_in(&partner["createOrganization"]["id"]);

    // The application under review: a partner that accepted, a document, a submitted review.
    let created = as_(
        &app,
        &owner,
        CREATE_APPLICATION,
        json!({ "call": call, "org": org, "input": application_input("Wells for Kitui", "300000", Some(&partner)) }),
    )
    .await;
    let application = id_in(&created["createApplication"]["id"]);
    let reference = id_in(&created["createApplication"]["reference"]);
    as_(&app, &partner_owner, "mutation($id: ID!, $org: ID!) { respondToPartnership(applicationId: $id, organizationId: $org, accept: true) { id } }",
        json!({ "id": application, "org": partner })).await;
    let uploaded = multipart(
        &app,
        &owner.access,
        "mutation($id: ID!, $file: Upload!) { uploadDocument(applicationId: $id, kind: \"budget_plan\", file: $file) { id } }",
        &json!({ "id": application, "file": null }),
        &["file".to_owned()],
    )
    .await;
    let document = id_in(&data(&uploaded)["uploadDocument"]["id"]);
    as_(
        &app,
        &owner,
        "mutation($id: ID!) { submitApplication(id: $id) { status } }",
        json!({ "id": application }),
    )
    .await;
    let assigned = as_(
        &app,
        &manager,
        ASSIGN,
        json!({ "a": application, "r": reviewer.id, "due": at(40) }),
    )
    .await;
    let assignment = id_in(&assigned["assignReviewer"]["id"]);
    as_(&app, &reviewer, "mutation($id: ID!, $input: ReviewInput!) { submitReview(assignmentId: $id, input: $input) { status } }",
        json!({ "id": assignment, "input": { "scores": [{ "key": "relevance", "score": 8, "justification": "Serves the driest wards" }], "recommendation": "FUND", "comment": "Solid plan from the field" } })).await;

    // The second call's application becomes a grant with two tranches, the first approved.
    let created = as_(
        &app,
        &owner,
        CREATE_APPLICATION,
        json!({ "call": grant_call, "org": org, "input": application_input("Latrines for Garissa", "200000", None) }),
    )
    .await;
    let funded = id_in(&created["createApplication"]["id"]);
    let funded_reference = id_in(&created["createApplication"]["reference"]);
    as_(
        &app,
        &owner,
        "mutation($id: ID!) { submitApplication(id: $id) { status } }",
        json!({ "id": funded }),
    )
    .await;
    as_(
        &app,
        &manager,
        ASSIGN,
        json!({ "a": funded, "r": reviewer.id, "due": at(40) }),
    )
    .await;
    // Access tokens do not outlive three days: everyone signs in again.
    app.clock.advance(chrono::Duration::days(3));
    let manager = app.session(&manager.email, super::PASSWORD).await;
    let second_manager = app.session(&second_manager.email, super::PASSWORD).await;
    let owner = app.session(&owner.email, super::PASSWORD).await;
    let admin = app.session(&admin.email, super::PASSWORD).await;
    as_(
        &app,
        &manager,
        "mutation($id: ID!) { closeCall(id: $id) { status } }",
        json!({ "id": grant_call }),
    )
    .await;
    let decided = as_(&app, &manager, "mutation($id: ID!, $input: DecisionInput!) { decideApplication(applicationId: $id, input: $input) { grant { id reference } } }",
        json!({ "id": funded, "input": { "outcome": "APPROVE", "amount": { "amount": "200000", "currency": CURRENCY }, "rationale": "Strong plan" } })).await;
    let grant = id_in(&decided["decideApplication"]["grant"]["id"]);
    let grant_reference = id_in(&decided["decideApplication"]["grant"]["reference"]);
    as_(&app, &manager, "mutation($g: ID!, $t: [TrancheInput!]!) { planTranches(grantId: $g, tranches: $t) { __typename } }",
        json!({ "g": grant, "t": [
            { "amount": { "amount": "150000", "currency": CURRENCY }, "dueOn": day(30) },
            { "amount": { "amount": "50000", "currency": CURRENCY }, "dueOn": day(90) }
        ] })).await;
    let planned = as_(
        &app,
        &manager,
        "query($g: ID!) { grant(id: $g) { disbursements { id } } }",
        json!({ "g": grant }),
    )
    .await;
    let disbursements: Vec<String> = planned["grant"]["disbursements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| id_in(&d["id"]))
        .collect();
    as_(&app, &second_manager, "mutation($id: ID!, $rate: QuotedRateInput) { approveDisbursement(disbursementId: $id, expectedRate: $rate) { status } }",
        json!({ "id": disbursements[0], "rate": { "rate": "0.14", "source": "PBOC reference rate", "on": day(0) } })).await;

    let invited = as_(&app, &owner, "mutation($org: ID!, $email: String!) { inviteMember(organizationId: $org, email: $email) { id } }",
        json!({ "org": org, "email": "invitee@example.org" })).await;
    let invitation = id_in(&invited["inviteMember"]["id"]);
    let registered = as_(&app, &owner, "mutation($org: ID!, $input: HostCountryRegistrationInput!) { addHostCountryRegistration(organizationId: $org, input: $input) { id } }",
        json!({ "org": org, "input": { "country": "TZ", "agency": "Tanzania NGO Registrar", "number": "OONGO/R/7777", "validUntil": "2029-12-31" } })).await;
    let registration = id_in(&registered["addHostCountryRegistration"]["id"]);
    let outbox = as_(
        &app,
        &admin,
        "{ emailOutbox(first: 100) { edges { node { id recipient } } } }",
        json!({}),
    )
    .await;
    let email = outbox["emailOutbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["recipient"] == "owner@example.org")
        .map(|e| id_in(&e["node"]["id"]))
        .expect("mail to the applicant in the outbox");

    SharedWorld {
        app,
        fund,
        call,
        grant_call,
        draft_call,
        application,
        reference,
        funded,
        funded_reference,
        org,
        partner,
        owner,
        partner_owner,
        reviewer,
        manager,
        second_manager,
        admin,
        assignment,
        document,
        grant,
        grant_reference,
        disbursements,
        registration,
        email,
        invitation,
    }
}
