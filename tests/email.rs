//! Email: the outbox is written in the business transaction, and the worker delivers each message
//! once (at most twice after a crash, with the same Message-ID), over real SMTP.

mod common;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use bridgefund::domain::email::EmailAddress;
use bridgefund::domain::locale::Locale;
use bridgefund::notify::{EmailKind, Enqueued, Recipient, enqueue, outbox};
use common::smtp::SmtpServer;
use common::{TestApp, TestDb};
use entity::email_outbox::{self, Entity as Outbox};
use sea_orm::{EntityTrait, TransactionTrait};
use serde_json::json;

fn address(text: &str) -> EmailAddress {
    text.parse().unwrap()
}

/// Enqueues a test message in its own committed transaction.
async fn enqueue_test_message(
    app: &TestApp,
    to: &str,
    locale: Option<Locale>,
    key: &str,
) -> Enqueued {
    let context = &app.context;
    let txn = context.db.begin().await.unwrap();
    let to = address(to);
    let enqueued = enqueue(
        &txn,
        &context.notifier,
        &context.clock,
        EmailKind::Test,
        Recipient {
            address: &to,
            name: Some("Li Wei"),
            locale,
        },
        key,
        &json!({ "name": "Li Wei", "sent_at": "2027-03-01 08:00 UTC" }),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    enqueued
}

async fn outbox_rows(app: &TestApp) -> Vec<email_outbox::Model> {
    Outbox::find().all(&app.context.db).await.unwrap()
}

#[tokio::test]
async fn the_worker_delivers_over_real_smtp_in_the_recipients_language() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_with(|config| {
        config.mail.smtp_url = Some(smtp.url().into());
        config.mail.worker_enabled = true;
    })
    .await;

    enqueue_test_message(&app, "li.wei@example.org", Some(Locale::ZhCn), "test:1").await;

    let received = smtp.wait_for(1, Duration::from_secs(20)).await;
    let message = &received[0];
    assert_eq!(message.to, ["li.wei@example.org"]);
    let parsed = message.parsed();
    assert_eq!(parsed.subject(), Some("Bridgefund 测试邮件"));
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("这是 Bridgefund"), "{text}");
    assert!(!text.contains("This is a test message"));
    let row = &outbox_rows(&app).await[0];
    assert_eq!(
        message.header("Message-ID").as_deref(),
        Some(row.message_id.as_str())
    );

    // The worker records the delivery.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if outbox_rows(&app).await[0].status == "SENT" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "row marked SENT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_recipient_without_a_language_gets_both_english_first() {
    let app = TestApp::spawn().await;
    enqueue_test_message(&app, "sam@example.org", None, "test:both").await;
    assert_eq!(app.deliver_mail().await.sent, 1);
    let sent = app.sent_mail();
    assert_eq!(
        sent[0].subject,
        "Bridgefund test message / Bridgefund 测试邮件"
    );
}

#[tokio::test]
async fn a_message_waits_while_the_mail_server_is_down_and_goes_once_it_is_back() {
    let smtp = SmtpServer::down();
    let app = TestApp::spawn_with(|config| {
        config.mail.smtp_url = Some(smtp.url().into());
        config.mail.backoff_base_secs = 60;
        config.mail.smtp_timeout_secs = 5;
    })
    .await;
    enqueue_test_message(&app, "li.wei@example.org", Some(Locale::En), "test:down").await;

    let report = app.deliver_mail().await;
    assert_eq!((report.claimed, report.failed), (1, 1));
    let row = &outbox_rows(&app).await[0];
    assert_eq!(row.status, "FAILED");
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.is_some());

    // Not due yet: the backoff holds it back.
    smtp.come_up();
    assert_eq!(app.deliver_mail().await.claimed, 0);

    app.clock.advance(chrono::Duration::seconds(120));
    assert_eq!(app.deliver_mail().await.sent, 1);
    assert_eq!(smtp.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    let row = &outbox_rows(&app).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("SENT", 2));

    assert_eq!(app.deliver_mail().await.claimed, 0, "sent once");
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn a_message_is_dead_after_its_last_attempt() {
    let smtp = SmtpServer::down();
    let app = TestApp::spawn_with(|config| {
        config.mail.smtp_url = Some(smtp.url().into());
        config.mail.max_attempts = 2;
        config.mail.backoff_base_secs = 1;
        config.mail.smtp_timeout_secs = 5;
    })
    .await;
    enqueue_test_message(&app, "li.wei@example.org", None, "test:dead").await;
    app.deliver_mail().await;
    app.clock.advance(chrono::Duration::seconds(10));
    app.deliver_mail().await;
    let row = &outbox_rows(&app).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("DEAD", 2));
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(
        app.deliver_mail().await.claimed,
        0,
        "dead messages stay dead"
    );
}

