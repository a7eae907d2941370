//! The application, built from one `Config`: it connects, migrates, binds, and then runs the HTTP
//! server and the background worker side by side until asked to stop. Tests build it the same way
//! on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::graphql::{AppSchema, build_schema};

/// What every use case needs: the database, the time, and the settings.
#[derive(Clone)]
pub struct AppContext {
    pub db: DatabaseConnection,
    pub clock: Clock,
    pub config: Arc<Config>,
}

/// State of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub context: AppContext,
    pub schema: AppSchema,
}

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
        config.check_production()?;
        let db = crate::db::connect(&config.database_url, config.db_max_connections).await?;
        Migrator::up(&db, None)
            .await
            .context("could not apply the database migrations")?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let context = AppContext {
            db,
            clock,
            config: Arc::new(config),
        };
        let schema = build_schema(&context.config, context.clone());
        Ok(Application {
            listener,
            state: AppState { context, schema },
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

        let router = crate::http::router(state);
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.clone().cancelled_owned());
        let mut server = tokio::spawn(async move { server.await });

        tokio::select! {
            result = &mut server => {
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
        tracing::info!("stopped");
        Ok(())
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
