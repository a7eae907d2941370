//! Isolation: someone who belongs to nothing learns nothing. The walk reads the schema by
//! introspection over HTTP and calls every root field that takes an id, as an outsider, with the
//! ids of a real world and with random ones. Whatever the viewer may not see answers `NOT_FOUND`,
//! the same for a real id as for a made-up one; `FORBIDDEN` only where every id names something
//! public (a fund, an open call) or the field is for admins. A field added later is walked
//! without anyone remembering to: a new kind of id, scalar or upload makes the walk fail until
//! it is taught what to send.

mod common;

use std::collections::{HashMap, HashSet};

use common::world::{
    CURRENCY, Field, Kind, Schema, SharedWorld, Ty, as_, at, day, introspect, kind_of, multipart,
    shared_world,
};
use common::{Session, TestApp};
use serde_json::{Value, json};

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

impl Schema {
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

async fn world() -> World {
    let SharedWorld {
        app,
        fund,
        call,
        grant_call: _,
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
    } = shared_world().await;
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
