//! The HTTP surface: `/graphql` (POST for operations, GET for GraphiQL), `/health`, `/ready`, and
//! the layers every request passes: request id, tracing, timeout, CORS, body limit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::{BatchRequest, BatchResponse, ParseRequestError, Response as GqlResponse};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::TryStreamExt;
use tokio_util::compat::TokioAsyncReadCompatExt;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Viewer;
use crate::context::AppContext;
use crate::error::ErrorCode;
use crate::graphql::context::RequestMeta;
use crate::graphql::errors::{finish_response, is_unavailable};
use crate::graphql::{Answer, Api};

/// What a client is asked to wait before retrying while the database cannot be reached.
const RETRY_AFTER_SECONDS: &str = "5";
use crate::graphql::limits::coded;

/// State of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub context: AppContext,
    pub api: Api,
}

pub fn router(state: AppState) -> Router {
    let config = &state.context.config;
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::info_span!(
                    "http",
                    method = %request.method(),
                    path = %request.uri().path(),
                    request_id = request_id_of(request),
                )
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout(),
        ))
        .layer(cors(&config.cors_origins));

    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/documents/{id}", get(download_document))
        .layer(layers)
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let origins: Vec<HeaderValue> = origins
            .iter()
            .filter(|o| !o.is_empty())
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(origins))
    }
}

fn request_id_of(request: &Request) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Counters in the Prometheus text format: the SQL statements sent since start, transaction
/// control included. The benchmark reads statements per request from it.
async fn metrics(State(state): State<AppState>) -> Response {
    let statements = state
        .context
        .statements
        .load(std::sync::atomic::Ordering::Relaxed);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        format!(
            "# HELP bridgefund_sql_statements_total SQL statements sent to the database, transaction control included.\n\
             # TYPE bridgefund_sql_statements_total counter\n\
             bridgefund_sql_statements_total {statements}\n"
        ),
    )
        .into_response()
}

async fn ready(State(state): State<AppState>) -> Response {
    let context = &state.context;
    match crate::db::check_ready(&context.db, &context.config.database_url).await {
        Ok(()) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable" })),
            )
                .into_response()
        }
    }
}

/// Downloads a document for those who may see its application (`Authorization: Bearer …`).
/// Anything else, including a document the viewer may not see, is 404.
async fn download_document(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    request: Request,
) -> Response {
    let viewer = viewer_of(&request, &state);
    if viewer == Viewer::Anonymous {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match crate::service::application::download_document(&state.context, &viewer, id).await {
        Ok((document, content)) => (
            [
                (header::CONTENT_TYPE, document.content_type.clone()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}\"",
                        document
                            .file_name
                            .replace(|c: char| !c.is_ascii() || c.is_ascii_control(), "_")
                    ),
                ),
                (
                    header::HeaderName::from_static("x-content-type-options"),
                    "nosniff".to_owned(),
                ),
            ],
            content,
        )
            .into_response(),
        Err(crate::error::AppError::Unauthenticated) => StatusCode::UNAUTHORIZED.into_response(),
        Err(crate::error::AppError::Internal(cause)) => {
            tracing::error!(error = format!("{cause:#}"), "document download failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn graphiql(State(state): State<AppState>) -> Response {
    if state.context.config.graphiql_enabled() {
        Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn graphql(State(state): State<AppState>, body: GraphqlBody) -> Response {
    let GraphqlBody { batch, meta } = body;
    if sqlite_file_gone(&state) {
        // SQLite keeps writing to a file deleted or moved under it, and what it writes is lost:
        // refuse, as `/ready` does, rather than accept work that will not be kept.
        tracing::warn!(request_id = %meta.request_id, "the SQLite database file is gone");
        return unavailable(&meta.request_id);
    }
    let max_batch = state.context.config.graphql.max_batch;
    let response = match batch {
        BatchRequest::Batch(_) if max_batch == 0 => {
            refuse(&meta, "batched requests are turned off")
        }
        BatchRequest::Batch(requests) if requests.len() > max_batch => refuse(
            &meta,
            &format!(
                "a batch may hold at most {max_batch} operations; this one holds {}",
                requests.len()
            ),
        ),
        BatchRequest::Single(request) if meta.viewer == Viewer::Anonymous => {
            match state.api.answer_anonymous(request, &meta).await {
                Answer::Kept(body) => {
                    return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
                }
                Answer::Fresh(response) => BatchResponse::Single(response),
            }
        }
        BatchRequest::Single(request) => {
            BatchResponse::Single(state.api.execute(request, &meta).await)
        }
        BatchRequest::Batch(requests) => BatchResponse::Batch(
            futures_util::future::join_all(
                requests
                    .into_iter()
                    .map(|request| state.api.execute(request, &meta)),
            )
            .await,
        ),
    };
    let response = match response {
        BatchResponse::Single(mut one) => {
            finish_response(&mut one, &meta.request_id);
            BatchResponse::Single(one)
        }
        BatchResponse::Batch(mut many) => {
            for one in &mut many {
                finish_response(one, &meta.request_id);
            }
            BatchResponse::Batch(many)
        }
    };
    let unavailable = match &response {
        BatchResponse::Single(one) => is_unavailable(one),
        BatchResponse::Batch(many) => many.iter().any(is_unavailable),
    };
    if unavailable {
        // As `/ready` says: the database is away. A retry later may succeed.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER_SECONDS)],
            Json(response),
        )
            .into_response();
    }
    Json(response).into_response()
}

/// Whether the database is a SQLite file that is no longer where it was opened.
fn sqlite_file_gone(state: &AppState) -> bool {
    let url = &state.context.config.database_url;
    url.starts_with("sqlite") && crate::db::sqlite_path(url).is_some_and(|path| !path.exists())
}

/// The answer while the database cannot be reached: 503, retry later.
fn unavailable(request_id: &str) -> Response {
    let mut body = error_body(
        "the service cannot reach its database right now; try again shortly",
        ErrorCode::ServiceUnavailable,
    );
    body["errors"][0]["extensions"]["requestId"] = serde_json::Value::from(request_id);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, RETRY_AFTER_SECONDS)],
        Json(body),
    )
        .into_response()
}

