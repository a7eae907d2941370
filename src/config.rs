//! One typed configuration for the whole service. Every setting is a command-line flag and an
//! environment variable, read once at start; nothing deeper in the code reads `std::env`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use secrecy::SecretString;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database to use: `sqlite://path/to/file.db` or `postgres://user@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://bridgefund.db",
        global = true
    )]
    pub database_url: String,

    /// Largest number of pooled database connections.
    #[arg(
        long,
        env = "BRIDGEFUND_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub db_max_connections: u32,

    /// Address and port the HTTP server listens on.
    #[arg(
        long,
        env = "BRIDGEFUND_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Folder for files the service keeps itself: the generated development signing secret, the
    /// mail folder and uploaded documents.
    #[arg(
        long,
        env = "BRIDGEFUND_DATA_DIR",
        default_value = "bridgefund-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Production mode: GraphiQL and introspection off, and development defaults (a generated
    /// signing secret, the mail folder instead of SMTP) refused at start.
    #[arg(
        long,
        env = "BRIDGEFUND_PRODUCTION",
        default_value_t = false,
        global = true
    )]
    pub production: bool,

    /// Serve GraphiQL at `GET /graphql` (always off in production).
    #[arg(long, env = "BRIDGEFUND_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// Answer introspection queries (always off in production).
    #[arg(long, env = "BRIDGEFUND_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,

    /// Secret that signs access tokens, at least 32 bytes. Without it a random secret is generated
    /// once and kept in the data folder (refused in production).
    #[arg(
        long,
        env = "BRIDGEFUND_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<SecretString>,

    /// Email of the first admin, created at start when no admin exists yet (with
    /// BRIDGEFUND_ADMIN_PASSWORD).
    #[arg(long, env = "BRIDGEFUND_ADMIN_EMAIL", global = true)]
    pub admin_email: Option<String>,

    /// Password of the first admin (see BRIDGEFUND_ADMIN_EMAIL).
    #[arg(
        long,
        env = "BRIDGEFUND_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub admin_password: Option<SecretString>,

    /// Origins allowed to call the API from a browser, comma-separated (`*` for any). Empty means
    /// same-origin only.
    #[arg(
        long,
        env = "BRIDGEFUND_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// Seconds an answer to an anonymous read of public data (the open calls, a call) is reused
    /// for other anonymous readers; 0 turns this off. Such answers are the same for everyone who
    /// is not signed in, and the most requested; a change shows within this many seconds.
    #[arg(
        long,
        env = "BRIDGEFUND_PUBLIC_CACHE_SECONDS",
        default_value_t = 5,
        global = true
    )]
    pub public_cache_seconds: u32,

    /// Largest request body accepted, in bytes; larger requests get 413.
    #[arg(long, env = "BRIDGEFUND_BODY_LIMIT", default_value_t = 1024 * 1024, global = true)]
    pub body_limit: usize,

    /// Largest upload (one file, and the whole multipart request), in bytes.
    #[arg(long, env = "BRIDGEFUND_UPLOAD_LIMIT", default_value_t = 20 * 1024 * 1024, global = true)]
    pub upload_limit: usize,

    /// Most files in one multipart request.
    #[arg(
        long,
        env = "BRIDGEFUND_UPLOAD_MAX_FILES",
        default_value_t = 5,
        global = true
    )]
    pub upload_max_files: usize,

    /// Longest time a request may take, in seconds; slower requests get 408.
    #[arg(
        long,
        env = "BRIDGEFUND_REQUEST_TIMEOUT",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// Longest time in-flight requests get to finish after a shutdown signal, in seconds.
    #[arg(
        long,
        env = "BRIDGEFUND_SHUTDOWN_GRACE",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_grace_secs: u64,

    /// Log format.
    #[arg(long, env = "BRIDGEFUND_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Log filter, in `tracing` directive syntax (for example `info,bridgefund=debug`).
    #[arg(long, env = "BRIDGEFUND_LOG", default_value = "info", global = true)]
    pub log: String,

    /// How often the scheduler opens and closes calls at their times, in seconds.
    #[arg(
        long,
        env = "BRIDGEFUND_SCHEDULER_INTERVAL_SECS",
        default_value_t = 30,
        global = true
    )]
    pub scheduler_interval_secs: u64,

    /// How long before a call closes the members of organisations with a draft in it are
    /// reminded (once), in hours.
    #[arg(
        long,
        env = "BRIDGEFUND_DRAFT_REMINDER_HOURS",
        default_value_t = 72,
        global = true
    )]
    pub draft_reminder_hours: i64,

    /// How long before a review is due its reviewer is reminded (once), in hours. Overdue
    /// reviews get one more reminder when the due date passes.
    #[arg(
        long,
        env = "BRIDGEFUND_REVIEW_REMINDER_HOURS",
        default_value_t = 48,
        global = true
    )]
    pub review_reminder_hours: i64,

    #[command(flatten)]
    pub graphql: GraphqlLimits,

    #[command(flatten)]
    pub mail: MailConfig,
}

