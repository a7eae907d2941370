//! The GraphQL API: the schema stitched from one query and one mutation object per area, and the
//! protections every request passes through.

pub mod application;
pub mod call;
pub mod context;
pub mod decision;
pub mod email;
pub mod errors;
pub mod fund;
pub mod grant;
pub mod identity;
pub mod limits;
pub mod loaders;
pub mod organization;
pub mod pagination;
pub mod review;
pub mod system;
pub mod types;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::app::AppContext;
use crate::config::Config;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    system::SystemQuery,
    identity::IdentityQuery,
    email::EmailQuery,
    organization::OrganizationQuery,
    fund::FundQuery,
    call::CallQuery,
    application::ApplicationQuery,
    review::ReviewQuery,
    grant::GrantQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    system::SystemMutation,
    identity::IdentityMutation,
    email::EmailMutation,
    organization::OrganizationMutation,
    fund::FundMutation,
    call::CallMutation,
    application::ApplicationMutation,
    review::ReviewMutation,
    decision::DecisionMutation,
    grant::GrantMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
}

/// The schema that serves requests, with its protections from the configuration.
pub fn build_schema(config: &Config, context: AppContext) -> AppSchema {
    let limits = &config.graphql;
    let mut builder = builder()
        .data(context)
        .limit_recursive_depth(limits.max_recursive_depth)
        .extension(limits::Limits::new(limits, config.introspection_enabled()));
    if !config.introspection_enabled() {
        // Suggestions ("did you mean …") would give the schema away field by field.
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The schema in SDL, as `bridgefund schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    builder().finish().sdl()
}
