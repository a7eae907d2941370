//! Fuzzing the schema: every root query and mutation, as four viewers (anonymous, the owner of
//! the applicant organisation, a fund manager, an admin), with argument values drawn from a
//! seeded generator: the world's real ids and random ones, empty, long and unicode text, edge
//! numbers, past and future dates, money in the fund's currency and in others. Whatever comes
//! back, no error is uncoded and none is `INTERNAL`: bad input and refused states are the
//! client's business and are named as such. Mutations change the world as the run goes, which
//! walks more states; each viewer's operations run in a fixed order, so a seed replays a run.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::world::{
    CURRENCY, Field, Kind, Schema, SharedWorld, Ty, at, day, introspect, kind_of, pdf, shared_world,
};
use common::{Session, TestApp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// The seed of the run; `BRIDGEFUND_FUZZ_SEED` replays another.
const SEED: u64 = 0x00b1_dfe0_f022;

/// Argument sets sent per root field and viewer, and how wild each one's values are: the first
/// mostly plausible (to reach deeper states), the last mostly edge cases.
const WILDNESS: [f64; 3] = [0.1, 0.4, 0.8];

// ---------------------------------------------------------------------------------------------
// The world the viewers act on.

struct World {
    app: TestApp,
    /// The objects of each kind of id.
    ids: HashMap<Kind, Vec<String>>,
    /// The viewers, signed in last.
    owner: Session,
    manager: Session,
    admin: Session,
}

async fn world() -> World {
    let SharedWorld {
        app,
        fund,
        call,
        grant_call,
        draft_call,
        application,
        reference: _,
        funded,
        funded_reference: _,
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
        grant_reference: _,
        disbursements,
        registration,
        email,
        invitation,
    } = shared_world().await;
    let ids = HashMap::from([
        (Kind::Fund, vec![fund]),
        (Kind::Call, vec![call, grant_call, draft_call]),
        (Kind::Application, vec![application, funded]),
        (Kind::Organization, vec![org.clone(), partner.clone()]),
        (Kind::PartnerOrganization, vec![partner, org]),
        (
            Kind::User,
            vec![
                owner.id.clone(),
                partner_owner.id.clone(),
                reviewer.id.clone(),
                second_manager.id.clone(),
            ],
        ),
        (Kind::Reviewer, vec![reviewer.id.clone()]),
        (
            Kind::Manager,
            vec![manager.id.clone(), second_manager.id.clone()],
        ),
        (Kind::Assignment, vec![assignment]),
        (Kind::Document, vec![document]),
        (Kind::Grant, vec![grant]),
        (Kind::Disbursement, disbursements),
        (Kind::Registration, vec![registration]),
        (Kind::EmailMessage, vec![email]),
        (Kind::Invitation, vec![invitation]),
    ]);
    World {
        app,
        ids,
        owner,
        manager,
        admin,
    }
}

// ---------------------------------------------------------------------------------------------
// Values for arguments, drawn from the seeded generator by type and name.

struct Gen<'a> {
    schema: &'a Schema,
    ids: &'a HashMap<Kind, Vec<String>>,
    rng: &'a mut StdRng,
    /// How often a value is an edge case rather than a plausible one.
    wildness: f64,
    /// Variable paths that carry an upload.
    uploads: Vec<String>,
}

