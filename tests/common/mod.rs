//! The integration-test harness: the real application, started in-process on `127.0.0.1:0`
//! against a fresh database, spoken to over HTTP as a frontend would.
//!
//! The database is a temporary SQLite file by default. When `BRIDGEFUND_TEST_DATABASE_URL` holds a
//! PostgreSQL URL (of a database to connect to for administration, such as `postgres`), every test
//! gets its own database, copied from a migrated template and dropped afterwards.

#![allow(dead_code)]

pub mod smtp;
pub mod world;

use std::net::SocketAddr;
use std::time::Duration;

use bridgefund::clock::Clock;
use bridgefund::{AppContext, Application, Config};
use chrono::{DateTime, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TEST_DATABASE_ENV: &str = "BRIDGEFUND_TEST_DATABASE_URL";

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    kind: TestDbKind,
}

enum TestDbKind {
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another handle on a database some other `TestDb` owns.
    Shared,
}

impl TestDb {
    pub async fn create() -> TestDb {
        match std::env::var(TEST_DATABASE_ENV) {
            Ok(admin_url) if admin_url.starts_with("postgres") => create_postgres(&admin_url).await,
            _ => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb {
                    url,
                    kind: TestDbKind::Sqlite { _dir: dir },
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    /// The SQLite file, for tests that take it away.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        bridgefund::db::sqlite_path(&self.url).filter(|_| !self.is_postgres())
    }

    /// Removes the database while the application still uses it.
    pub async fn take_away(&self) {
        match &self.kind {
            TestDbKind::Sqlite { .. } => {
                let path = self.sqlite_path().expect("sqlite path");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            TestDbKind::Shared => panic!("only the owner takes a database away"),
            TestDbKind::Postgres { admin_url, name } => {
                let admin = connect_one(admin_url).await;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .expect("drop test database");
            }
        }
    }

    /// The same database for a second application instance. Only the original drops it.
    pub fn shared(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            kind: TestDbKind::Shared,
        }
    }

    pub async fn connect(&self) -> DatabaseConnection {
        bridgefund::db::connect(&self.url, 5)
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDbKind::Postgres { admin_url, name } = &self.kind {
            let admin_url = admin_url.clone();
            let name = name.clone();
            // Drop cannot await; a short-lived runtime on its own thread drops the database.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    let admin = connect_one(&admin_url).await;
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                });
            })
            .join();
        }
    }
}

async fn connect_one(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(1).sqlx_logging(false);
    Database::connect(options)
        .await
        .expect("connect to PostgreSQL for administration")
}

fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("PostgreSQL URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The template is named after the migrations it holds, so a new migration makes a new template.
fn template_name() -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for migration in Migrator::migrations() {
        migration.name().hash(&mut hasher);
    }
    format!("bf_tpl_{:016x}", hasher.finish())
}

async fn create_postgres(admin_url: &str) -> TestDb {
    let admin = connect_one(admin_url).await;
    let template = template_name();
    // Several test processes may start at once: one builds the template, the others wait.
    admin
        .execute_unprepared("SELECT pg_advisory_lock(727274)")
        .await
        .expect("advisory lock");
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [template.clone().into()],
        ))
        .await
        .expect("look up template")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
            ))
            .await
            .expect("drop half-built template");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{building}\""))
            .await
            .expect("create template");
        let db = connect_one(&database_url(admin_url, &building)).await;
        Migrator::up(&db, None).await.expect("migrate template");
        db.close().await.expect("close template");
        admin
            .execute_unprepared(&format!(
                "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
            ))
            .await
            .expect("publish template");
    }
    admin
        .execute_unprepared("SELECT pg_advisory_unlock(727274)")
        .await
        .expect("advisory unlock");

    let name = format!("bf_test_{}", uuid::Uuid::new_v4().simple());
    let mut attempts = 0;
    loop {
        match admin
            .execute_unprepared(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
            ))
            .await
        {
            Ok(_) => break,
            // Two copies of one template at the same instant can collide; try again shortly.
            Err(error) if attempts < 20 => {
                attempts += 1;
                let _ = error;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("create test database: {error}"),
        }
    }
    TestDb {
        url: database_url(admin_url, &name),
        kind: TestDbKind::Postgres {
            admin_url: admin_url.to_owned(),
            name,
        },
    }
}

/// The configuration tests start from: a free port, a private data folder, development mode.
pub fn test_config(database_url: &str, data_dir: &std::path::Path) -> Config {
    let mut config = Config::from_env().expect("default configuration");
    config.database_url = database_url.to_owned();
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.data_dir = data_dir.to_owned();
    config.production = false;
    config.graphiql = true;
    config.introspection = true;
    config.db_max_connections = 5;
    config.shutdown_grace_secs = 10;
    config.cors_origins = Vec::new();
    // One secret for every instance of a test, as a deployment has.
    config.jwt_secret = Some(
        "integration-test-signing-secret-32-bytes+"
            .to_owned()
            .into(),
    );
    config.admin_email = None;
    config.admin_password = None;
    config.mail.smtp_url = None;
    config.mail.mail_dir = None;
    // Tests deliver deterministically with `TestApp::deliver_mail`; some turn the worker on.
    config.mail.worker_enabled = false;
    config.mail.poll_interval_ms = 50;
    config
}