#[tokio::test]
async fn a_rolled_back_transaction_sends_nothing() {
    let app = TestApp::spawn().await;
    let context = &app.context;
    let txn = context.db.begin().await.unwrap();
    let to = address("li.wei@example.org");
    enqueue(
        &txn,
        &context.notifier,
        &context.clock,
        EmailKind::Test,
        Recipient {
            address: &to,
            name: None,
            locale: None,
        },
        "test:rollback",
        &json!({ "name": "x", "sent_at": "now" }),
    )
    .await
    .unwrap();
    txn.rollback().await.unwrap();

    assert_eq!(app.deliver_mail().await.claimed, 0);
    assert!(outbox_rows(&app).await.is_empty());
    assert!(app.sent_mail().is_empty());
}

#[tokio::test]
async fn the_same_event_is_enqueued_once() {
    let app = TestApp::spawn().await;
    let first = enqueue_test_message(&app, "a@example.org", None, "test:same").await;
    let second = enqueue_test_message(&app, "a@example.org", None, "test:same").await;
    assert!(matches!(first, Enqueued::New(_)));
    assert_eq!(second, Enqueued::AlreadyQueued);
    assert_eq!(outbox_rows(&app).await.len(), 1);
}

#[tokio::test]
async fn a_crashed_senders_messages_are_taken_over_with_the_same_message_id() {
    let app = TestApp::spawn_with(|config| config.mail.lease_secs = 60).await;
    enqueue_test_message(&app, "a@example.org", None, "test:crash").await;
    let context = &app.context;

    // A worker claims the message and dies before sending it.
    let claimed = outbox::claim_due(
        &context.db,
        &context.clock,
        "crashed",
        chrono::Duration::seconds(60),
        10,
    )
    .await
    .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(app.deliver_mail().await.claimed, 0, "the lease holds");

    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        app.deliver_mail().await.sent,
        1,
        "the lease expired: taken over"
    );
    assert_eq!(app.sent_mail()[0].message_id, claimed[0].message_id);

    // The crashed worker, if it comes back, cannot record anything.
    assert!(
        !outbox::mark_sent(&context.db, &context.clock, claimed[0].id, "crashed")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_stopping_worker_gives_back_what_it_has_not_sent() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        enqueue_test_message(&app, "a@example.org", None, &format!("test:stop:{i}")).await;
    }
    let stop = tokio_util::sync::CancellationToken::new();
    stop.cancel();
    let worker = bridgefund::service::mail_worker::Worker::new(app.context.clone()).unwrap();
    let report = worker.deliver_due(Some(&stop)).await.unwrap();
    assert_eq!((report.claimed, report.sent, report.released), (3, 0, 3));
    for row in outbox_rows(&app).await {
        assert_eq!((row.status.as_str(), row.attempts), ("PENDING", 0));
    }
    assert_eq!(app.deliver_mail().await.sent, 3);
}

#[tokio::test]
async fn the_default_transport_writes_eml_files_to_the_mail_folder() {
    let mail_dir = tempfile::tempdir().unwrap();
    let app =
        TestApp::spawn_with(|config| config.mail.mail_dir = Some(mail_dir.path().to_owned())).await;
    enqueue_test_message(&app, "a@example.org", Some(Locale::En), "test:folder").await;
    assert_eq!(app.deliver_mail().await.sent, 1);
    let files: Vec<_> = std::fs::read_dir(mail_dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains(&outbox_rows(&app).await[0].message_id));
}

/// Two `bridgefund worker` processes on one database: each of 200 messages is sent once.
#[tokio::test]
async fn two_worker_processes_send_each_message_once() {
    let smtp = SmtpServer::start();
    let db = TestDb::create().await;
    let app = TestApp::spawn_on(db, |_| {}).await;
    // The worker processes run on the system clock: queue the messages as due by it.
    app.clock
        .set(chrono::Utc::now() - chrono::Duration::minutes(1));
    for i in 0..200 {
        enqueue_test_message(
            &app,
            &format!("member{i}@example.org"),
            None,
            &format!("test:two:{i}"),
        )
        .await;
    }

    let data_dir = tempfile::tempdir().unwrap();
    let spawn_worker = || {
        Command::new(env!("CARGO_BIN_EXE_bridgefund"))
            .arg("worker")
            .env("DATABASE_URL", &app.db.url)
            .env("BRIDGEFUND_DATA_DIR", data_dir.path())
            .env("BRIDGEFUND_SMTP_URL", smtp.url())
            .env("BRIDGEFUND_MAIL_POLL_INTERVAL_MS", "20")
            .env("BRIDGEFUND_MAIL_BATCH_SIZE", "7")
            .env("BRIDGEFUND_PRODUCTION", "false")
            .env("BRIDGEFUND_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let workers = [spawn_worker(), spawn_worker()];

    let received = smtp.wait_for(200, Duration::from_secs(120)).await;
    // Let any duplicate arrive before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = if smtp.received().len() > received.len() {
        smtp.received()
    } else {
        received
    };
    for worker in &workers {
        let _ = Command::new("kill")
            .args(["-TERM", &worker.id().to_string()])
            .status();
    }
    for mut worker in workers {
        let status = tokio::task::spawn_blocking(move || worker.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "worker exits cleanly: {status}");
    }

    assert_eq!(received.len(), 200, "no message sent twice");
    let ids: HashSet<_> = received
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 200);
    assert!(
        outbox_rows(&app)
            .await
            .iter()
            .all(|row| row.status == "SENT")
    );
}
