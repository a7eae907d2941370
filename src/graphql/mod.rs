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

/// The API as the HTTP handler runs it: admission, then the schema the request is routed to.
#[derive(Clone)]
pub struct Api {
    /// Every request but introspection, with depth and complexity limited.
    schema: AppSchema,
    /// Introspection-only documents, while introspection is on: schema tools ask deeper than
    /// any data query may.
    introspection: AppSchema,
    admission: std::sync::Arc<limits::Admission>,
}

impl Api {
    pub fn new(config: &Config, context: AppContext) -> Self {
        let limits = &config.graphql;
        let schema = |limited: bool| {
            let mut builder = builder()
                .data(context.clone())
                .limit_recursive_depth(limits.max_recursive_depth);
            if limited {
                builder = builder
                    .limit_depth(limits.max_depth)
                    .limit_complexity(limits.max_complexity);
            }
            if !config.introspection_enabled() {
                // Suggestions ("did you mean …") would give the schema away field by field.
                builder = builder.disable_introspection().disable_suggestions();
            }
            builder.finish()
        };
        Api {
            schema: schema(true),
            introspection: schema(false),
            admission: std::sync::Arc::new(limits::Admission::new(
                limits,
                config.introspection_enabled(),
            )),
        }
    }

    /// Runs one request: admitted, executed, and its refusals given codes.
    pub async fn execute(&self, mut request: async_graphql::Request) -> async_graphql::Response {
        let mut response = match self.admission.admit(&mut request) {
            Err(refusal) => return async_graphql::Response::from_errors(vec![refusal]),
            Ok(limits::Route::Limited) => self.schema.execute(request).await,
            Ok(limits::Route::Introspection) => {
                self.introspection
                    .execute(request.only_introspection())
                    .await
            }
        };
        self.admission.tag_refusals(&mut response);
        response
    }
}

/// The schema in SDL, as `bridgefund schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    builder().finish().sdl()
}
