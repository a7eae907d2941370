//! Security and reliability under attack: bad argument values on every root field, control
//! characters in text, concurrent password guessing across instances, and database outages.

mod common;

use std::collections::BTreeMap;

use common::{TestApp, error_code};
use serde_json::{Map, Value, json};

const TYPE_REF: &str =
    "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// The schema as introspection gives it: root fields with their arguments, and every type.
struct Introspected {
    queries: Vec<Value>,
    mutations: Vec<Value>,
    types: BTreeMap<String, Value>,
}

async fn introspect(app: &TestApp) -> Introspected {
    let query = format!(
        "{{ __schema {{
            queryType {{ fields {{ name args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }}
            mutationType {{ fields {{ name args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }}
            types {{ name kind enumValues {{ name }} inputFields {{ name type {{ {TYPE_REF} }} }} }}
        }} }}"
    );
    let response = app.graphql(&query, json!({})).await;
    let schema = &common::data(&response)["__schema"];
    let fields = |root: &str| {
        schema[root]["fields"]
            .as_array()
            .expect("root fields")
            .clone()
    };
    Introspected {
        queries: fields("queryType"),
        mutations: fields("mutationType"),
        types: schema["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
            .collect(),
    }
}

/// The type as written in a variable definition (`[String!]!`).
fn written(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", written(&ty["ofType"])),
        Some("LIST") => format!("[{}]", written(&ty["ofType"])),
        _ => ty["name"].as_str().expect("named type").to_owned(),
    }
}

/// The named type under any NON_NULL and LIST wrappers, and whether a list is among them.
fn named(ty: &Value) -> (&str, bool) {
    match ty["kind"].as_str() {
        Some("NON_NULL") => named(&ty["ofType"]),
        Some("LIST") => (named(&ty["ofType"]).0, true),
        _ => (ty["name"].as_str().expect("named type"), false),
    }
}

fn required(ty: &Value) -> bool {
    ty["kind"] == "NON_NULL"
}

impl Introspected {
    /// A well-formed value of the type: what a careful client would send.
    fn valid(&self, ty: &Value) -> Value {
        match ty["kind"].as_str() {
            Some("NON_NULL") => self.valid(&ty["ofType"]),
            Some("LIST") => json!([]),
            _ => {
                let name = ty["name"].as_str().expect("named type");
                let meta = &self.types[name];
                match (meta["kind"].as_str(), name) {
                    (Some("ENUM"), _) => meta["enumValues"][0]["name"].clone(),
                    (Some("INPUT_OBJECT"), _) => {
                        let mut object = Map::new();
                        for field in meta["inputFields"].as_array().expect("input fields") {
                            if required(&field["type"]) {
                                object.insert(
                                    field["name"].as_str().expect("name").to_owned(),
                                    self.valid(&field["type"]),
                                );
                            }
                        }
                        Value::Object(object)
                    }
                    (_, "Int") => json!(1),
                    (_, "Float") => json!(1.5),
                    (_, "Boolean") => json!(false),
                    (_, "DateTime") => json!("2027-06-01T00:00:00Z"),
                    (_, "NaiveDate") => json!("2027-06-01"),
                    (_, "ID") => json!("0190d6a0-0000-7000-8000-000000000000"),
                    (_, "JSON") => json!({}),
                    _ => json!("text"),
                }
            }
        }
    }

    /// Every scalar place under `ty` that takes a DateTime, NaiveDate, Int, String or ID, by
    /// path below the argument, each with a whole value of `ty` that is well-formed but for a
    /// value at that place that must be refused.
    fn bad_places(&self, ty: &Value, path: &str, depth: usize) -> Vec<(String, Value)> {
        let (name, list) = named(ty);
        if list || depth > 3 {
            return Vec::new();
        }
        let meta = &self.types[name];
        if meta["kind"] == "INPUT_OBJECT" {
            let mut places = Vec::new();
            for field in meta["inputFields"].as_array().expect("input fields") {
                let key = field["name"].as_str().expect("name");
                for (place, inner) in
                    self.bad_places(&field["type"], &format!("{path}.{key}"), depth + 1)
                {
                    let mut whole = self.valid(ty);
                    whole[key] = inner;
                    places.push((place, whole));
                }
            }
            return places;
        }
        let bad = match name {
            "DateTime" => json!("tomorrow"),
            "NaiveDate" => json!("someday"),
            "Int" => json!(94_702_054_814_i64),
            "String" | "ID" => json!("null\u{0}byte"),
            _ => return Vec::new(),
        };
        vec![(path.to_owned(), bad)]
    }
}

/// A sent case: the operation, its variables, and the field that must be named.
struct Case {
    document: String,
    variables: Value,
    field: String,
}

