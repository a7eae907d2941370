//! Isolation: someone who belongs to nothing learns nothing. The walk reads the schema by
//! introspection over HTTP and calls every root field that takes an id, as an outsider, with the
//! ids of a real world and with random ones. Whatever the viewer may not see answers `NOT_FOUND`,
//! the same for a real id as for a made-up one; `FORBIDDEN` only where every id names something
//! public (a fund, an open call) or the field is for admins. A field added later is walked
//! without anyone remembering to: a new kind of id, scalar or upload makes the walk fail until
//! it is taught what to send.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::{Session, TestApp, data, start_time};
use serde_json::{Value, json};

fn at(days: i64) -> String {
    (start_time() + chrono::Duration::days(days)).to_rfc3339()
}

fn day(days: i64) -> String {
    (start_time() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

const CURRENCY: &str = "CNY";

/// What an id names. The walk fills every id argument with one of these, by the argument's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
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

/// The kinds of object anyone may know of: funds, and calls once open.
fn public(kind: Kind, call_is_open: bool) -> bool {
    match kind {
        Kind::Fund => true,
        Kind::Call => call_is_open,
        _ => false,
    }
}

/// Root fields that answer data to anyone by design: they must still not show anything private.
const PUBLIC_READS: [&str; 4] = ["fund", "funds", "call", "calls"];

/// Root fields for admins only: anyone else gets `FORBIDDEN`, before any id is looked at.
const ADMIN_ONLY: [&str; 10] = [
    "grantRole",
    "revokeRole",
    "createFund",
    "updateFund",
    "addFundManager",
    "removeFundManager",
    "sendTestEmail",
    "retryEmail",
    "emailOutbox",
    "organizations",
];

/// Nouns an id's name ends with, and what they name. An argument `id` takes the noun from the
/// end of its field's name (`submitApplication(id)` → application); others from their own name
/// (`grantId`, `partnerOrganizationIds`).
const NOUNS: [(&str, Kind); 15] = [
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
fn kind_of(owner: &str, name: &str) -> Option<Kind> {
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
enum Ty {
    NonNull(Box<Ty>),
    List(Box<Ty>),
    Named(String),
}

impl Ty {
    fn parse(value: &Value) -> Ty {
        match value["kind"].as_str() {
            Some("NON_NULL") => Ty::NonNull(Box::new(Ty::parse(&value["ofType"]))),
            Some("LIST") => Ty::List(Box::new(Ty::parse(&value["ofType"]))),
            _ => Ty::Named(value["name"].as_str().expect("a named type").to_owned()),
        }
    }

    fn named(&self) -> &str {
        match self {
            Ty::NonNull(inner) | Ty::List(inner) => inner.named(),
            Ty::Named(name) => name,
        }
    }

    fn required(&self) -> bool {
        matches!(self, Ty::NonNull(_))
    }

    fn render(&self) -> String {
        match self {
            Ty::NonNull(inner) => format!("{}!", inner.render()),
            Ty::List(inner) => format!("[{}]", inner.render()),
            Ty::Named(name) => name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct Arg {
    name: String,
    ty: Ty,
    has_default: bool,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    args: Vec<Arg>,
    ty: Ty,
}

struct Schema {
    types: HashMap<String, Value>,
    query: Vec<Field>,
    mutation: Vec<Field>,
}

const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } }";

async fn introspect(app: &TestApp, viewer: &Session) -> Schema {
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
    fn kind_of_type(&self, name: &str) -> &str {
        self.types[name]["kind"].as_str().unwrap_or("")
    }

    /// Whether a value of this type can carry an id, directly or inside an input object.
    fn carries_id(&self, ty: &Ty, seen: &mut HashSet<String>) -> bool {
        let name = ty.named();
        if name == "ID" {
            return true;
        }
        if self.kind_of_type(name) != "INPUT_OBJECT" || !seen.insert(name.to_owned()) {
            return false;
        }
        self.types[name]["inputFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| self.carries_id(&Ty::parse(&f["type"]), seen))
    }

    /// A selection of the type's fields without required arguments, `depth` objects deep.
    fn selection(&self, ty: &Ty, depth: usize) -> String {
        let name = ty.named();
        match self.kind_of_type(name) {
            "OBJECT" => {}
            "INTERFACE" | "UNION" => return "{ __typename }".into(),
            _ => return String::new(),
        }
        let mut parts = vec!["__typename".to_owned()];
        for field in self.types[name]["fields"].as_array().unwrap() {
            let takes_required = field["args"].as_array().unwrap().iter().any(|a| {
                a["defaultValue"].is_null() && a["type"]["kind"].as_str() == Some("NON_NULL")
            });
            if takes_required {
                continue;
            }
            let field_name = field["name"].as_str().unwrap();
            let field_ty = Ty::parse(&field["type"]);
            match self.kind_of_type(field_ty.named()) {
                "SCALAR" | "ENUM" => parts.push(field_name.to_owned()),
                _ if depth > 1 => {
                    let inner = self.selection(&field_ty, depth - 1);
                    if !inner.is_empty() {
                        parts.push(format!("{field_name} {inner}"));
                    }
                }
                _ => {}
            }
        }
        format!("{{ {} }}", parts.join(" "))
    }
}

// ---------------------------------------------------------------------------------------------
// Values for arguments, generated from their types.

/// Which object each id kind names in one request.
#[derive(Clone, Copy)]
enum Ids {
    /// The world's objects.
    Real,
    /// Random UUIDs for everything.
    Random,
    /// The world's public objects, random UUIDs for the rest: what changes between this and
    /// `Real` is exactly what the viewer may not see, so the answers must be the same.
    PrivateRandom,
}

struct Filler<'a> {
    schema: &'a Schema,
    world: &'a HashMap<Kind, String>,
    ids: Ids,
    call_is_open: bool,
    /// The kinds of id the request carries.
    kinds: Vec<Kind>,
    /// What the walk does not know how to fill.
    unknown: Vec<String>,
    /// Variable paths that carry an upload.
    uploads: Vec<String>,
}

impl Filler<'_> {
    fn id(&mut self, owner: &str, name: &str) -> Value {
        let Some(kind) = kind_of(owner, name) else {
            self.unknown.push(format!(
                "`{owner}.{name}` is an id of a kind the isolation walk does not know: map its name in `kind_of`"
            ));
            return Value::Null;
        };
        self.kinds.push(kind);
        let real = match self.ids {
            Ids::Real => true,
            Ids::Random => false,
            Ids::PrivateRandom => public(kind, self.call_is_open),
        };
        if real {
            json!(self.world[&kind])
        } else {
            json!(uuid::Uuid::new_v4().to_string())
        }
    }

    fn value(&mut self, owner: &str, name: &str, ty: &Ty, path: &str) -> Value {
        match ty {
            Ty::NonNull(inner) => self.value(owner, name, inner, path),
            Ty::List(inner) => json!([self.value(owner, name, inner, &format!("{path}.0"))]),
            Ty::Named(type_name) => self.named(owner, name, type_name, path),
        }
    }

    fn named(&mut self, owner: &str, name: &str, type_name: &str, path: &str) -> Value {
        let lower = name.to_lowercase();
        let later = ["closes", "ends", "until", "before"]
            .iter()
            .any(|w| lower.contains(w));
        match type_name {
            "ID" => self.id(owner, name),
            "String" => json!(string_for(name)),
            "Int" => json!(int_for(name)),
            "Float" => json!(1.0),
            "Boolean" => json!(true),
            "DateTime" => json!(if later { at(60) } else { at(40) }),
            "NaiveDate" => json!(if later { day(400) } else { day(40) }),
            "JSON" => json!({}),
            "Upload" => {
                self.uploads.push(path.to_owned());
                Value::Null
            }
            "MoneyInput" => json!({ "amount": "1.00", "currency": CURRENCY }),
            _ => match self.schema.kind_of_type(type_name) {
                "ENUM" => self.schema.types[type_name]["enumValues"][0]["name"].clone(),
                "INPUT_OBJECT" => {
                    let mut object = serde_json::Map::new();
                    for field in self.schema.types[type_name]["inputFields"]
                        .as_array()
                        .unwrap()
                        .clone()
                    {
                        let field_name = field["name"].as_str().unwrap();
                        let field_ty = Ty::parse(&field["type"]);
                        let needed = field_ty.required() && field["defaultValue"].is_null();
                        // Ids are filled even where optional (filters): they are what is walked.
                        if needed || self.schema.carries_id(&field_ty, &mut HashSet::new()) {
                            let value = self.value(
                                type_name,
                                field_name,
                                &field_ty,
                                &format!("{path}.{field_name}"),
                            );
                            object.insert(field_name.to_owned(), value);
                        }
                    }
                    Value::Object(object)
                }
                other => {
                    self.unknown.push(format!(
                        "`{owner}.{name}` is of type {type_name} ({other}), which the isolation walk cannot generate"
                    ));
                    Value::Null
                }
            },
        }
    }
}

/// A plausible value for a string argument or input field, by its name.
fn string_for(name: &str) -> String {
    let lower = name.to_lowercase();
    let value = if lower.contains("country") {
        "KE"
    } else if lower.contains("currency") {
        CURRENCY
    } else if lower.contains("locale") {
        "en"
    } else if lower.contains("email") || lower == "to" {
        "someone@example.org"
    } else if lower.contains("password") {
        "another correct horse battery staple"
    } else if lower.starts_with("rate") {
        "0.14"
    } else if lower.contains("registry") {
        "KE-NCB-9999"
    } else if lower.contains("swift") {
        "KCBLKENA"
    } else if lower.contains("website") {
        "https://example.org"
    } else if lower == "kind" || lower.contains("documentkind") {
        "budget_plan"
    } else if lower == "key" {
        "relevance"
    } else if lower.contains("account") {
        "0123456789"
    } else {
        "Isolation probe"
    };
    value.to_owned()
}

fn int_for(name: &str) -> i64 {
    match name {
        "organizationType" => 22,
        "sdgGoal" | "sdgGoals" => 6,
        "durationMonths" => 12,
        "maxScore" => 10,
        "moderationThreshold" => 20,
        "first" => 10,
        _ => 1,
    }
}

// ---------------------------------------------------------------------------------------------
// The world the outsider probes.

struct World {
    app: TestApp,
    /// The object each kind of id names.
    ids: HashMap<Kind, String>,
    /// A draft call: unlike an open one, nobody outside the fund may know of it.
    draft_call: String,
    /// Ids and names no outsider may read.
    secrets: Vec<String>,
}

async fn as_(app: &TestApp, who: &Session, query: &str, variables: Value) -> Value {
    let response = app.graphql_as(Some(&who.access), query, variables).await;
    data(&response).clone()
}

fn id_in(value: &Value) -> String {
    value.as_str().expect("an id").to_owned()
}

const CREATE_CALL: &str =
    "mutation($f: ID!, $input: CallInput!) { createCall(fundId: $f, input: $input) { id } }";
const CREATE_ORG: &str =
    "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id } }";
const CREATE_APPLICATION: &str = "mutation($call: ID!, $org: ID!, $input: ApplicationInput!) { createApplication(callId: $call, organizationId: $org, input: $input) { id reference } }";
const ASSIGN: &str = "mutation($a: ID!, $r: ID!, $due: DateTime!) { assignReviewer(applicationId: $a, reviewerId: $r, dueAt: $due) { id } }";

fn call_input(title: &str, closes_in_days: i64) -> Value {
    json!({
        "titleEn": title, "opensAt": at(0), "closesAt": at(closes_in_days),
        "budget": { "amount": "2000000", "currency": CURRENCY },
        "minAward": { "amount": "10000", "currency": CURRENCY },
        "maxAward": { "amount": "500000", "currency": CURRENCY },
        "hostCountries": ["KE", "TZ"], "sdgGoals": [6], "reviewersPerApplication": 1,
        "rubric": [{ "key": "relevance", "nameEn": "Relevance", "weight": 1, "maxScore": 10 }]
    })
}

fn application_input(title: &str, requested: &str, partner: Option<&str>) -> Value {
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

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec()
}

/// Sends a GraphQL multipart request with a PDF for each of `uploads` (variable paths).
async fn multipart(
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
async fn world() -> World {
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
    let manager = app.session(&manager.email, common::PASSWORD).await;
    let second_manager = app.session(&second_manager.email, common::PASSWORD).await;
    let owner = app.session(&owner.email, common::PASSWORD).await;
    let admin = app.session(&admin.email, common::PASSWORD).await;
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

    let ids = HashMap::from([
        (Kind::Fund, fund),
        (Kind::Call, call),
        (Kind::Application, application.clone()),
        (Kind::Organization, org.clone()),
        (Kind::PartnerOrganization, partner.clone()),
        (Kind::User, owner.id.clone()),
        (Kind::Reviewer, reviewer.id.clone()),
        (Kind::Manager, manager.id.clone()),
        (Kind::Assignment, assignment.clone()),
        (Kind::Document, document.clone()),
        (Kind::Grant, grant.clone()),
        (Kind::Disbursement, disbursements[0].clone()),
        (Kind::Registration, registration.clone()),
        (Kind::EmailMessage, email.clone()),
        (Kind::Invitation, invitation.clone()),
    ]);
    let mut secrets = vec![
        draft_call.clone(),
        application,
        reference,
        funded,
        funded_reference,
        org,
        partner,
        owner.id,
        partner_owner.id,
        reviewer.id,
        manager.id,
        second_manager.id,
        admin.id,
        assignment,
        document,
        grant,
        grant_reference,
        registration,
        email,
        invitation,
    ];
    secrets.extend(disbursements);
    secrets.extend(
        [
            "Draft: boreholes",
            "Maji Safi",
            "KE-NCB-7001",
            "Daraja Partners",
            "KE-NCB-7002",
            "Wells for Kitui",
            "Latrines for Garissa",
            "Ten wells in the driest wards",
            "Solid plan from the field",
            "Serves the driest wards",
            "Strong plan",
            "OONGO/R/7777",
            "Tanzania NGO Registrar",
            "owner@example.org",
            "partner@example.org",
            "reviewer@example.org",
            "first.manager@example.org",
            "second.manager@example.org",
            "admin@bridgefund.test",
            "invitee@example.org",
        ]
        .map(str::to_owned),
    );
    World {
        app,
        ids,
        draft_call,
        secrets,
    }
}

// ---------------------------------------------------------------------------------------------
// The walk.

/// One operation on one root field, with its arguments generated.
struct Operation {
    document: String,
    variables: Value,
    uploads: Vec<String>,
    kinds: Vec<Kind>,
    unknown: Vec<String>,
}

fn operation(
    schema: &Schema,
    root: &str,
    field: &Field,
    world: &HashMap<Kind, String>,
    ids: Ids,
    call_is_open: bool,
) -> Operation {
    let mut filler = Filler {
        schema,
        world,
        ids,
        call_is_open,
        kinds: Vec::new(),
        unknown: Vec::new(),
        uploads: Vec::new(),
    };
    let mut declared = Vec::new();
    let mut passed = Vec::new();
    let mut variables = serde_json::Map::new();
    for arg in &field.args {
        let needed = arg.ty.required() && !arg.has_default;
        if !needed && !schema.carries_id(&arg.ty, &mut HashSet::new()) {
            continue;
        }
        let value = filler.value(&field.name, &arg.name, &arg.ty, &arg.name);
        declared.push(format!("${}: {}", arg.name, arg.ty.render()));
        passed.push(format!("{0}: ${0}", arg.name));
        variables.insert(arg.name.clone(), value);
    }
    let depth = if PUBLIC_READS.contains(&field.name.as_str()) {
        4
    } else {
        2
    };
    let selection = schema.selection(&field.ty, depth);
    let declared = if declared.is_empty() {
        String::new()
    } else {
        format!("({})", declared.join(", "))
    };
    let passed = if passed.is_empty() {
        String::new()
    } else {
        format!("({})", passed.join(", "))
    };
    Operation {
        document: format!(
            "{root} Walk{declared} {{ {}{passed} {selection} }}",
            field.name
        ),
        variables: Value::Object(variables),
        uploads: filler.uploads,
        kinds: filler.kinds,
        unknown: filler.unknown,
    }
}

async fn send(app: &TestApp, viewer: &Session, op: &Operation) -> Value {
    if op.uploads.is_empty() {
        app.graphql_as(Some(&viewer.access), &op.document, op.variables.clone())
            .await
    } else {
        multipart(
            app,
            &viewer.access,
            &op.document,
            &op.variables,
            &op.uploads,
        )
        .await
    }
}

fn code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// The answer leaves nothing of the field: `data` is null, or the field is.
fn no_data(response: &Value, field: &str) -> bool {
    response["data"].is_null() || response["data"][field].is_null()
}

/// Walks every root field that takes an id as `viewer`, who belongs to nothing in the world,
/// and returns what went wrong, one line per finding.
async fn walk(w: &World, viewer: &Session, who: &str) -> Vec<String> {
    let app = &w.app;
    let schema = introspect(app, viewer).await;
    let mut findings = Vec::new();
    let mut walked = 0;
    let roots = [("query", &schema.query), ("mutation", &schema.mutation)];
    for (root, fields) in roots {
        for field in fields.iter() {
            let name = field.name.as_str();
            let direct = field.args.iter().any(|a| a.ty.named() == "ID");
            let nested = field
                .args
                .iter()
                .any(|a| schema.carries_id(&a.ty, &mut HashSet::new()));
            if !direct && !nested && root == "mutation" {
                // Mutations without ids are what anyone may do (register, create an organisation).
                continue;
            }
            let probe = operation(&schema, root, field, &w.ids, Ids::Real, true);
            if !probe.unknown.is_empty() {
                findings.extend(probe.unknown);
                continue;
            }
            let takes_call = probe.kinds.contains(&Kind::Call);
            let mut passes = vec![(true, w.ids.clone())];
            if takes_call {
                let mut draft = w.ids.clone();
                draft.insert(Kind::Call, w.draft_call.clone());
                passes.push((false, draft));
            }
            for (call_is_open, ids) in &passes {
                walked += 1;
                let label = if *call_is_open {
                    format!("{who}: {name}")
                } else {
                    format!("{who}: {name} (draft call)")
                };
                let real = operation(&schema, root, field, ids, Ids::Real, *call_is_open);
                let random = operation(&schema, root, field, ids, Ids::Random, *call_is_open);
                let mixed = operation(&schema, root, field, ids, Ids::PrivateRandom, *call_is_open);
                let real_answer = send(app, viewer, &real).await;
                let random_answer = send(app, viewer, &random).await;
                let mixed_answer = send(app, viewer, &mixed).await;
                for (variant, answer) in [
                    ("real ids", &real_answer),
                    ("random ids", &random_answer),
                    ("public ids real, others random", &mixed_answer),
                ] {
                    let text = answer.to_string();
                    for secret in &w.secrets {
                        if text.contains(secret.as_str()) {
                            findings.push(format!(
                                "{label}: the answer with {variant} shows `{secret}`: {answer}"
                            ));
                        }
                    }
                }
                // Shown with `--nocapture`: what every field answered.
                eprintln!(
                    "{label}: real {:?}, random {:?}, mixed {:?}",
                    code(&real_answer),
                    code(&random_answer),
                    code(&mixed_answer)
                );
                let kinds: Vec<Kind> = real.kinds.clone();
                let all_public = kinds.iter().all(|k| public(*k, *call_is_open));
                let some_public = kinds.iter().any(|k| public(*k, *call_is_open));
                let show = |answer: &Value| format!("{answer}");
                if ADMIN_ONLY.contains(&name) {
                    for (variant, answer) in [("real", &real_answer), ("random", &random_answer)] {
                        if code(answer) != Some("FORBIDDEN") || !no_data(answer, name) {
                            findings.push(format!(
                                "{label}: admins only, so FORBIDDEN before any id is looked at; with {variant} ids: {}",
                                show(answer)
                            ));
                        }
                    }
                    continue;
                }
                if !direct {
                    // Ids only in a filter: a list of what the viewer may see, the same whether
                    // the filter names real objects or not.
                    if real_answer != mixed_answer {
                        findings.push(format!(
                            "{label}: filtering by real ids answers differently from random ones: {} vs {}",
                            show(&real_answer),
                            show(&mixed_answer)
                        ));
                    }
                    continue;
                }
                if PUBLIC_READS.contains(&name) && all_public {
                    if code(&random_answer) != Some("NOT_FOUND") {
                        findings.push(format!(
                            "{label}: a random id should be NOT_FOUND: {}",
                            show(&random_answer)
                        ));
                    }
                    continue;
                }
                for (variant, answer) in [
                    ("real", &real_answer),
                    ("random", &random_answer),
                    ("mixed", &mixed_answer),
                ] {
                    if !no_data(answer, name) {
                        findings.push(format!(
                            "{label}: answered data with {variant} ids: {}",
                            show(answer)
                        ));
                    }
                }
                if code(&random_answer) != Some("NOT_FOUND") {
                    findings.push(format!(
                        "{label}: random ids should be NOT_FOUND: {}",
                        show(&random_answer)
                    ));
                }
                let allowed: &[&str] = if some_public {
                    &["NOT_FOUND", "FORBIDDEN"]
                } else {
                    &["NOT_FOUND"]
                };
                if !code(&real_answer).is_some_and(|c| allowed.contains(&c)) {
                    findings.push(format!(
                        "{label}: real ids should be {}: {}",
                        allowed.join(" or "),
                        show(&real_answer)
                    ));
                }
                if !all_public && real_answer["errors"] != mixed_answer["errors"] {
                    findings.push(format!(
                        "{label}: real ids are told apart from random ones: {} vs {}",
                        show(&real_answer["errors"]),
                        show(&mixed_answer["errors"])
                    ));
                }
            }
        }
    }
    assert!(
        walked > 40,
        "the walk found only {walked} operations: is introspection answering?"
    );
    findings
}

#[tokio::test]
async fn an_outsider_learns_nothing_from_any_root_field_that_takes_an_id() {
    let w = world().await;
    let outsider = w.app.user("outsider@example.org").await;
    // A manager of another fund belongs to something, just not to anything of this world.
    let admin = w.app.admin().await;
    let other_manager = w.app.user("other.manager@example.org").await;
    as_(&w.app, &admin, "mutation($input: FundInput!) { createFund(input: $input) { id } }",
        json!({ "input": { "nameEn": "Another fund", "budget": { "amount": "1000000", "currency": CURRENCY }, "managerIds": [other_manager.id] } })).await;

    let mut findings = walk(&w, &outsider, "outsider").await;
    findings.extend(walk(&w, &other_manager, "manager of another fund").await);
    assert!(
        findings.is_empty(),
        "{} isolation findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
}

#[tokio::test]
async fn an_outsider_cannot_download_a_document_nor_tell_it_exists() {
    let w = world().await;
    let outsider = w.app.user("outsider@example.org").await;
    let get = |id: String| {
        w.app
            .http
            .get(w.app.url(&format!("/documents/{id}")))
            .bearer_auth(&outsider.access)
            .send()
    };
    let real = get(w.ids[&Kind::Document].clone()).await.unwrap();
    let random = get(uuid::Uuid::new_v4().to_string()).await.unwrap();
    assert_eq!(real.status(), 404);
    assert_eq!(random.status(), 404);
    assert_eq!(real.text().await.unwrap(), random.text().await.unwrap());
}

/// The fixes hide objects from outsiders only: those who may see the object still hear why
/// they are refused.
#[tokio::test]
async fn those_who_see_an_object_still_hear_why_they_are_refused() {
    let w = world().await;
    let reviewer = w
        .app
        .session("reviewer@example.org", common::PASSWORD)
        .await;
    let unassigned = w
        .app
        .graphql_as(
            Some(&reviewer.access),
            "mutation($id: ID!) { unassignReviewer(assignmentId: $id) }",
            json!({ "id": w.ids[&Kind::Assignment] }),
        )
        .await;
    assert_eq!(
        common::error_code(&unassigned),
        Some("FORBIDDEN"),
        "the reviewer knows their assignment: {unassigned}"
    );
    let owner = w.app.session("owner@example.org", common::PASSWORD).await;
    let answered = w
        .app
        .graphql_as(
            Some(&owner.access),
            "mutation($id: ID!, $org: ID!) { respondToPartnership(applicationId: $id, organizationId: $org, accept: true) { id } }",
            json!({ "id": w.ids[&Kind::Application], "org": w.ids[&Kind::PartnerOrganization] }),
        )
        .await;
    assert_eq!(common::error_code(&answered), Some("NOT_FOUND"));
    assert_eq!(
        answered["errors"][0]["message"], "partnership not found",
        "the applicant sees the application, so they are told what is missing"
    );
}