/// A running application and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub clock: Clock,
    pub context: AppContext,
    pub db: TestDb,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-03-01T08:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::create().await;
        Self::spawn_on(db, configure).await
    }

    /// Starts an application on an existing test database.
    pub async fn spawn_on(db: TestDb, configure: impl FnOnce(&mut Config)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("data folder");
        let mut config = test_config(&db.url, data_dir.path());
        configure(&mut config);
        let clock = Clock::manual(start_time());
        // Email goes to memory unless the test configured an SMTP server or a mail folder.
        let transport = (config.mail.smtp_url.is_none() && config.mail.mail_dir.is_none())
            .then(bridgefund::notify::transport::Transport::memory);
        let app = Application::build_with(config, clock.clone(), transport)
            .await
            .expect("application starts");
        let addr = app.local_addr();
        let context = app.context().clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            http: reqwest::Client::new(),
            clock,
            context,
            db,
            data_dir,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends one GraphQL operation and returns the whole JSON response.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(None, query, variables).await
    }

    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request reaches the server");
        assert_eq!(response.status(), 200, "GraphQL answers 200");
        response.json().await.expect("JSON response")
    }

    /// Runs one delivery round of the email worker.
    pub async fn deliver_mail(&self) -> bridgefund::service::mail_worker::DeliveryReport {
        bridgefund::service::mail_worker::Worker::new(self.context.clone())
            .expect("worker")
            .deliver_due(None)
            .await
            .expect("delivery round")
    }

    /// Messages the memory transport received.
    pub fn sent_mail(&self) -> Vec<bridgefund::notify::transport::CapturedEmail> {
        self.context.mail.captured()
    }

    /// Asks the application to stop and waits until it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.server.take() {
            Some(server) => server.await.expect("server task"),
            None => Ok(()),
        }
    }

    pub fn trigger_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    pub async fn wait_stopped(&mut self) -> anyhow::Result<()> {
        match self.server.take() {
            Some(server) => server.await.expect("server task"),
            None => Ok(()),
        }
    }
}

/// A signed-in test user.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub async fn register(&self, email: &str, locale: &str) -> Value {
        self.graphql(
            "mutation($input: RegisterInput!) { register(input: $input) { id email locale emailVerified } }",
            json!({ "input": { "email": email, "name": "Test Person", "locale": locale, "password": PASSWORD } }),
        )
        .await
    }

    /// The token in the newest link emailed to `to` (delivering what is due first).
    pub async fn emailed_token(&self, to: &str) -> String {
        self.deliver_mail().await;
        let sent = self.sent_mail();
        let message = sent
            .iter()
            .rev()
            .find(|m| m.to == to)
            .unwrap_or_else(|| panic!("no email to {to}"));
        let parsed = mail_parser::MessageParser::default()
            .parse(message.raw.as_bytes())
            .expect("parsable email");
        let text = parsed.body_text(0).expect("text body").into_owned();
        let start = text.find("token=").expect("a link with a token") + "token=".len();
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect()
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.graphql(
            "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken user { id } } }",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers, verifies and signs in a user.
    pub async fn user(&self, email: &str) -> Session {
        data(&self.register(email, "en").await);
        let token = self.emailed_token(&email.to_lowercase()).await;
        data(
            &self
                .graphql(
                    "mutation($t: String!) { verifyEmail(token: $t) }",
                    json!({ "t": token }),
                )
                .await,
        );
        self.session(email, PASSWORD).await
    }

    pub async fn session(&self, email: &str, password: &str) -> Session {
        let response = self.login(email, password).await;
        let login = &data(&response)["login"];
        Session {
            id: login["user"]["id"].as_str().expect("id").to_owned(),
            email: email.to_owned(),
            access: login["accessToken"].as_str().expect("token").to_owned(),
            refresh: login["refreshToken"].as_str().expect("token").to_owned(),
        }
    }

    /// An admin, created as `bridgefund admin create` does, and signed in.
    pub async fn admin(&self) -> Session {
        let email = "admin@bridgefund.test";
        bridgefund::service::identity::ensure_admin(
            &self.context,
            &email.parse().expect("email"),
            "Admin",
            &bridgefund::domain::identity::Password::parse(PASSWORD).expect("password"),
        )
        .await
        .expect("admin created");
        self.session(email, PASSWORD).await
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Panics with the response when it carries errors; returns `data`.
pub fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response:#}"
    );
    &response["data"]
}
