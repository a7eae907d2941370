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
pub mod public_cache;
pub mod review;
pub mod system;
pub mod types;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::config::Config;
use crate::context::AppContext;

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
    /// any data query may, so its limits are more generous (see `Admission::limits_of`).
    introspection: AppSchema,
    admission: std::sync::Arc<limits::Admission>,
    public: std::sync::Arc<public_cache::PublicCache>,
    context: AppContext,
}

/// An answer: executed now, or kept from an earlier anonymous public read (already serialised).
pub enum Answer {
    Fresh(async_graphql::Response),
    Kept(bytes::Bytes),
}

impl Api {
    pub fn new(config: &Config, context: AppContext) -> Self {
        let limits = &config.graphql;
        let admission = limits::Admission::new(limits, config.introspection_enabled());
        let schema = |route: limits::Route| {
            let (max_depth, max_complexity) = admission.limits_of(route);
            let mut builder = builder()
                .data(context.clone())
                // Bad argument values are coded BAD_USER_INPUT here, before any resolver runs.
                .extension(errors::InputCheck)
                .limit_recursive_depth(limits.max_recursive_depth)
                .limit_depth(max_depth)
                .limit_complexity(max_complexity);
            if !config.introspection_enabled() {
                // Suggestions ("did you mean …") would give the schema away field by field.
                builder = builder.disable_introspection().disable_suggestions();
            }
            builder.finish()
        };
        Api {
            schema: schema(limits::Route::Limited),
            introspection: schema(limits::Route::Introspection),
            admission: std::sync::Arc::new(admission),
            context: context.clone(),
            public: std::sync::Arc::new(public_cache::PublicCache::new(
                config.public_cache_seconds,
                context.clock.clone(),
            )),
        }
    }

    /// Runs one request: admitted, executed with its own loaders, and its refusals given codes.
    pub async fn execute(
        &self,
        request: async_graphql::Request,
        meta: &crate::graphql::context::RequestMeta,
    ) -> async_graphql::Response {
        self.run(request, meta).await.0
    }

    /// Answers one request of an anonymous reader: a public read is answered from what was kept
    /// for the same document and variables if it is recent enough, and otherwise kept for the
    /// next reader.
    pub async fn answer_anonymous(
        &self,
        request: async_graphql::Request,
        meta: &crate::graphql::context::RequestMeta,
    ) -> Answer {
        let Some(key) = self.public.key(&request) else {
            return Answer::Fresh(self.execute(request, meta).await);
        };
        if let Some(body) = self.public.get(&key) {
            return Answer::Kept(body);
        }
        let (response, admitted) = self.run(request, meta).await;
        if admitted.is_some_and(|admitted| admitted.public_read)
            && response.errors.is_empty()
            && let Ok(body) = serde_json::to_vec(&response)
        {
            let body = bytes::Bytes::from(body);
            self.public.keep(key, body.clone());
            return Answer::Kept(body);
        }
        Answer::Fresh(response)
    }

    async fn run(
        &self,
        request: async_graphql::Request,
        meta: &crate::graphql::context::RequestMeta,
    ) -> (async_graphql::Response, Option<limits::Admitted>) {
        let replays = errors::ReplayMark::default();
        let mut request = request
            .data(meta.clone())
            .data(std::sync::Arc::new(loaders::Loaders::new(&self.context)))
            .data(replays.clone());
        let admitted = match self.admission.admit(&mut request) {
            Err(refusal) => {
                return (async_graphql::Response::from_errors(vec![refusal]), None);
            }
            Ok(admitted) => admitted,
        };
        let mut response = match admitted.route {
            limits::Route::Limited => self.schema.execute(request).await,
            limits::Route::Introspection => {
                self.introspection
                    .execute(request.only_introspection())
                    .await
            }
        };
        self.admission.tag_refusals(admitted.route, &mut response);
        replays.finish(&mut response);
        (response, Some(admitted))
    }
}

/// The schema in SDL, as `bridgefund schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    builder().finish().sdl()
}
