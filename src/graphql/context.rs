//! What a resolver reads from the request: the application, the viewer, and the audit actor.

use std::net::SocketAddr;

use async_graphql::Context;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::service::audit::AuditActor;

/// Data every GraphQL request carries: who is calling from where, and the id of the request. The
/// HTTP layer fills it in; resolvers read it through [`RequestContext`].
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_addr: Option<SocketAddr>,
    pub viewer: Viewer,
}

pub struct RequestContext<'a> {
    pub app: &'a AppContext,
    pub viewer: Viewer,
    pub meta: Option<&'a RequestMeta>,
}

impl RequestContext<'_> {
    pub fn actor(&self) -> AuditActor {
        AuditActor {
            user_id: self.viewer.optional_user_id(),
            request_id: self.meta.map(|m| m.request_id.clone()),
        }
    }

    pub fn client_ip(&self) -> Option<std::net::IpAddr> {
        self.meta.and_then(|m| m.client_addr).map(|a| a.ip())
    }
}

/// The request's context. Requests that did not come through HTTP are anonymous.
pub fn request<'a>(ctx: &Context<'a>) -> RequestContext<'a> {
    let meta = ctx.data_opt::<RequestMeta>();
    RequestContext {
        app: ctx.data_unchecked::<AppContext>(),
        viewer: meta.map_or(Viewer::Anonymous, |m| m.viewer),
        meta,
    }
}

/// Parses a GraphQL `ID` as a UUID; `field` names the argument in the error.
pub fn parse_id(id: &async_graphql::ID, field: &str) -> crate::error::AppResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id.as_str())
        .map_err(|_| crate::error::AppError::bad_input(field, "not an id"))
}