fn cases(schema: &Introspected) -> Vec<Case> {
    let mut cases = Vec::new();
    for (keyword, fields) in [("query", &schema.queries), ("mutation", &schema.mutations)] {
        for field in fields {
            let name = field["name"].as_str().expect("field name");
            let args = field["args"].as_array().expect("args");
            // Uploads cannot travel as JSON variables.
            if args.iter().any(|a| named(&a["type"]).0 == "Upload") {
                continue;
            }
            let selection = match schema.types[named(&field["type"]).0]["kind"].as_str() {
                Some("OBJECT" | "INTERFACE" | "UNION") => " { __typename }",
                _ => "",
            };
            let definitions: Vec<String> = args
                .iter()
                .map(|a| format!("${}: {}", a["name"].as_str().unwrap(), written(&a["type"])))
                .collect();
            let uses: Vec<String> = args
                .iter()
                .map(|a| format!("{0}: ${0}", a["name"].as_str().unwrap()))
                .collect();
            let document = if args.is_empty() {
                continue;
            } else {
                format!(
                    "{keyword}({}) {{ {name}({}){selection} }}",
                    definitions.join(", "),
                    uses.join(", ")
                )
            };
            let valid: Map<String, Value> = args
                .iter()
                .map(|a| {
                    (
                        a["name"].as_str().unwrap().to_owned(),
                        schema.valid(&a["type"]),
                    )
                })
                .collect();
            for arg in args {
                let arg_name = arg["name"].as_str().unwrap();
                for (path, bad) in schema.bad_places(&arg["type"], arg_name, 0) {
                    let mut variables = Value::Object(valid.clone());
                    variables[arg_name] = bad;
                    cases.push(Case {
                        document: document.clone(),
                        variables,
                        field: path,
                    });
                }
            }
        }
    }
    cases
}

/// Every root field, every argument (and input field) that takes a date, a time, a number or
/// text: a value of the right GraphQL type that cannot be coerced, or text with a NUL, answers
/// BAD_USER_INPUT naming the field, anonymously, before any resolver or database sees it.
async fn every_bad_argument_is_bad_user_input(app: &TestApp) {
    let schema = introspect(app).await;
    let cases = cases(&schema);
    assert!(cases.len() > 100, "only {} cases generated", cases.len());
    let mut wrong = Vec::new();
    let mut kinds = BTreeMap::<&str, usize>::new();
    for case in &cases {
        let response = app.graphql(&case.document, case.variables.clone()).await;
        let error = &response["errors"][0];
        let code = error["extensions"]["code"].as_str();
        let field = error["extensions"]["field"].as_str();
        if code != Some("BAD_USER_INPUT") || field != Some(case.field.as_str()) {
            wrong.push(format!(
                "{} {} -> {}",
                case.document, case.variables, response
            ));
        }
        let kind = if case.variables.to_string().contains("\\u0000") {
            "text"
        } else {
            "scalar"
        };
        *kinds.entry(kind).or_default() += 1;
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases answered otherwise:\n{}",
        wrong.len(),
        cases.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
    assert!(kinds["text"] > 50 && kinds["scalar"] > 10, "{kinds:?}");
}

#[tokio::test]
async fn bad_argument_values_on_every_root_field_are_bad_user_input() {
    let app = TestApp::spawn().await;
    every_bad_argument_is_bad_user_input(&app).await;
}

#[tokio::test]
async fn literal_bad_arguments_name_their_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            r#"{ calls(filter: { closesAfter: "tomorrow" }) { pageInfo { hasNextPage } } }"#,
            "filter.closesAfter",
        ),
        (
            "{ emailOutbox(first: 94702054814) { pageInfo { hasNextPage } } }",
            "first",
        ),
        (
            r#"mutation { requestPasswordReset(email: "a\u0000@example.org") }"#,
            "email",
        ),
    ];
    for (query, field) in cases {
        let response = app.graphql(query, json!({})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
    }
}

/// Forty wrong passwords at once, spread over two instances on one database: the attempts are
/// counted before any password is checked, so at most the account's five are checked and the
/// rest are refused as over the limit.
#[tokio::test]
async fn concurrent_guesses_over_two_instances_check_at_most_five_passwords() {
    let first = TestApp::spawn().await;
    first.user("besieged@example.org").await;
    let second = TestApp::spawn_on(first.db.shared(), |_| {}).await;
    second.clock.set(first.clock.now());

    let guesses = (0..40).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        async move {
            app.login("besieged@example.org", &format!("wrong guess {i}"))
                .await
        }
    });
    let answers = futures_util::future::join_all(guesses).await;

    let checked = answers
        .iter()
        .filter(|a| error_code(a) != Some("LIMIT_EXCEEDED"))
        .count();
    assert!(
        answers
            .iter()
            .all(|a| matches!(error_code(a), Some("BAD_USER_INPUT" | "LIMIT_EXCEEDED"))),
        "{answers:?}"
    );
    assert!(
        (1..=5).contains(&checked),
        "{checked} passwords were checked"
    );
    // The account is locked now, even for its owner, on either instance.
    for app in [&first, &second] {
        assert_eq!(
            error_code(&app.login("besieged@example.org", common::PASSWORD).await),
            Some("LIMIT_EXCEEDED")
        );
    }
}

