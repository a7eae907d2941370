//! The foundation: health and readiness, request limits, GraphQL protections, the error model,
//! migrations, the audit trail and graceful shutdown.

mod common;

use std::time::Duration;

use common::{TestApp, TestDb, data, error_code};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn health_answers_while_the_process_lives() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn metrics_count_the_statements_a_write_sends_with_its_transaction() {
    let app = TestApp::spawn().await;
    let read = || async {
        let text = app
            .http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("bridgefund_sql_statements_total "))
            .and_then(|n| n.parse::<u64>().ok())
            .expect("the statement counter")
    };
    let before = read().await;
    data(&app.register("counted@example.org", "en").await);
    let after = read().await;
    // BEGIN and COMMIT are counted with the look-ups and inserts between them.
    assert!(after >= before + 4, "{before} → {after}");
}

#[tokio::test]
async fn readiness_turns_503_when_the_database_goes_away() {
    let app = TestApp::spawn().await;
    let ready = app.http.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    app.db.take_away().await;

    let ready = app.http.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the process still lives");
}

#[tokio::test]
async fn a_query_gets_an_answer_and_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ apiVersion serverTime }" }))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(data(&body)["apiVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(data(&body)["serverTime"], "2027-03-01T08:00:00+00:00");
}

#[tokio::test]
async fn graphiql_is_served_in_development_and_not_in_production() {
    let app = TestApp::spawn().await;
    let page = app.http.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("graphiql"));

    let app = TestApp::spawn_with(|config| {
        config.production = true;
        config.jwt_secret = Some("a-production-secret-of-at-least-32-bytes".to_owned().into());
        config.mail.smtp_url = Some("smtp://127.0.0.1:2525".to_owned().into());
    })
    .await;
    let page = app.http.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    let introspection = app
        .graphql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(
        introspection["data"]["__schema"].is_null(),
        "{introspection}"
    );
}

#[tokio::test]
async fn production_refuses_development_defaults_at_start() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config(&db.url, dir.path());
    config.production = true;
    config.jwt_secret = None;
    let error = match bridgefund::Application::build(config).await {
        Ok(_) => panic!("production started with development defaults"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("BRIDGEFUND_JWT_SECRET"), "{error}");
    assert!(error.contains("BRIDGEFUND_SMTP_URL"), "{error}");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = TestApp::spawn_with(|config| config.body_limit = 2048).await;
    let padding = "x".repeat(4096);
    let query = format!("{{ apiVersion }} # {padding}");

    let declared = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), 413);

    // Chunked: no Content-Length, so the limit is enforced while reading.
    let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(512).map(|c| Ok(c.to_vec())).collect();
    let streamed = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413);

    let small = app.graphql("{ apiVersion }", json!({})).await;
    data(&small);
}