/// Protections against expensive or abusive GraphQL documents.
#[derive(Debug, Clone, Args)]
pub struct GraphqlLimits {
    /// Deepest selection nesting a query may have.
    #[arg(
        long = "graphql-max-depth",
        env = "BRIDGEFUND_GRAPHQL_MAX_DEPTH",
        default_value_t = 12,
        global = true
    )]
    pub max_depth: usize,

    /// Highest complexity a query may have: each field counts 1, and a list field multiplies
    /// what it selects by `first` (a page of 100 with 50 fields costs 5000).
    #[arg(
        long = "graphql-max-complexity",
        env = "BRIDGEFUND_GRAPHQL_MAX_COMPLEXITY",
        default_value_t = 10_000,
        global = true
    )]
    pub max_complexity: usize,

    /// Deepest recursion of selection sets and fragments the parser accepts.
    #[arg(
        long = "graphql-max-recursive-depth",
        env = "BRIDGEFUND_GRAPHQL_MAX_RECURSIVE_DEPTH",
        default_value_t = 24,
        global = true
    )]
    pub max_recursive_depth: usize,

    /// Most directives a document may use.
    #[arg(
        long = "graphql-max-directives",
        env = "BRIDGEFUND_GRAPHQL_MAX_DIRECTIVES",
        default_value_t = 16,
        global = true
    )]
    pub max_directives: usize,

    /// Most aliased fields a document may have.
    #[arg(
        long = "graphql-max-aliases",
        env = "BRIDGEFUND_GRAPHQL_MAX_ALIASES",
        default_value_t = 15,
        global = true
    )]
    pub max_aliases: usize,

    /// Most operations in one batched request; 0 turns batching off.
    #[arg(
        long = "graphql-max-batch",
        env = "BRIDGEFUND_GRAPHQL_MAX_BATCH",
        default_value_t = 5,
        global = true
    )]
    pub max_batch: usize,
}

