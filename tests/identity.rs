//! Identity: registration, verification, sign-in, tokens and their attacks, throttling, password
//! reset, the viewer's profile, roles, and who may see the email outbox.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{PASSWORD, TestApp, data, error_code};
use serde_json::{Value, json};

const ME: &str = "{ me { id email name locale emailVerified roles } }";
const SECRET: &str = "test-signing-secret-of-at-least-32-bytes!";

async fn app() -> TestApp {
    TestApp::spawn_with(|config| config.jwt_secret = Some(SECRET.to_owned().into())).await
}

#[tokio::test]
async fn a_new_user_registers_verifies_and_signs_in() {
    let app = app().await;
    let registered = app.register("Li.Wei@Example.org", "zh-CN").await;
    assert_eq!(
        data(&registered)["register"]["email"],
        "li.wei@example.org",
        "emails are stored lower-cased"
    );
    assert_eq!(data(&registered)["register"]["emailVerified"], false);

    let refused = app.login("li.wei@example.org", PASSWORD).await;
    assert_eq!(
        error_code(&refused),
        Some("FORBIDDEN"),
        "verify first: {refused}"
    );

    // The verification email is in the user's language.
    app.deliver_mail().await;
    assert_eq!(
        app.sent_mail()[0].subject,
        "请确认您在 Bridgefund 的邮箱地址"
    );
    let token = app.emailed_token("li.wei@example.org").await;
    data(
        &app.graphql(
            "mutation($t: String!) { verifyEmail(token: $t) }",
            json!({ "t": token }),
        )
        .await,
    );
    let again = app
        .graphql(
            "mutation($t: String!) { verifyEmail(token: $t) }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(error_code(&again), Some("BAD_USER_INPUT"), "single use");

    let session = app.session("LI.WEI@example.org", PASSWORD).await;
    let me = app.graphql_as(Some(&session.access), ME, json!({})).await;
    assert_eq!(
        data(&me)["me"],
        json!({ "id": session.id, "email": "li.wei@example.org", "name": "Test Person", "locale": "zh-CN", "emailVerified": true, "roles": [] })
    );
}

#[tokio::test]
async fn registration_refuses_bad_input_and_hides_taken_addresses() {
    let app = app().await;
    let cases = [
        (
            json!({ "email": "not-an-email", "name": "A", "locale": "en", "password": PASSWORD }),
            "input.email",
        ),
        (
            json!({ "email": "a@example.org", "name": "  ", "locale": "en", "password": PASSWORD }),
            "input.name",
        ),
        (
            json!({ "email": "a@example.org", "name": "A", "locale": "fr", "password": PASSWORD }),
            "input.locale",
        ),
        (
            json!({ "email": "a@example.org", "name": "A", "locale": "en", "password": "short" }),
            "input.password",
        ),
        (
            json!({ "email": "a@example.org", "name": "A", "locale": "en", "password": "x".repeat(129) }),
            "input.password",
        ),
    ];
    for (input, field) in cases {
        let response = app
            .graphql(
                "mutation($input: RegisterInput!) { register(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
    let first = app.register("taken@example.org", "en").await;
    let first = &data(&first)["register"];
    app.deliver_mail().await;
    let mails_before = app.sent_mail().len();
    let taken = app.register("TAKEN@example.org", "en").await;
    let again = &data(&taken)["register"];
    // The same shape as a new account, with nothing of the existing one.
    assert_ne!(again["id"], first["id"]);
    assert_eq!(
        json!({ "email": again["email"], "locale": again["locale"], "emailVerified": again["emailVerified"] }),
        json!({ "email": "taken@example.org", "locale": "en", "emailVerified": false })
    );
    // The owner hears of it, with a way back in; nobody else learns anything.
    app.deliver_mail().await;
    let sent = app.sent_mail();
    assert_eq!(sent.len(), mails_before + 1);
    assert_eq!(sent[sent.len() - 1].to, "taken@example.org");
    assert!(app.emailed_token("taken@example.org").await.len() > 10);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = app().await;
    app.user("known@example.org").await;
    let wrong_password = app.login("known@example.org", "wrong password!").await;
    let unknown_email = app.login("nobody@example.org", "wrong password!").await;
    assert_eq!(error_code(&wrong_password), Some("BAD_USER_INPUT"));
    assert_eq!(
        wrong_password["errors"][0]["message"],
        unknown_email["errors"][0]["message"]
    );
    assert_eq!(
        wrong_password["errors"][0]["extensions"],
        unknown_email["errors"][0]["extensions"]
    );
}

fn sign(claims: &Value, secret: &str, algorithm: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn claims(app: &TestApp, user: &str) -> Value {
    let now = app.clock.now().timestamp();
    json!({ "sub": user, "iss": "bridgefund", "aud": "bridgefund-api", "exp": now + 600, "iat": now, "jti": uuid::Uuid::new_v4() })
}

async fn me_with(app: &TestApp, token: &str) -> Value {
    app.graphql_as(Some(token), ME, json!({})).await
}

#[tokio::test]
async fn forged_and_misused_tokens_are_unauthenticated() {
    let app = app().await;
    let session = app.user("target@example.org").await;
    let valid = claims(&app, &session.id);
    data(&me_with(&app, &sign(&valid, SECRET, jsonwebtoken::Algorithm::HS256)).await);

    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(valid.to_string());
    let mut attacks = vec![
        ("alg none", format!("{header}.{body}.")),
        (
            "wrong algorithm",
            sign(&valid, SECRET, jsonwebtoken::Algorithm::HS512),
        ),
        (
            "wrong key",
            sign(
                &valid,
                "another-secret-that-is-also-32-bytes-long",
                jsonwebtoken::Algorithm::HS256,
            ),
        ),
        ("refresh token as access token", session.refresh.clone()),
        ("garbage", "not.a.token".to_owned()),
    ];
    for missing in ["iss", "aud", "sub", "exp", "jti", "iat"] {
        let mut partial = valid.clone();
        partial.as_object_mut().unwrap().remove(missing);
        attacks.push((
            missing,
            sign(&partial, SECRET, jsonwebtoken::Algorithm::HS256),
        ));
    }
    let mut wrong_issuer = valid.clone();
    wrong_issuer["iss"] = json!("someone-else");
    attacks.push((
        "wrong issuer",
        sign(&wrong_issuer, SECRET, jsonwebtoken::Algorithm::HS256),
    ));
    let mut wrong_audience = valid.clone();
    wrong_audience["aud"] = json!("another-api");
    attacks.push((
        "wrong audience",
        sign(&wrong_audience, SECRET, jsonwebtoken::Algorithm::HS256),
    ));

    for (attack, token) in attacks {
        let response = me_with(&app, &token).await;
        assert_eq!(
            error_code(&response),
            Some("UNAUTHENTICATED"),
            "{attack}: {response}"
        );
    }

    // Expired: the real token stops working after 15 minutes.
    data(&me_with(&app, &session.access).await);
    app.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(
        error_code(&me_with(&app, &session.access).await),
        Some("UNAUTHENTICATED")
    );
}

async fn refresh(app: &TestApp, token: &str) -> Value {
    app.graphql(
        "mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }",
        json!({ "t": token }),
    )
    .await
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family() {
    let app = app().await;
    let session = app.user("rotate@example.org").await;
    let first = refresh(&app, &session.refresh).await;
    let next = data(&first)["refreshToken"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = data(&first)["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    data(&me_with(&app, &access).await);

    // The rotated token comes back: someone copied it. The whole family goes.
    let reused = refresh(&app, &session.refresh).await;
    assert_eq!(error_code(&reused), Some("UNAUTHENTICATED"));
    let revoked = refresh(&app, &next).await;
    assert_eq!(
        error_code(&revoked),
        Some("UNAUTHENTICATED"),
        "the family is revoked"
    );

    // Another session is untouched.
    let other = app.session("rotate@example.org", PASSWORD).await;
    data(&refresh(&app, &other.refresh).await);
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let app = app().await;
    let session = app.user("leave@example.org").await;
    data(
        &app.graphql(
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": session.refresh }),
        )
        .await,
    );
    assert_eq!(
        error_code(&refresh(&app, &session.refresh).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn a_password_is_reset_once_with_the_emailed_link() {
    let app = app().await;
    let session = app.user("forgot@example.org").await;
    let sent_before = app.sent_mail().len();
    data(
        &app.graphql(
            "mutation { requestPasswordReset(email: \"nobody@example.org\") }",
            json!({}),
        )
        .await,
    );
    app.deliver_mail().await;
    assert_eq!(
        app.sent_mail().len(),
        sent_before,
        "no email for an unknown address"
    );

    data(
        &app.graphql(
            "mutation { requestPasswordReset(email: \"forgot@example.org\") }",
            json!({}),
        )
        .await,
    );
    let token = app.emailed_token("forgot@example.org").await;
    let reset = "mutation($t: String!, $p: String!) { resetPassword(token: $t, password: $p) }";
    data(
        &app.graphql(reset, json!({ "t": token, "p": "a brand new password" }))
            .await,
    );
    let twice = app
        .graphql(reset, json!({ "t": token, "p": "another new password" }))
        .await;
    assert_eq!(error_code(&twice), Some("BAD_USER_INPUT"), "single use");

    assert_eq!(
        error_code(&app.login("forgot@example.org", PASSWORD).await),
        Some("BAD_USER_INPUT")
    );
    app.session("forgot@example.org", "a brand new password")
        .await;
    assert_eq!(
        error_code(&refresh(&app, &session.refresh).await),
        Some("UNAUTHENTICATED"),
        "old sessions end"
    );

    // An expired link does not work.
    data(
        &app.graphql(
            "mutation { requestPasswordReset(email: \"forgot@example.org\") }",
            json!({}),
        )
        .await,
    );
    let token = app.emailed_token("forgot@example.org").await;
    app.clock.advance(chrono::Duration::minutes(31));
    let late = app
        .graphql(reset, json!({ "t": token, "p": "yet another password" }))
        .await;
    assert_eq!(error_code(&late), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn failed_logins_lock_the_account_even_through_aliases_and_restarts() {
    let app = app().await;
    app.user("guarded@example.org").await;
    let attempts: String = (0..6)
        .map(|i| format!(r#"a{i}: login(email: "guarded@example.org", password: "wrong guess {i}") {{ accessToken }}"#))
        .collect::<Vec<_>>()
        .join(" ");
    let response = app
        .graphql(&format!("mutation {{ {attempts} }}"), json!({}))
        .await;
    let codes: Vec<&str> = response["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["BAD_USER_INPUT"; 5]
            .iter()
            .copied()
            .chain(["LIMIT_EXCEEDED"])
            .collect::<Vec<_>>()
    );

    // Even the right password is refused while locked, also by another instance.
    assert_eq!(
        error_code(&app.login("guarded@example.org", PASSWORD).await),
        Some("LIMIT_EXCEEDED")
    );
    let db = clone_db(&app);
    let second = TestApp::spawn_on(db, |config| {
        config.jwt_secret = Some(SECRET.to_owned().into())
    })
    .await;
    second.clock.set(app.clock.now());
    assert_eq!(
        error_code(&second.login("guarded@example.org", PASSWORD).await),
        Some("LIMIT_EXCEEDED")
    );

    app.clock.advance(chrono::Duration::minutes(16));
    data(&app.login("guarded@example.org", PASSWORD).await);
}

fn clone_db(app: &TestApp) -> common::TestDb {
    app.db.shared()
}

#[tokio::test]
async fn failed_logins_from_one_address_are_throttled_across_accounts() {
    let app = app().await;
    app.user("victim@example.org").await;
    for i in 0..20 {
        let response = app
            .login(&format!("guess{i}@example.org"), "wrong guess")
            .await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
    }
    assert_eq!(
        error_code(&app.login("victim@example.org", PASSWORD).await),
        Some("LIMIT_EXCEEDED")
    );
}

#[tokio::test]
async fn the_viewer_updates_their_profile() {
    let app = app().await;
    let session = app.user("me@example.org").await;
    let update = "mutation($input: UpdateMeInput!) { updateMe(input: $input) { name locale } }";
    let changed = app
        .graphql_as(
            Some(&session.access),
            update,
            json!({ "input": { "name": "Wang Fang", "locale": "zh-CN" } }),
        )
        .await;
    assert_eq!(
        data(&changed)["updateMe"],
        json!({ "name": "Wang Fang", "locale": "zh-CN" })
    );

    let no_proof = app
        .graphql_as(
            Some(&session.access),
            update,
            json!({ "input": { "newPassword": "a whole new password" } }),
        )
        .await;
    assert_eq!(error_code(&no_proof), Some("BAD_USER_INPUT"));
    let wrong_proof = app
        .graphql_as(Some(&session.access), update, json!({ "input": { "currentPassword": "nope nope", "newPassword": "a whole new password" } }))
        .await;
    assert_eq!(
        wrong_proof["errors"][0]["extensions"]["field"],
        "input.currentPassword"
    );
    data(&app
        .graphql_as(Some(&session.access), update, json!({ "input": { "currentPassword": PASSWORD, "newPassword": "a whole new password" } }))
        .await);
    app.session("me@example.org", "a whole new password").await;

    let anonymous = app
        .graphql(update, json!({ "input": { "name": "X" } }))
        .await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

/// Who may do what: anonymous, a signed-in user and an admin, against every query and mutation
/// of this area that needs a viewer.
#[tokio::test]
async fn permission_matrix() {
    let app = app().await;
    let admin = app.admin().await;
    let user = app.user("user@example.org").await;

    let operations: Vec<(&str, String, Value)> = vec![
        ("me", ME.to_owned(), json!({})),
        (
            "updateMe",
            "mutation { updateMe(input: { name: \"N\" }) { name } }".into(),
            json!({}),
        ),
        (
            "emailOutbox",
            "{ emailOutbox { totalCount } }".into(),
            json!({}),
        ),
        (
            "retryEmail",
            format!(
                "mutation {{ retryEmail(id: \"{}\") {{ id }} }}",
                uuid::Uuid::new_v4()
            ),
            json!({}),
        ),
        // Last: the admin's grant changes what the user may do.
        (
            "grantRole",
            format!(
                "mutation {{ grantRole(userId: \"{}\", role: ADMIN) {{ id }} }}",
                user.id
            ),
            json!({}),
        ),
    ];
    // Expected code per viewer: None means allowed.
    let expected: [(&str, [Option<&str>; 3]); 5] = [
        ("me", [Some("UNAUTHENTICATED"), None, None]),
        ("updateMe", [Some("UNAUTHENTICATED"), None, None]),
        (
            "emailOutbox",
            [Some("UNAUTHENTICATED"), Some("FORBIDDEN"), None],
        ),
        (
            "retryEmail",
            [
                Some("UNAUTHENTICATED"),
                Some("FORBIDDEN"),
                Some("NOT_FOUND"),
            ],
        ),
        (
            "grantRole",
            [Some("UNAUTHENTICATED"), Some("FORBIDDEN"), None],
        ),
    ];
    for ((name, query, variables), (expected_name, codes)) in operations.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        for (viewer, code) in [
            None,
            Some(user.access.as_str()),
            Some(admin.access.as_str()),
        ]
        .into_iter()
        .zip(codes)
        {
            let response = app.graphql_as(viewer, query, variables.clone()).await;
            assert_eq!(
                error_code(&response),
                code,
                "{name} as {viewer:?}: {response}"
            );
        }
    }
    // The grant took effect; revoking works and is refused to non-admins.
    let me = app.graphql_as(Some(&user.access), ME, json!({})).await;
    assert_eq!(data(&me)["me"]["roles"], json!(["ADMIN"]));
    let revoke = format!(
        "mutation {{ revokeRole(userId: \"{}\", role: ADMIN) {{ id }} }}",
        user.id
    );
    data(
        &app.graphql_as(Some(&admin.access), &revoke, json!({}))
            .await,
    );
    assert_eq!(
        error_code(&app.graphql_as(Some(&user.access), &revoke, json!({})).await),
        Some("FORBIDDEN")
    );
}

#[tokio::test]
async fn admins_see_the_outbox_without_secrets_and_retry_failures() {
    let app = app().await;
    let admin = app.admin().await;
    app.register("pending@example.org", "en").await;
    let outbox = app
        .graphql_as(
            Some(&admin.access),
            "{ emailOutbox(filter: { statuses: [PENDING] }, first: 10) { totalCount edges { node { id kind status bodyText bodyHtml carriesSecret } } } }",
            json!({}),
        )
        .await;
    let connection = &data(&outbox)["emailOutbox"];
    assert_eq!(connection["totalCount"], 1);
    let node = &connection["edges"][0]["node"];
    assert_eq!(node["kind"], "verify_email");
    assert_eq!(node["carriesSecret"], true);
    assert!(
        node["bodyText"].is_null() && node["bodyHtml"].is_null(),
        "no sign-in link leaks: {node}"
    );

    let retry = format!(
        "mutation {{ retryEmail(id: \"{}\") {{ status }} }}",
        node["id"].as_str().unwrap()
    );
    assert_eq!(
        error_code(&app.graphql_as(Some(&admin.access), &retry, json!({})).await),
        Some("INVALID_STATE")
    );
}

#[tokio::test]
async fn an_admin_sends_a_test_message_that_shows_its_body() {
    let app = app().await;
    let admin = app.admin().await;
    let user = app.user("someone@example.org").await;
    let send = "mutation { sendTestEmail(to: \"ops@example.org\", locale: \"zh-CN\") { subject status bodyText carriesSecret } }";
    assert_eq!(
        error_code(&app.graphql_as(Some(&user.access), send, json!({})).await),
        Some("FORBIDDEN")
    );
    let sent = app.graphql_as(Some(&admin.access), send, json!({})).await;
    let message = &data(&sent)["sendTestEmail"];
    assert_eq!(message["subject"], "Bridgefund 测试邮件");
    assert_eq!(message["status"], "PENDING");
    assert_eq!(message["carriesSecret"], false);
    assert!(message["bodyText"].as_str().unwrap().contains("测试邮件"));
    app.deliver_mail().await;
    assert!(app.sent_mail().iter().any(|m| m.to == "ops@example.org"));
}

#[tokio::test]
async fn registration_succeeds_while_the_mail_server_is_down_and_the_email_follows() {
    let smtp = common::smtp::SmtpServer::down();
    let app = TestApp::spawn_with(|config| {
        config.mail.smtp_url = Some(smtp.url().into());
        config.mail.backoff_base_secs = 1;
        config.mail.smtp_timeout_secs = 5;
    })
    .await;
    data(&app.register("patient@example.org", "en").await);
    assert_eq!(app.deliver_mail().await.failed, 1);
    smtp.come_up();
    app.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(app.deliver_mail().await.sent, 1);
    let received = smtp.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert_eq!(received[0].to, ["patient@example.org"]);
    assert_eq!(
        received[0].parsed().subject(),
        Some("Confirm your email address for Bridgefund")
    );
}

#[tokio::test]
async fn the_outbox_pages_with_cursors() {
    let app = app().await;
    let admin = app.admin().await;
    for i in 0..5 {
        app.register(&format!("p{i}@example.org"), "en").await;
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let page = |after: Option<String>| {
        let admin = admin.access.clone();
        let app = &app;
        async move {
            app.graphql_as(
                Some(&admin),
                "query($after: String) { emailOutbox(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { recipient } } } }",
                json!({ "after": after }),
            )
            .await
        }
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let response = page(after.clone()).await;
        let connection = data(&response)["emailOutbox"].clone();
        assert_eq!(connection["totalCount"], 5);
        for edge in connection["edges"].as_array().unwrap() {
            seen.push(edge["node"]["recipient"].as_str().unwrap().to_owned());
        }
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(
        seen,
        [
            "p4@example.org",
            "p3@example.org",
            "p2@example.org",
            "p1@example.org",
            "p0@example.org"
        ]
    );
    let too_many = app
        .graphql_as(
            Some(&admin.access),
            "{ emailOutbox(first: 101) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&too_many), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn batched_login_attempts_count_one_by_one() {
    let app = TestApp::spawn_with(|config| {
        config.jwt_secret = Some(SECRET.to_owned().into());
        config.graphql.max_batch = 10;
    })
    .await;
    app.user("batched@example.org").await;
    let attempt = |i: usize| {
        json!({
            "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
            "variables": { "e": "batched@example.org", "p": format!("wrong guess {i}") }
        })
    };
    let batch: Vec<Value> = (0..5).map(attempt).collect();
    let responses: Value = app
        .http
        .post(app.url("/graphql"))
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(responses.as_array().map(Vec::len), Some(5));
    // Five failures in one request lock the account, as five requests would.
    assert_eq!(
        error_code(&app.login("batched@example.org", PASSWORD).await),
        Some("LIMIT_EXCEEDED")
    );
}