#[tokio::test]
async fn malformed_requests_are_bad_input() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));

    let syntax = app.graphql("{ apiVersion", json!({})).await;
    assert_eq!(error_code(&syntax), Some("BAD_USER_INPUT"));
    let unknown = app.graphql("{ noSuchField }", json!({})).await;
    assert_eq!(error_code(&unknown), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn slow_requests_time_out() {
    let app = TestApp::spawn_with(|config| config.request_timeout_secs = 1).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // Headers promise a body that never comes.
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("the server answers within its timeout")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app =
        TestApp::spawn_with(|config| config.cors_origins = vec!["https://app.example.org".into()])
            .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("https://app.example.org").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

async fn expect_limit(app: &TestApp, query: &str) {
    let response = app.graphql(query, json!({})).await;
    assert_eq!(
        error_code(&response),
        Some("LIMIT_EXCEEDED"),
        "{response:#}"
    );
    assert!(response["data"].is_null(), "nothing executed: {response:#}");
}

#[tokio::test]
async fn deep_queries_are_refused() {
    let app = TestApp::spawn_with(|config| config.graphql.max_depth = 4).await;
    expect_limit(
        &app,
        r#"{ apiVersion __type(name: "QueryRoot") { fields { type { ofType { ofType { name } } } } } }"#,
    )
    .await;
    data(
        &app.graphql(
            r#"{ apiVersion __type(name: "QueryRoot") { name } }"#,
            json!({}),
        )
        .await,
    );
}

#[tokio::test]
async fn complex_queries_are_refused() {
    let app = TestApp::spawn_with(|config| config.graphql.max_complexity = 5).await;
    expect_limit(
        &app,
        "{ a: apiVersion b: apiVersion c: apiVersion d: apiVersion e: apiVersion f: apiVersion }",
    )
    .await;
    data(
        &app.graphql("{ a: apiVersion b: apiVersion }", json!({}))
            .await,
    );
}

#[tokio::test]
async fn recursive_documents_are_refused() {
    let app = TestApp::spawn_with(|config| config.graphql.max_recursive_depth = 5).await;
    let deep = format!(
        "{{ apiVersion __type(name: \"Q\") {{ {}name{} }} }}",
        "ofType { ".repeat(7),
        " }".repeat(7)
    );
    expect_limit(&app, &deep).await;
}

#[tokio::test]
async fn too_many_aliases_are_refused() {
    let app = TestApp::spawn_with(|config| {
        config.graphql.max_aliases = 3;
        config.graphql.max_complexity = 1000;
    })
    .await;
    expect_limit(
        &app,
        "{ a: apiVersion b: apiVersion c: apiVersion d: apiVersion }",
    )
    .await;
    expect_limit(&app, "mutation { a: ping b: ping c: ping d: ping }").await;
    data(
        &app.graphql("{ a: apiVersion b: apiVersion c: apiVersion }", json!({}))
            .await,
    );
}

#[tokio::test]
async fn too_many_directives_are_refused() {
    let app = TestApp::spawn_with(|config| config.graphql.max_directives = 2).await;
    expect_limit(
        &app,
        "{ apiVersion @include(if: true) @skip(if: false) serverTime @include(if: true) }",
    )
    .await;
    data(
        &app.graphql("{ apiVersion @include(if: true) }", json!({}))
            .await,
    );
}

#[tokio::test]
async fn batches_are_capped_or_off() {
    let app = TestApp::spawn_with(|config| config.graphql.max_batch = 2).await;
    let send = |n: usize| {
        let batch: Vec<Value> = (0..n)
            .map(|_| json!({ "query": "{ apiVersion }" }))
            .collect();
        app.http.post(app.url("/graphql")).json(&batch).send()
    };
    let two: Value = send(2).await.unwrap().json().await.unwrap();
    assert_eq!(two.as_array().map(Vec::len), Some(2));
    let three: Value = send(3).await.unwrap().json().await.unwrap();
    assert_eq!(error_code(&three), Some("LIMIT_EXCEEDED"));

    let off = TestApp::spawn_with(|config| config.graphql.max_batch = 0).await;
    let response: Value = off
        .http
        .post(off.url("/graphql"))
        .json(&json!([{ "query": "{ apiVersion }" }]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&response), Some("LIMIT_EXCEEDED"));
}

#[tokio::test]
async fn suggestions_are_off_when_introspection_is_off() {
    let open = TestApp::spawn().await;
    let response = open.graphql("{ apiVersio }", json!({})).await;
    assert!(response.to_string().contains("Did you mean"), "{response}");

    let closed = TestApp::spawn_with(|config| config.introspection = false).await;
    let response = closed.graphql("{ apiVersio }", json!({})).await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
    assert!(!response.to_string().contains("Did you mean"), "{response}");
}

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    let db = TestDb::create().await;
    let connection = db.connect().await;
    use migration::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;
    Migrator::up(&connection, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(&connection)
            .await
            .unwrap()
            .is_empty()
    );

    let applied = Migrator::get_applied_migrations(&connection)
        .await
        .unwrap()
        .len() as u32;
    Migrator::down(&connection, Some(applied)).await.unwrap();
    let count = connection
        .execute_unprepared("SELECT count(*) FROM audit_event")
        .await;
    assert!(count.is_err(), "tables are gone after down");

    Migrator::up(&connection, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(&connection)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_audit_trail_is_append_only() {
    let app = TestApp::spawn().await;
    let db = &app.context.db;
    let actor = bridgefund::service::audit::AuditActor::default();
    bridgefund::service::audit::record(
        db,
        &app.clock,
        &actor,
        "test.record",
        bridgefund::service::audit::AuditTarget {
            kind: "test",
            id: None,
        },
        None,
        Some(json!({ "name": "x", "password": "hunter2" })),
    )
    .await
    .unwrap();

    use sea_orm::{ConnectionTrait, EntityTrait};
    let rows = entity::audit_event::Entity::find().all(db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].after_state,
        Some(json!({ "name": "x", "password": "[redacted]" })),
        "secrets never reach the trail"
    );
    assert!(
        db.execute_unprepared("UPDATE audit_event SET action = 'x'")
            .await
            .is_err()
    );
    assert!(
        db.execute_unprepared("DELETE FROM audit_event")
            .await
            .is_err()
    );
    assert_eq!(
        entity::audit_event::Entity::find()
            .all(db)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let mut app = TestApp::spawn().await;
    let body = serde_json::to_vec(&json!({ "query": "{ apiVersion }" })).unwrap();
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The request is in flight: ask the server to stop, then finish sending it.
    app.trigger_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(&body[5..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(env!("CARGO_PKG_VERSION")));

    app.wait_stopped().await.expect("clean stop");
    assert!(
        tokio::net::TcpStream::connect(app.addr).await.is_err(),
        "no new connections after shutdown"
    );
}