/// Where email goes and how the delivery worker behaves.
#[derive(Debug, Clone, Args)]
pub struct MailConfig {
    /// SMTP server (`smtp://user:pass@host:587` with STARTTLS, `smtps://host:465` with TLS, or
    /// `smtp://host:25?tls=none` for a local relay). Without it, messages are written as `.eml`
    /// files to the mail folder (refused in production).
    #[arg(
        long,
        env = "BRIDGEFUND_SMTP_URL",
        hide_env_values = true,
        global = true
    )]
    pub smtp_url: Option<SecretString>,

    /// Folder for `.eml` files when no SMTP server is configured; defaults to `mail` in the data
    /// folder.
    #[arg(long, env = "BRIDGEFUND_MAIL_DIR", global = true)]
    pub mail_dir: Option<PathBuf>,

    /// Sender of every message, as `Name <address>`.
    #[arg(
        long,
        env = "BRIDGEFUND_MAIL_FROM",
        default_value = "Bridgefund <no-reply@bridgefund.localhost>",
        global = true
    )]
    pub from: String,

    /// Public address of the frontend, used for links in messages.
    #[arg(
        long,
        env = "BRIDGEFUND_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub public_url: String,

    /// Run the delivery worker inside `serve`.
    #[arg(long = "mail-worker", env = "BRIDGEFUND_MAIL_WORKER", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub worker_enabled: bool,

    /// How often the worker looks for due messages, in milliseconds.
    #[arg(
        long = "mail-poll-interval-ms",
        env = "BRIDGEFUND_MAIL_POLL_INTERVAL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub poll_interval_ms: u64,

    /// Messages claimed at once by one worker.
    #[arg(
        long = "mail-batch-size",
        env = "BRIDGEFUND_MAIL_BATCH_SIZE",
        default_value_t = 20,
        global = true
    )]
    pub batch_size: u64,

    /// Attempts before a message is given up as `DEAD`.
    #[arg(
        long = "mail-max-attempts",
        env = "BRIDGEFUND_MAIL_MAX_ATTEMPTS",
        default_value_t = 8,
        global = true
    )]
    pub max_attempts: i32,

    /// How long a claimed message may stay `SENDING` before another worker may take it over, in
    /// seconds (a crashed sender's lease expires).
    #[arg(
        long = "mail-lease-secs",
        env = "BRIDGEFUND_MAIL_LEASE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub lease_secs: u64,

    /// First retry delay, in seconds; doubled at each attempt, with jitter.
    #[arg(
        long = "mail-backoff-secs",
        env = "BRIDGEFUND_MAIL_BACKOFF_SECS",
        default_value_t = 30,
        global = true
    )]
    pub backoff_base_secs: u64,

    /// Timeout of one SMTP delivery, in seconds.
    #[arg(
        long = "smtp-timeout-secs",
        env = "BRIDGEFUND_SMTP_TIMEOUT_SECS",
        default_value_t = 20,
        global = true
    )]
    pub smtp_timeout_secs: u64,
}

impl Config {
    /// The configuration that flags and environment give when nothing is set.
    pub fn from_env() -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            config: Config,
        }
        <Only as clap::Parser>::try_parse_from(["bridgefund"]).map(|only| only.config)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// GraphiQL is a development tool: production never serves it.
    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql && !self.production
    }

    pub fn introspection_enabled(&self) -> bool {
        self.introspection && !self.production
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.mail
            .mail_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("mail"))
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// Production refuses the conveniences that make `cargo run` work with nothing installed.
    pub fn check_production(&self) -> Result<(), ConfigError> {
        if !self.production {
            return Ok(());
        }
        let mut missing = Vec::new();
        if self.jwt_secret.is_none() {
            missing.push(
                "BRIDGEFUND_JWT_SECRET is not set: production does not use a generated signing secret",
            );
        }
        if self.mail.smtp_url.is_none() {
            missing.push(
                "BRIDGEFUND_SMTP_URL is not set: production does not write email to the mail folder",
            );
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::ProductionDefaults(missing.join("; ")))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("refusing to start in production mode: {0}")]
    ProductionDefaults(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut config = Config::from_env().expect("defaults parse");
        config.production = false;
        config.jwt_secret = None;
        config.mail.smtp_url = None;
        config
    }

    #[test]
    fn development_defaults_are_accepted_outside_production() {
        assert!(config().check_production().is_ok());
    }

    #[test]
    fn production_refuses_generated_secret_and_mail_folder() {
        let mut config = config();
        config.production = true;
        let message = config.check_production().unwrap_err().to_string();
        assert!(message.contains("BRIDGEFUND_JWT_SECRET"), "{message}");
        assert!(message.contains("BRIDGEFUND_SMTP_URL"), "{message}");

        config.jwt_secret = Some("x".repeat(40).into());
        config.mail.smtp_url = Some("smtp://mail.example.org".to_owned().into());
        assert!(config.check_production().is_ok());
    }

    #[test]
    fn production_turns_graphiql_and_introspection_off() {
        let mut config = config();
        assert!(config.graphiql_enabled() && config.introspection_enabled());
        config.production = true;
        assert!(!config.graphiql_enabled() && !config.introspection_enabled());
    }
}
