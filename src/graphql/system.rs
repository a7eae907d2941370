//! Fields about the service itself, answered without signing in.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};

use crate::context::AppContext;

#[derive(Default)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// Version of the running server.
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    /// The server's current time (UTC), the reference for every deadline.
    async fn server_time(&self, ctx: &Context<'_>) -> DateTime<Utc> {
        ctx.data_unchecked::<AppContext>().clock.now()
    }
}

#[derive(Default)]
pub struct SystemMutation;

#[Object]
impl SystemMutation {
    /// Does nothing and answers `true`: lets a client check that mutations reach the server.
    async fn ping(&self) -> bool {
        true
    }
}
