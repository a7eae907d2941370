//! The command line: `serve` (the default), `migrate`, `schema`. Parses flags and environment
//! into one `Config` and calls into the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use tracing_subscriber::EnvFilter;

use tokio_util::sync::CancellationToken;

use crate::app::{Application, shutdown_signal};
use crate::clock::Clock;
use crate::config::{Config, LogFormat};
use crate::context::AppContext;
use crate::service::mail_worker::Worker;

#[derive(Debug, Parser)]
#[command(
    name = "bridgefund",
    version,
    about = "GraphQL backend that runs grant funds for South-South cooperation"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Deliver queued email until stopped, without serving HTTP.
    Worker,
    /// Fill an empty database with a realistic, deterministic dataset (for benchmarks and
    /// demos; every seeded account has the password `seeded-bench-password`).
    Seed {
        /// 1 gives 3 funds, 30 calls, 2,000 organisations and 10,000 applications; larger
        /// scales multiply everything.
        #[arg(long, default_value_t = 1)]
        scale: usize,
        /// Where to write what a benchmark needs to find its way (JSON).
        #[arg(long)]
        fixtures: Option<std::path::PathBuf>,
    },
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create a verified admin account (or make an existing account admin).
    Create {
        #[arg(long)]
        email: String,
        /// At least 8 characters. Prefer the environment variable to keep it out of shell history.
        #[arg(long, env = "BRIDGEFUND_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Roll back the last migration, or `--steps N` of them.
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { config, command } = cli;
    match command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Serve => {
            init_logging(&config)?;
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Worker => {
            init_logging(&config)?;
            config.check_production()?;
            let context = AppContext::connect(config, Clock::system(), None).await?;
            let worker = Worker::new(context.clone())?;
            let stop = CancellationToken::new();
            let running = tokio::spawn(worker.run(stop.clone()));
            shutdown_signal().await;
            stop.cancel();
            running.await.context("the email worker task failed")
        }
        Command::Admin {
            action:
                AdminAction::Create {
                    email,
                    password,
                    name,
                },
        } => {
            init_logging(&config)?;
            let email = email.parse().map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let password = crate::domain::identity::Password::parse(&password)
                .map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            let name = crate::domain::identity::parse_person_name(&name)
                .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let db = crate::db::connect(&config.database_url, 1).await?;
            Migrator::up(&db, None).await.context("migrating up")?;
            db.close()
                .await
                .context("closing the migration connection")?;
            let context = AppContext::connect(config, Clock::system(), None).await?;
            let id = crate::service::identity::ensure_admin(&context, &email, &name, &password)
                .await
                .map_err(crate::app::anyhow_of)?;
            println!("admin {email} ({id})");
            Ok(())
        }
        Command::Seed { scale, fixtures } => {
            init_logging(&config)?;
            let db = crate::db::connect(&config.database_url, 4).await?;
            Migrator::up(&db, None).await.context("migrating up")?;
            let started = std::time::Instant::now();
            let seeded = crate::seed::seed(&db, scale, chrono::Utc::now()).await?;
            println!(
                "seeded scale {scale} in {:.1} s: {}",
                started.elapsed().as_secs_f64(),
                serde_json::to_string(&seeded.counts)?
            );
            if let Some(path) = fixtures {
                std::fs::write(&path, serde_json::to_vec_pretty(&seeded)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
        Command::Migrate { action } => {
            init_logging(&config)?;
            let db = crate::db::connect(&config.database_url, 1).await?;
            match action {
                MigrateAction::Up => Migrator::up(&db, None).await.context("migrating up")?,
                MigrateAction::Down { steps } => Migrator::down(&db, Some(steps))
                    .await
                    .context("migrating down")?,
                MigrateAction::Status => {
                    for migration in Migrator::get_migration_with_status(&db)
                        .await
                        .context("reading migration status")?
                    {
                        println!(
                            "{:<10} {}",
                            format!("{:?}", migration.status()),
                            migration.name()
                        );
                    }
                }
            }
            Ok(())
        }
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&config.log).context("invalid log filter (--log)")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("could not set up logging: {e}"))
}
