//! The `bridgefund` binary as an operator runs it: subcommands, and a clean stop on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TestDb;

fn bridgefund(db: &TestDb, data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bridgefund"));
    command
        .env("DATABASE_URL", &db.url)
        .env("BRIDGEFUND_DATA_DIR", data_dir)
        .env("BRIDGEFUND_LISTEN", "127.0.0.1:0")
        .env("BRIDGEFUND_LOG_FORMAT", "text")
        .env("BRIDGEFUND_PRODUCTION", "false")
        .env("NO_COLOR", "1");
    command
}

#[test]
fn schema_prints_the_sdl() {
    let output = Command::new(env!("CARGO_BIN_EXE_bridgefund"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        bridgefund::graphql::sdl()
    );
}

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_bridgefund"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for variable in [
        "DATABASE_URL",
        "BRIDGEFUND_LISTEN",
        "BRIDGEFUND_PRODUCTION",
        "BRIDGEFUND_SMTP_URL",
    ] {
        assert!(help.contains(variable), "--help names {variable}");
    }
}

#[tokio::test]
async fn migrate_up_status_and_down() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = bridgefund(&db, dir.path()).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    run(&["migrate", "up"]);
    let status = run(&["migrate", "status"]);
    assert!(status.contains("Applied"), "{status}");
    run(&["migrate", "down", "--steps", "1"]);
    let status = run(&["migrate", "status"]);
    assert!(status.contains("Pending"), "{status}");
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = bridgefund(&db, dir.path())
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("address=").nth(1) {
                let _ = address_tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let address = address_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server logs its address");

    let health = reqwest::get(format!("http://{address}/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn admin_create_makes_an_admin_who_can_sign_in() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let output = bridgefund(&db, dir.path())
        .args([
            "admin",
            "create",
            "--email",
            "Root@Example.org",
            "--name",
            "Root",
        ])
        .env("BRIDGEFUND_NEW_ADMIN_PASSWORD", "an admin password")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let app = common::TestApp::spawn_on(db, |_| {}).await;
    let session = app.session("root@example.org", "an admin password").await;
    let me = app
        .graphql_as(
            Some(&session.access),
            "{ me { roles } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        common::data(&me)["me"]["roles"],
        serde_json::json!(["ADMIN"])
    );
}

#[tokio::test]
async fn the_first_start_creates_the_admin_from_the_environment() {
    let app = common::TestApp::spawn_with(|config| {
        config.admin_email = Some("first@example.org".into());
        config.admin_password = Some("first admin password".to_owned().into());
    })
    .await;
    let session = app
        .session("first@example.org", "first admin password")
        .await;
    let me = app
        .graphql_as(
            Some(&session.access),
            "{ me { roles } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        common::data(&me)["me"]["roles"],
        serde_json::json!(["ADMIN"])
    );
}
