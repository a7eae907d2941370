//! The application, built from one `Config`: it connects, migrates, binds, and then runs the HTTP
//! server and the background worker side by side until asked to stop. Tests build it the same way
//! on port 0.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::context::AppContext;
use crate::graphql::Api;
use crate::http::AppState;
use crate::notify::transport::Transport;
use crate::service::mail_worker::Worker;

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// Builds the application with a given time source (tests pass a manual clock).
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        Self::build_with(config, clock, None).await
    }

    /// Builds the application with a given time source and, optionally, an email transport other
    /// than the configured one (tests pass the memory transport).
    pub async fn build_with(
        config: Config,
        clock: Clock,
        transport: Option<Transport>,
    ) -> anyhow::Result<Self> {
        config.check_production()?;
        let listen = config.listen;
        // Migrate on a connection of its own, closed before the pool opens: no pooled SQLite
        // connection can then have read the schema half-way through the migrations.
        let migrating = crate::db::connect(&config.database_url, 1).await?;
        Migrator::up(&migrating, None)
            .await
            .context("could not apply the database migrations")?;
        migrating
            .close()
            .await
            .context("could not close the migration connection")?;
        let context = AppContext::connect(config, clock, transport).await?;
        bootstrap_admin(&context).await?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("could not listen on {listen}"))?;
        let api = Api::new(&context.config, context.clone());
        Ok(Application {
            listener,
            state: AppState { context, api },
        })
    }

    /// The address actually bound (the port is chosen by the system when configured as 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.context.config.listen)
    }

    pub fn context(&self) -> &AppContext {
        &self.state.context
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (within the
    /// configured grace period) and stops the background work.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application { listener, state } = self;
        let grace = state.context.config.shutdown_grace();
        let stop = CancellationToken::new();
        tracing::info!(address = %listener.local_addr()?, "serving");

        let worker = if state.context.config.mail.worker_enabled {
            let worker = Worker::new(state.context.clone())?;
            Some(tokio::spawn(worker.run(stop.clone())))
        } else {
            None
        };

        let scheduler = tokio::spawn(run_scheduler(state.context.clone(), stop.clone()));

        let router = crate::http::router(state);
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.clone().cancelled_owned());
        let mut server = tokio::spawn(async move { server.await });

        tokio::select! {
            result = &mut server => {
                stop.cancel();
                return result.context("the HTTP server task failed")?.context("the HTTP server failed");
            }
            () = shutdown => {}
        }
        tracing::info!("shutting down: finishing in-flight requests");
        stop.cancel();
        match tokio::time::timeout(grace, &mut server).await {
            Ok(result) => result
                .context("the HTTP server task failed")?
                .context("the HTTP server failed")?,
            Err(_) => {
                tracing::warn!(?grace, "in-flight requests did not finish in time");
                server.abort();
            }
        }
        if let Some(worker) = worker {
            worker.await.context("the email worker task failed")?;
        }
        scheduler.await.context("the scheduler task failed")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Opens and closes calls at their times until `stop`. Every change is a conditional update, so
/// any number of instances may run it.
async fn run_scheduler(context: AppContext, stop: CancellationToken) {
    let interval = std::time::Duration::from_secs(context.config.scheduler_interval_secs.max(1));
    while !stop.is_cancelled() {
        if let Err(error) = crate::service::call::apply_schedule(&context).await {
            tracing::error!(error = %error, "the call scheduler failed");
        }
        if let Err(error) = crate::service::application::send_draft_reminders(&context).await {
            tracing::error!(error = %error, "the draft reminders failed");
        }
        if let Err(error) = crate::service::review::send_reminders(&context).await {
            tracing::error!(error = %error, "the review reminders failed");
        }
        if let Err(error) = crate::service::disbursement::send_overdue_notices(&context).await {
            tracing::error!(error = %error, "the overdue tranche notices failed");
        }
        if let Err(error) = crate::service::idempotency::purge_expired(&context).await {
            tracing::error!(error = %error, "purging expired idempotency keys failed");
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Creates the first admin from the configuration when none exists yet.
async fn bootstrap_admin(context: &AppContext) -> anyhow::Result<()> {
    let config = &context.config;
    let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password) else {
        return Ok(());
    };
    if crate::service::identity::admin_exists(context)
        .await
        .map_err(anyhow_of)?
    {
        return Ok(());
    }
    let email = email
        .parse()
        .map_err(|e| anyhow::anyhow!("BRIDGEFUND_ADMIN_EMAIL: {e}"))?;
    let password =
        crate::domain::identity::Password::parse(secrecy::ExposeSecret::expose_secret(password))
            .map_err(|e| anyhow::anyhow!("BRIDGEFUND_ADMIN_PASSWORD: {e}"))?;
    crate::service::identity::ensure_admin(context, &email, "Administrator", &password)
        .await
        .map_err(anyhow_of)?;
    tracing::info!("created the first admin from the environment");
    Ok(())
}

/// Command-line paths report service errors with their cause.
pub fn anyhow_of(error: crate::error::AppError) -> anyhow::Error {
    match error {
        crate::error::AppError::Internal(cause) => anyhow::anyhow!("{cause:#}"),
        other => anyhow::anyhow!("{other}"),
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