impl Gen<'_> {
    fn pick<'v>(&mut self, values: &[&'v str]) -> &'v str {
        values[self.rng.random_range(0..values.len())]
    }

    fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    /// Whether to send an edge value rather than a plausible one.
    fn wild(&mut self) -> bool {
        self.rng.random_bool(self.wildness)
    }

    /// A real id of the kind the name tells; wild: a random UUID, or no UUID at all.
    fn id(&mut self, owner: &str, name: &str) -> Value {
        let ids = self.ids;
        let real = kind_of(owner, name).and_then(|kind| ids.get(&kind));
        match (self.wild(), real) {
            (false, Some(real)) => json!(real[self.rng.random_range(0..real.len())]),
            (true, _) if self.rng.random_bool(0.2) => {
                json!(self.pick(&["", "not-an-id", "00000000-0000-0000-0000-000000000000"]))
            }
            _ => json!(self.uuid()),
        }
    }

    /// A cursor as the lists write them (`id:key`, base64url), with a key of any shape.
    fn cursor(&mut self, wild: bool) -> Value {
        use base64::Engine;
        let id = self.uuid();
        let key = if !wild {
            "2027-03-01T08:00:00+00:00"
        } else {
            self.pick(&[
                "2027-03-01T08:00:00+00:00",
                "abc",
                "42",
                "",
                "-1",
                "9999999999999999999999",
            ])
        };
        json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{id}:{key}")))
    }

    fn string(&mut self, name: &str) -> Value {
        let wild = self.wild();
        if name == "after" && (!wild || self.rng.random_bool(0.5)) {
            return self.cursor(wild);
        }
        if !wild {
            return json!(string_for(name));
        }
        match self.rng.random_range(0..4) {
            0 => json!(""),
            1 => json!("x".repeat(self.rng.random_range(256..3000))),
            2 => json!(self.pick(&[
                "Ñandú ẞ 水井 🚰 مياه नल",
                "\u{202e}evil\u{200b}",
                "  padded  ",
                "a\nb\tc"
            ])),
            _ => json!(self.pick(&[
                "USD",
                "XXX",
                "cny",
                "ZZ",
                "xx-YY",
                "0",
                "-1",
                "1e9",
                "relevance",
                "null"
            ])),
        }
    }

    fn int(&mut self, name: &str) -> Value {
        if !self.wild() {
            return json!(int_for(name));
        }
        match self.rng.random_range(0..5) {
            0 => json!(0),
            1 => json!(-self.rng.random_range(1..1000)),
            2 => json!(i32::MAX),
            3 => json!(i32::MIN),
            _ => json!(self.rng.random_range(1_000..2_000_000_000)),
        }
    }

    /// A time: plausibly a few weeks ahead (later for a closing or an end), wild anywhere.
    fn date_time(&mut self, name: &str) -> Value {
        if !self.wild() {
            return json!(at(if later(name) { 60 } else { 40 }));
        }
        let days = [-4000i64, -400, -1, 0, 1, 40, 60, 400, 4000][self.rng.random_range(0..9)];
        match self.rng.random_range(0..12) {
            0 => json!("1970-01-01T00:00:00Z"),
            1 => json!("9999-12-31T23:59:59Z"),
            _ => json!(at(days)),
        }
    }

    fn date(&mut self, name: &str) -> Value {
        if !self.wild() {
            return json!(day(if later(name) { 400 } else { 40 }));
        }
        let days = [-4000i64, -400, -1, 0, 1, 40, 90, 400, 4000][self.rng.random_range(0..9)];
        match self.rng.random_range(0..12) {
            0 => json!("0001-01-01"),
            1 => json!("9999-12-31"),
            _ => json!(day(days)),
        }
    }

    fn money(&mut self) -> Value {
        if !self.wild() {
            let amount = self.pick(&["1000", "10000.50", "150000"]);
            return json!({ "amount": amount, "currency": CURRENCY });
        }
        let amount = self.pick(&[
            "1.00",
            "0",
            "-5",
            "10000",
            "200000",
            "0.001",
            "99999999999999999999",
            "1e3",
            "",
            "abc",
            "150000.50",
            "92233720368547758.07",
            "50000000000000000",
        ]);
        let currency = if self.rng.random_bool(0.5) {
            CURRENCY
        } else {
            self.pick(&["USD", "KES", "XXX", "cny", ""])
        };
        json!({ "amount": amount, "currency": currency })
    }

    fn value(&mut self, owner: &str, name: &str, ty: &Ty, path: &str) -> Value {
        match ty {
            Ty::NonNull(inner) => self.value(owner, name, inner, path),
            Ty::List(inner) => {
                let len = if self.wild() {
                    self.rng.random_range(0..4)
                } else {
                    1
                };
                Value::Array(
                    (0..len)
                        .map(|i| self.value(owner, name, inner, &format!("{path}.{i}")))
                        .collect(),
                )
            }
            Ty::Named(type_name) => self.named(owner, name, type_name, path),
        }
    }

    fn named(&mut self, owner: &str, name: &str, type_name: &str, path: &str) -> Value {
        match type_name {
            "ID" => self.id(owner, name),
            "String" => self.string(name),
            "Int" => self.int(name),
            "Float" => json!(
                self.pick(&["0", "-1.5", "0.14", "1e30"])
                    .parse::<f64>()
                    .unwrap()
            ),
            "Boolean" => json!(self.rng.random_bool(0.5)),
            "DateTime" => self.date_time(name),
            "NaiveDate" => self.date(name),
            "JSON" => json!(if self.rng.random_bool(0.5) {
                json!({})
            } else {
                json!({ "a": [1, "b", null] })
            }),
            "Upload" => {
                self.uploads.push(path.to_owned());
                Value::Null
            }
            "MoneyInput" => self.money(),
            _ => match self.schema.kind_of_type(type_name) {
                "ENUM" => {
                    let values = self.schema.types[type_name]["enumValues"]
                        .as_array()
                        .unwrap();
                    values[self.rng.random_range(0..values.len())]["name"].clone()
                }
                "INPUT_OBJECT" => {
                    let mut object = serde_json::Map::new();
                    let fields = self.schema.types[type_name]["inputFields"]
                        .as_array()
                        .unwrap()
                        .clone();
                    for field in fields {
                        let field_name = field["name"].as_str().unwrap();
                        let field_ty = Ty::parse(&field["type"]);
                        let needed = field_ty.required() && field["defaultValue"].is_null();
                        if needed || self.rng.random_bool(0.5) {
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
                other => panic!(
                    "`{owner}.{name}` is of type {type_name} ({other}), which the fuzz run cannot generate: teach `Gen::named`"
                ),
            },
        }
    }
}

/// Whether a time or date names an end (a close, a deadline), which comes after a start.
fn later(name: &str) -> bool {
    let lower = name.to_lowercase();
    ["closes", "ends", "until", "before", "due"]
        .iter()
        .any(|w| lower.contains(w))
}

/// A plausible value for a string argument or input field, by its name.
fn string_for(name: &str) -> String {
    let lower = name.to_lowercase();
    let value = if lower.contains("countr") {
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
        "Fuzz probe"
    };
    value.to_owned()
}

fn int_for(name: &str) -> i64 {
    match name {
        "organizationType" => 22,
        "sdgGoal" | "sdgGoals" => 6,
        "durationMonths" => 12,
        "maxScore" | "score" => 8,
        "weight" => 1,
        "moderationThreshold" => 20,
        "first" => 10,
        _ => 1,
    }
}

// ---------------------------------------------------------------------------------------------
// The run.

/// The selection on a field's result: `__typename`, and `id` where the type has one.
fn selection(schema: &Schema, ty: &Ty) -> String {
    let name = ty.named();
    match schema.kind_of_type(name) {
        "OBJECT" => {
            let has_id = schema.types[name]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == "id" && f["args"].as_array().is_none_or(Vec::is_empty));
            if has_id {
                " { __typename id }".into()
            } else {
                " { __typename }".into()
            }
        }
        "INTERFACE" | "UNION" => " { __typename }".into(),
        _ => String::new(),
    }
}

struct Operation {
    document: String,
    variables: Value,
    uploads: Vec<String>,
}

fn operation(
    schema: &Schema,
    root: &str,
    field: &Field,
    ids: &HashMap<Kind, Vec<String>>,
    rng: &mut StdRng,
    wildness: f64,
) -> Operation {
    let mut generator = Gen {
        schema,
        ids,
        rng,
        wildness,
        uploads: Vec::new(),
    };
    let mut declared = Vec::new();
    let mut passed = Vec::new();
    let mut variables = serde_json::Map::new();
    for arg in &field.args {
        let needed = arg.ty.required() && !arg.has_default;
        if !needed && generator.rng.random_bool(0.4) {
            continue;
        }
        let value = if !arg.ty.required() && generator.rng.random_bool(0.1) {
            Value::Null
        } else {
            generator.value(&field.name, &arg.name, &arg.ty, &arg.name)
        };
        declared.push(format!("${}: {}", arg.name, arg.ty.render()));
        passed.push(format!("{0}: ${0}", arg.name));
        variables.insert(arg.name.clone(), value);
    }
    let wrap = |parts: Vec<String>| {
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    };
    Operation {
        document: format!(
            "{root} Fuzz{} {{ {}{}{} }}",
            wrap(declared),
            field.name,
            wrap(passed),
            selection(schema, &field.ty)
        ),
        variables: Value::Object(variables),
        uploads: generator.uploads,
    }
}

/// Sends the operation as JSON, or as multipart with a PDF for each upload; returns the HTTP
/// status and the body (`null` if it is not JSON).
async fn send(app: &TestApp, token: Option<&str>, op: &Operation) -> (u16, Value) {
    let mut request = app.http.post(app.url("/graphql"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request = if op.uploads.is_empty() {
        request.json(&json!({ "query": op.document, "variables": op.variables }))
    } else {
        let operations = json!({ "query": op.document, "variables": op.variables });
        let map: BTreeMap<String, Vec<String>> = op
            .uploads
            .iter()
            .enumerate()
            .map(|(i, path)| (i.to_string(), vec![format!("variables.{path}")]))
            .collect();
        let mut form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", serde_json::to_string(&map).unwrap());
        for i in 0..op.uploads.len() {
            form = form.part(
                i.to_string(),
                reqwest::multipart::Part::bytes(pdf())
                    .file_name("evidence.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            );
        }
        request.multipart(form)
    };
    // No answer at all (the connection dropped, as on a panic) is a finding, not a crash.
    let Ok(response) = request.send().await else {
        return (0, Value::Null);
    };
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// What is wrong with an answer: an uncoded or `INTERNAL` error, or no GraphQL answer at all.
fn faults(status: u16, response: &Value) -> Vec<String> {
    if status == 0 {
        return vec!["no answer: the connection dropped".to_owned()];
    }
    if !response.is_object() {
        return vec![format!("HTTP {status} without a JSON body")];
    }
    let mut faults = Vec::new();
    // A refusal may come with another status; a fault of the server may not.
    if status >= 500 && status != 503 {
        faults.push(format!("HTTP {status}"));
    }
    for error in response["errors"].as_array().into_iter().flatten() {
        match error["extensions"]["code"].as_str() {
            None => faults.push(format!("an error without a code: {error}")),
            Some("INTERNAL") => faults.push(format!("INTERNAL: {error}")),
            Some(_) => {}
        }
    }
    faults
}

/// Long strings shortened, so that a finding stays readable.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::new();
    let mut run = 0;
    for c in text.chars() {
        run = if c == 'x' { run + 1 } else { 0 };
        if run <= 8 {
            out.push(c);
        } else if run == 9 {
            out.push('…');
        }
    }
    out
}

#[tokio::test]
async fn no_argument_values_as_any_viewer_answer_internal() {
    let seed = std::env::var("BRIDGEFUND_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    // The server logs the cause of an INTERNAL; the test prints the log when it fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("bridgefund=error")
        .with_test_writer()
        .try_init();
    let w = world().await;
    let app = &w.app;
    let schema = introspect(app, &w.admin).await;
    let viewers: [(&str, Option<&str>); 4] = [
        ("anonymous", None),
        ("applicant", Some(&w.owner.access)),
        ("fund manager", Some(&w.manager.access)),
        ("admin", Some(&w.admin.access)),
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut findings = Vec::new();
    let mut sent = 0;
    let mut answered = 0;
    let mut codes = BTreeMap::<String, usize>::new();
    for (who, token) in viewers {
        for (root, fields) in [("query", &schema.query), ("mutation", &schema.mutation)] {
            for field in fields {
                for (set, wildness) in WILDNESS.into_iter().enumerate() {
                    let op = operation(&schema, root, field, &w.ids, &mut rng, wildness);
                    let (status, response) = send(app, token, &op).await;
                    sent += 1;
                    answered += usize::from(response.get("errors").is_none());
                    for error in response["errors"].as_array().into_iter().flatten() {
                        let code = error["extensions"]["code"].as_str().unwrap_or("none");
                        *codes.entry(code.to_owned()).or_default() += 1;
                    }
                    for fault in faults(status, &response) {
                        findings.push(format!(
                            "{who}: {} (set {set}): {fault}\n  {}\n  variables {}",
                            field.name,
                            op.document,
                            shown(&op.variables)
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "fuzz seed {seed}: {sent} operations, {answered} answered without error, error codes {codes:?}"
    );
    assert!(
        sent > 300,
        "only {sent} operations sent: is introspection answering?"
    );
    assert!(
        findings.is_empty(),
        "fuzz seed {seed} (replay with BRIDGEFUND_FUZZ_SEED={seed}): {} findings:\n{}",
        findings.len(),
        findings[..findings.len().min(40)].join("\n")
    );
}

/// Found by the run on PostgreSQL: the sign-in throttle keyed an address longer than its column
/// holds, and the insert failed as INTERNAL.
#[tokio::test]
async fn signing_in_with_an_overlong_address_is_a_wrong_sign_in() {
    let app = TestApp::spawn().await;
    let answer = app.login(&"x".repeat(400), "whatever").await;
    assert_eq!(
        common::error_code(&answer),
        Some("BAD_USER_INPUT"),
        "{answer}"
    );
}
