//! Database connections: one pool for SQLite or PostgreSQL, set up so that both behave the same
//! under concurrency, and the transaction helper every use case starts with.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

/// Opens the pool. SQLite gets WAL (readers never block the writer), a busy timeout (writers queue
/// instead of failing with "database is locked") and enforced foreign keys; PostgreSQL sessions
/// do without parallel query.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // Our statements are small and indexed: starting parallel workers costs more than it
        // saves (a fund summary took 29 ms with one worker and 4 ms without, at scale 10).
        .map_sqlx_postgres_opts(|opts| opts.options([("max_parallel_workers_per_gather", "0")]))
        .map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
        });
    Database::connect(options)
        .await
        .with_context(|| format!("could not connect to the database at {}", redact_url(url)))
}

/// Starts a transaction for a use case that writes. On SQLite it is `BEGIN IMMEDIATE`: the write
/// lock is taken up front, so a read-then-write transaction queues behind another writer instead
/// of failing when it tries to upgrade its read snapshot.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// The path of a SQLite database file, from its URL (`sqlite://path?mode=rwc`, `sqlite:path`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Whether the database can serve requests now: it answers a query and, for SQLite, its file is
/// still where it was and can still be written.
pub async fn check_ready(db: &DatabaseConnection, url: &str) -> anyhow::Result<()> {
    if db.get_database_backend() == DatabaseBackend::Sqlite
        && let Some(path) = sqlite_path(url)
    {
        let metadata = std::fs::metadata(&path)
            .with_context(|| format!("database file {} is gone", path.display()))?;
        anyhow::ensure!(
            !metadata.permissions().readonly(),
            "database file {} is read-only",
            path.display()
        );
    }
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT 1",
    ))
    .await
    .context("database did not answer")?;
    Ok(())
}

/// A URL with its password hidden, for log lines and error messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(
            sqlite_path("sqlite://bridgefund.db"),
            Some(PathBuf::from("bridgefund.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/db"), None);
    }

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/bridgefund"),
            "postgres://app:***@db:5432/bridgefund"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