/// While the database is away the API says so: SERVICE_UNAVAILABLE with HTTP 503 and a
/// `Retry-After`, as `/ready` does, never INTERNAL with 200.
#[tokio::test]
async fn a_database_outage_answers_503_service_unavailable() {
    let app = TestApp::spawn().await;
    common::data(&app.register("before@example.org", "en").await);

    app.db.take_away().await;

    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({
            "query": "mutation($input: RegisterInput!) { register(input: $input) { id } }",
            "variables": { "input": {
                "email": "during@example.org", "name": "During", "locale": "en",
                "password": common::PASSWORD,
            } },
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(retry_after);
    assert_eq!(error_code(&body), Some("SERVICE_UNAVAILABLE"), "{body}");
    assert!(body["errors"][0]["extensions"]["requestId"].is_string());
    let ready = app.http.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}

/// Registering a taken address and asking a reset for a known one look, from outside, like
/// doing so for a new or unknown address: same answer shape, comparable time.
#[tokio::test]
async fn registration_and_reset_do_not_tell_which_addresses_have_accounts() {
    let app = TestApp::spawn().await;
    app.user("known@example.org").await;
    let register = "mutation($input: RegisterInput!) { register(input: $input) { email name locale emailVerified roles } }";
    let input = |email: &str| json!({ "input": { "email": email, "name": "Who Knows", "locale": "en", "password": common::PASSWORD } });
    let timed = |query: &'static str, variables: Value| {
        let app = &app;
        async move {
            let start = std::time::Instant::now();
            let response = app.graphql(query, variables).await;
            (response, start.elapsed())
        }
    };
    let (taken, taken_time) = timed(register, input("known@example.org")).await;
    let (fresh, fresh_time) = timed(register, input("fresh@example.org")).await;
    let mut fresh_shape = common::data(&fresh)["register"].clone();
    fresh_shape["email"] = json!("known@example.org");
    assert_eq!(common::data(&taken)["register"], fresh_shape);
    // Both hash a password (tens of milliseconds); neither is a quick refusal.
    let (fast, slow) = if taken_time < fresh_time {
        (taken_time, fresh_time)
    } else {
        (fresh_time, taken_time)
    };
    assert!(
        fast * 3 > slow,
        "taken {taken_time:?}, fresh {fresh_time:?}"
    );

    let reset = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    let (known, _) = timed(reset, json!({ "e": "known@example.org" })).await;
    let (unknown, _) = timed(reset, json!({ "e": "nobody@example.org" })).await;
    assert_eq!(known, unknown);
}

/// Reset and verification emails are limited per email address (five an hour) and per client:
/// beyond, LIMIT_EXCEEDED, whether or not the address has an account.
#[tokio::test]
async fn identity_emails_are_rate_limited_per_address() {
    let app = TestApp::spawn().await;
    let reset = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    for n in 0..5 {
        let answer = app
            .graphql(reset, json!({ "e": "nobody@example.org" }))
            .await;
        assert_eq!(common::data(&answer)["requestPasswordReset"], true, "{n}");
    }
    let refused = app
        .graphql(reset, json!({ "e": "nobody@example.org" }))
        .await;
    assert_eq!(error_code(&refused), Some("LIMIT_EXCEEDED"), "{refused}");
    // Another address is not affected, and the limit passes with time.
    let other = app
        .graphql(reset, json!({ "e": "other@example.org" }))
        .await;
    assert_eq!(common::data(&other)["requestPasswordReset"], true);
    app.clock.advance(chrono::Duration::minutes(61));
    let later = app
        .graphql(reset, json!({ "e": "nobody@example.org" }))
        .await;
    assert_eq!(common::data(&later)["requestPasswordReset"], true);
}

/// One client asking for identity emails to many addresses is limited too: fifty in fifteen
/// minutes, then LIMIT_EXCEEDED for any address.
#[tokio::test]
async fn identity_emails_are_rate_limited_per_client() {
    let app = TestApp::spawn().await;
    let reset = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    for n in 0..50 {
        let answer = app
            .graphql(reset, json!({ "e": format!("target{n}@example.org") }))
            .await;
        assert_eq!(common::data(&answer)["requestPasswordReset"], true, "{n}");
    }
    let refused = app
        .graphql(reset, json!({ "e": "one-more@example.org" }))
        .await;
    assert_eq!(error_code(&refused), Some("LIMIT_EXCEEDED"), "{refused}");
}