fn refuse(meta: &RequestMeta, message: &str) -> BatchResponse {
    let mut response = GqlResponse::from_errors(vec![coded(message, ErrorCode::LimitExceeded)]);
    finish_response(&mut response, &meta.request_id);
    BatchResponse::Single(response)
}

/// The GraphQL request body, read with our limits. The stock extractor reads without a limit and
/// with default multipart options; this one answers 413 past the configured size.
pub struct GraphqlBody {
    pub batch: BatchRequest,
    pub meta: RequestMeta,
}

impl FromRequest<AppState> for GraphqlBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let config = &state.context.config;
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/"));
        // Uploads get their own, larger limit; everything else the body limit.
        let limit = if multipart {
            config.upload_limit.max(config.body_limit)
        } else {
            config.body_limit
        };
        let meta = RequestMeta {
            request_id: request_id_of(&request),
            client_addr: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
            viewer: viewer_of(&request, state),
        };
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > limit as u64) {
            return Err(too_large(limit));
        }
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);

        // A body sent in chunks has no declared length: count while reading, and remember that
        // the limit (not the client) ended the stream.
        let exceeded = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&exceeded);
        let body = Body::new(http_body_util::Limited::new(request.into_body(), limit));
        let stream = body.into_data_stream().map_err(move |error| {
            if error
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                flag.store(true, Ordering::Relaxed);
            }
            std::io::Error::other("request body could not be read")
        });
        let reader = tokio_util::io::StreamReader::new(stream).compat();
        let options = MultipartOptions::default()
            .max_file_size(config.upload_limit)
            .max_num_files(config.upload_max_files);
        match async_graphql::http::receive_batch_body(content_type, reader, options).await {
            Ok(batch) => Ok(GraphqlBody { batch, meta }),
            Err(ParseRequestError::PayloadTooLarge) => Err(too_large(limit)),
            Err(_) if exceeded.load(Ordering::Relaxed) => Err(too_large(limit)),
            Err(error) => Err(bad_request(&error.to_string())),
        }
    }
}

/// The viewer named by the `Authorization: Bearer …` header, checked once per request.
fn viewer_of(request: &Request, state: &AppState) -> Viewer {
    let Some(header) = request.headers().get(header::AUTHORIZATION) else {
        return Viewer::Anonymous;
    };
    let token = header.to_str().ok().and_then(|value| {
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
    });
    match token {
        Some(token) => match state
            .context
            .tokens
            .verify(token.trim(), state.context.clock.now())
        {
            Ok(claims) => Viewer::User(claims.sub),
            Err(_) => Viewer::Rejected,
        },
        None => Viewer::Rejected,
    }
}

fn too_large(limit: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Json(error_body(
            &format!("the request body is larger than {limit} bytes"),
            ErrorCode::LimitExceeded,
        )),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(error_body(
            &format!("not a GraphQL request: {message}"),
            ErrorCode::BadUserInput,
        )),
    )
        .into_response()
}

fn error_body(message: &str, code: ErrorCode) -> serde_json::Value {
    serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    })
}
