//! What every use case runs with: the database, the time, the settings, the mail and the document
//! store. It sits below the services and above the domain, so the composition root (`app`) builds
//! it and everything else only receives it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::DatabaseConnection;

use crate::auth::token::TokenKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::notify::Notifier;
use crate::notify::transport::Transport;

/// What every use case needs: the database, the time, and the settings.
#[derive(Clone)]
pub struct AppContext {
    pub db: DatabaseConnection,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub notifier: Arc<Notifier>,
    /// Where the worker delivers email.
    pub mail: Arc<Transport>,
    /// Signs and checks access tokens.
    pub tokens: Arc<TokenKeys>,
    /// SQL statements sent through the pool since start, transaction control included: statement
    /// budgets are tested with it and the benchmark reports it.
    pub statements: Arc<AtomicU64>,
    /// Where uploaded documents live.
    pub documents: crate::storage::DocumentStore,
}

impl AppContext {
    /// Starts a use case's write transaction (see [`crate::db::begin_write`]), counting its
    /// `BEGIN` and its `COMMIT` or `ROLLBACK` in [`AppContext::statements`], which the pool's
    /// statement callback does not see.
    pub async fn begin_write(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        self.statements.fetch_add(2, Ordering::Relaxed);
        crate::db::begin_write(&self.db).await
    }

    /// Connects to the database and sets up email, without migrating or listening: what the
    /// standalone worker needs.
    pub async fn connect(
        config: Config,
        clock: Clock,
        transport: Option<Transport>,
    ) -> anyhow::Result<Self> {
        let mut db = crate::db::connect(&config.database_url, config.db_max_connections).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&statements);
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let transport = match transport {
            Some(transport) => transport,
            None => Transport::from_config(&config)?,
        };
        let secret = crate::auth::secret::load(config.jwt_secret.as_ref(), &config.data_dir)?;
        Ok(AppContext {
            db,
            clock,
            tokens: Arc::new(TokenKeys::new(&secret)),
            statements,
            documents: crate::storage::DocumentStore::Folder(config.data_dir.join("documents")),
            notifier: Arc::new(Notifier::new(&config.mail.from)?),
            mail: Arc::new(transport),
            config: Arc::new(config),
        })
    }
}
