//! The one place where GraphQL errors get their stable codes on the way out, and where an answer
//! repeated under an idempotency key is marked as such.
//!
//! A resolver's `AppError` travels inside the GraphQL error as its source; here it becomes
//! `extensions.code` (plus `field`, `failures` or `waitingOn`). An error with no code of its own is
//! a fault: it is logged with its chain and the client sees only `INTERNAL` and the request id.
//!
//! Arguments are checked before any resolver sees them ([`InputCheck`]): a value async-graphql
//! would fail to coerce (an unparsable `DateTime`, an `Int` past 32 bits) or a string holding
//! control characters becomes `BAD_USER_INPUT` naming its field (`filter.closesAfter`), instead
//! of an uncoded error that would show as `INTERNAL`.
//!
//! A replay is not an error, and async-graphql gives resolvers no way to write a response's
//! extensions: a resolver notes it on the request's [`ReplayMark`] ([`note_replay`]), and the
//! response gets `extensions.idempotentReplay: true` once executed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};
use async_graphql::registry::{MetaField, MetaType, MetaTypeName, Registry};
use async_graphql::{
    Context, ErrorExtensionValues, InputType, Name, PathSegment, Pos, Response, ServerError,
    ServerResult, ValidationResult, Value, Variables,
};

use crate::error::{AppError, AppResult, ErrorCode, database_unavailable};

/// Attaches codes to every error of a response. `request_id` ties the client's report to the log.
pub fn finish_response(response: &mut Response, request_id: &str) {
    for error in &mut response.errors {
        finish_error(error, request_id);
    }
}

fn finish_error(error: &mut ServerError, request_id: &str) {
    let app_error = error.source::<AppError>().cloned();
    let extensions = error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    match app_error {
        Some(AppError::Internal(cause)) if database_unavailable(&cause) => {
            tracing::warn!(request_id, path = ?error.path, error = format!("{cause:#}"), "database unavailable");
            unavailable(error, request_id);
        }
        Some(AppError::Internal(cause)) => {
            tracing::error!(request_id, path = ?error.path, error = format!("{cause:#}"), "request failed");
            internal(error, request_id);
        }
        Some(app_error) => {
            extensions.set("code", app_error.code().as_str());
            match app_error {
                AppError::BadUserInput { field, .. } => extensions.set("field", field),
                AppError::Ineligible { failures, .. } => {
                    if let Ok(value) = Value::from_json(failures) {
                        extensions.set("failures", value);
                    }
                }
                // Enum values, as the tranche's `waitingOn` field gives them.
                AppError::WaitingOn { waiting_on, .. } => extensions.set(
                    "waitingOn",
                    Value::List(
                        waiting_on
                            .into_iter()
                            .map(|wait| Value::Enum(Name::new(wait)))
                            .collect(),
                    ),
                ),
                _ => {}
            }
        }
        None if extensions.get("code").is_some() => {
            // A validation refusal names the argument in its message; give it as `field` too.
            if extensions.get("field").is_none()
                && let Some(field) = refused_argument(&error.message)
            {
                extensions.set("field", field);
            }
        }
        None if is_coercion_failure(&error.message) => {
            // Bad input that slipped past `InputCheck`: still the client's mistake, not a fault.
            tracing::debug!(request_id, path = ?error.path, error = %error.message, "input refused");
            let field = error
                .path
                .iter()
                .rev()
                .find_map(|segment| match segment {
                    PathSegment::Field(name) => Some(name.clone()),
                    PathSegment::Index(_) => None,
                })
                .unwrap_or_default();
            extensions.set("code", ErrorCode::BadUserInput.as_str());
            extensions.set("field", field);
        }
        None => {
            tracing::error!(request_id, path = ?error.path, error = %error.message, "request failed without an error code");
            internal(error, request_id);
        }
    }
}

/// Whether async-graphql's message says an input value could not be coerced to its type.
fn is_coercion_failure(message: &str) -> bool {
    message.starts_with("Failed to parse \"")
        || message.starts_with("Expected input type \"")
        || message.starts_with("Invalid value for argument \"")
}

/// The argument path in a validation message such as
/// `Invalid value for argument "filter.status", enumeration type …`.
fn refused_argument(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    rest.split_once('"').map(|(field, _)| field.to_owned())
}

/// Checks every argument of every field in the document against its declared type, once the
/// document is validated and before anything runs.
///
/// async-graphql validates the shape of input, but a scalar's own parsing (`DateTime`,
/// `NaiveDate`, the 32-bit range of `Int`) happens later (in the resolver, or while computing a
/// connection's complexity from `first`) and fails without a code or a field name. Strings are
/// ours to police: no input has a use for control characters other than newline, carriage return
/// and tab, and a NUL cannot even be stored by PostgreSQL.
pub struct InputCheck;

impl ExtensionFactory for InputCheck {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(InputCheckRun::default())
    }
}

/// What one request's check needs, kept from the earlier steps of execution.
#[derive(Default)]
struct InputCheckRun {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    operation_name: Option<String>,
    variables: Variables,
    document: Option<ExecutableDocument>,
}

#[async_trait::async_trait]
impl Extension for InputCheckRun {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<async_graphql::Request> {
        let request = next.run(ctx, request).await?;
        if let Ok(mut kept) = self.kept.lock() {
            kept.operation_name = request.operation_name.clone();
        }
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Ok(mut kept) = self.kept.lock() {
            kept.variables = variables.clone();
            kept.document = Some(document.clone());
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let validated = next.run(ctx).await;
        let refusal = match self.kept.lock() {
            Ok(kept) => kept.refusal(&ctx.schema_env.registry),
            Err(_) => None,
        };
        match refusal {
            // Said with the field named, this replaces async-graphql's own words for it.
            Some((refusal, pos)) => Err(vec![
                async_graphql::Error::from(refusal).into_server_error(pos),
            ]),
            None => validated,
        }
    }
}

impl Kept {
    /// The first argument value of the executed operation that cannot be accepted.
    fn refusal(&self, registry: &Registry) -> Option<(AppError, Pos)> {
        let document = self.document.as_ref()?;
        let walk = Walk {
            registry,
            document,
            variables: &self.variables,
        };
        for (name, operation) in document.operations.iter() {
            if let (Some(wanted), Some(name)) = (&self.operation_name, name)
                && wanted != name.as_str()
            {
                continue;
            }
            let root = match operation.node.ty {
                OperationType::Query => Some(registry.query_type.as_str()),
                OperationType::Mutation => registry.mutation_type.as_deref(),
                OperationType::Subscription => registry.subscription_type.as_deref(),
            };
            if let Some(root) = root
                && let Some(refusal) = walk.selections(root, &operation.node.selection_set.node, 0)
            {
                return Some(refusal);
            }
        }
        None
    }
}

/// A walk through a document's selections, with the types the schema gives them.
struct Walk<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
}

/// Deeper than any admitted query; a bound that keeps a cyclic fragment from looping.
const MAX_WALK_DEPTH: usize = 64;

impl Walk<'_> {
    fn selections(
        &self,
        parent: &str,
        set: &SelectionSet,
        depth: usize,
    ) -> Option<(AppError, Pos)> {
        if depth > MAX_WALK_DEPTH {
            return None;
        }
        set.items
            .iter()
            .find_map(|selection| match &selection.node {
                Selection::Field(field) => {
                    let declared = self
                        .registry
                        .types
                        .get(parent)
                        .and_then(|ty| ty.field_by_name(field.node.name.node.as_str()))?;
                    self.arguments(declared, &field.node).or_else(|| {
                        self.selections(
                            MetaTypeName::concrete_typename(&declared.ty),
                            &field.node.selection_set.node,
                            depth + 1,
                        )
                    })
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(parent, |condition| condition.node.on.node.as_str());
                    self.selections(on, &fragment.node.selection_set.node, depth + 1)
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self
                        .document
                        .fragments
                        .get(&spread.node.fragment_name.node)?;
                    self.selections(
                        fragment.node.type_condition.node.on.node.as_str(),
                        &fragment.node.selection_set.node,
                        depth + 1,
                    )
                }
            })
    }

    fn arguments(&self, declared: &MetaField, field: &Field) -> Option<(AppError, Pos)> {
        field.arguments.iter().find_map(|(name, value)| {
            let argument = declared.args.get(name.node.as_str())?;
            // A variable the request did not send is left to async-graphql's own checks.
            let resolved = value
                .node
                .clone()
                .into_const_with(|var| self.variables.get(&var).cloned().ok_or(()))
                .ok()?;
            check_value(self.registry, &argument.ty, &resolved, name.node.as_str())
                .err()
                .map(|refusal| (refusal, value.pos))
        })
    }
}

/// Checks one input value of the type written `ty` (`[String!]!`); `field` names it.
fn check_value(registry: &Registry, ty: &str, value: &Value, field: &str) -> AppResult<()> {
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => check_value(registry, inner, value, field),
        MetaTypeName::List(inner) => match value {
            Value::List(items) => items.iter().enumerate().try_for_each(|(index, item)| {
                check_value(registry, inner, item, &format!("{field}.{index}"))
            }),
            // A single value stands for a list of one.
            other => check_value(registry, inner, other, field),
        },
        MetaTypeName::Named(_) if *value == Value::Null => Ok(()),
        MetaTypeName::Named(name) => match registry.types.get(name) {
            Some(MetaType::InputObject { input_fields, .. }) => {
                let Value::Object(given) = value else {
                    return Ok(());
                };
                input_fields
                    .iter()
                    .try_for_each(|(key, declared)| match given.get(key.as_str()) {
                        Some(inner) => {
                            check_value(registry, &declared.ty, inner, &format!("{field}.{key}"))
                        }
                        None => Ok(()),
                    })
            }
            Some(MetaType::Scalar { .. }) => check_scalar(name, value, field),
            _ => Ok(()),
        },
    }
}

fn check_scalar(name: &str, value: &Value, field: &str) -> AppResult<()> {
    let refuse = |message: &str| Err(AppError::bad_input(field, message));
    match name {
        "Int" if <i32 as InputType>::parse(Some(value.clone())).is_err() => {
            refuse("expected a whole number from -2147483648 to 2147483647")
        }
        "Float" if <f64 as InputType>::parse(Some(value.clone())).is_err() => {
            refuse("expected a number")
        }
        "DateTime"
            if <chrono::DateTime<chrono::Utc> as InputType>::parse(Some(value.clone()))
                .is_err() =>
        {
            refuse("expected a date and time in RFC 3339, such as 2027-03-01T08:00:00Z")
        }
        "NaiveDate" if <chrono::NaiveDate as InputType>::parse(Some(value.clone())).is_err() => {
            refuse("expected a date such as 2027-03-01")
        }
        "String" | "ID" => match value {
            Value::String(text) if has_control_characters(text) => refuse(
                "must not contain control characters (only newline, carriage return and tab)",
            ),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Control characters no text input may hold: all but newline, carriage return and tab.
pub fn has_control_characters(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Whether any field of one request answered with an effect completed earlier under its
/// idempotency key. Each request carries its own in its data.
#[derive(Debug, Clone, Default)]
pub struct ReplayMark(Arc<AtomicBool>);

impl ReplayMark {
    /// Puts `extensions.idempotentReplay: true` on the response of a request that replayed.
    pub fn finish(&self, response: &mut Response) {
        if self.0.load(Ordering::Relaxed) {
            response
                .extensions
                .insert("idempotentReplay".to_owned(), Value::Boolean(true));
        }
    }
}

/// Notes on the request that a resolver's answer repeats an earlier effect, if `replayed`.
pub fn note_replay(ctx: &Context<'_>, replayed: bool) {
    if replayed && let Some(mark) = ctx.data_opt::<ReplayMark>() {
        mark.0.store(true, Ordering::Relaxed);
    }
}

/// Whether a finished response says the database could not be reached: the HTTP answer is then
/// 503, so that load balancers and clients retry as they would for any unavailable service.
pub fn is_unavailable(response: &Response) -> bool {
    response.errors.iter().any(|error| {
        error.extensions.as_ref().and_then(|e| e.get("code"))
            == Some(&Value::from(ErrorCode::ServiceUnavailable.as_str()))
    })
}

fn unavailable(error: &mut ServerError, request_id: &str) {
    error.message = "the service cannot reach its database right now; try again shortly".into();
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", ErrorCode::ServiceUnavailable.as_str());
    extensions.set("requestId", request_id);
    error.extensions = Some(extensions);
}

fn internal(error: &mut ServerError, request_id: &str) {
    error.message = format!("internal error; quote request id {request_id} when reporting it");
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", ErrorCode::Internal.as_str());
    extensions.set("requestId", request_id);
    error.extensions = Some(extensions);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_from(app_error: AppError) -> ServerError {
        async_graphql::Error::from(app_error).into_server_error(async_graphql::Pos::default())
    }

    fn extension(error: &ServerError, name: &str) -> Option<Value> {
        error.extensions.as_ref()?.get(name).cloned()
    }

    #[test]
    fn application_errors_carry_their_code_and_field() {
        let mut error = error_from(AppError::bad_input("input.email", "not an email address"));
        finish_error(&mut error, "req-1");
        assert_eq!(error.message, "not an email address");
        assert_eq!(
            extension(&error, "code"),
            Some(Value::from("BAD_USER_INPUT"))
        );
        assert_eq!(extension(&error, "field"), Some(Value::from("input.email")));
    }

    #[test]
    fn a_refusal_that_waits_lists_what_it_waits_on() {
        let mut error = error_from(AppError::WaitingOn {
            message: "record the remittance filing before sending".into(),
            waiting_on: vec!["BANK_DETAILS", "FILING"],
        });
        finish_error(&mut error, "req-5");
        assert_eq!(
            extension(&error, "code"),
            Some(Value::from("INVALID_STATE"))
        );
        assert_eq!(
            serde_json::to_value(extension(&error, "waitingOn")).unwrap(),
            serde_json::json!(["BANK_DETAILS", "FILING"])
        );
    }

    #[test]
    fn only_a_request_that_replayed_is_marked() {
        let mark = ReplayMark::default();
        let mut fresh = Response::new(Value::Null);
        mark.finish(&mut fresh);
        assert!(fresh.extensions.is_empty());
        mark.0.store(true, Ordering::Relaxed);
        let mut replayed = Response::new(Value::Null);
        mark.finish(&mut replayed);
        assert_eq!(
            replayed.extensions.get("idempotentReplay"),
            Some(&Value::Boolean(true))
        );
    }

    #[test]
    fn internal_errors_hide_their_cause_and_give_the_request_id() {
        let mut error = error_from(AppError::internal(anyhow::anyhow!(
            "relation \"user_account\" does not exist"
        )));
        finish_error(&mut error, "req-2");
        assert!(!error.message.contains("user_account"));
        assert!(error.message.contains("req-2"));
        assert_eq!(extension(&error, "code"), Some(Value::from("INTERNAL")));
        assert_eq!(extension(&error, "requestId"), Some(Value::from("req-2")));
    }

    #[test]
    fn an_unreachable_database_is_retryable_and_hides_its_cause() {
        let mut error = error_from(AppError::from(sea_orm::DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::Timeout,
        )));
        finish_error(&mut error, "req-6");
        assert_eq!(
            extension(&error, "code"),
            Some(Value::from("SERVICE_UNAVAILABLE"))
        );
        assert!(!error.message.contains("pool"));
        let mut response = Response::from_errors(vec![error]);
        assert!(is_unavailable(&response));
        response.errors.clear();
        assert!(!is_unavailable(&response));
    }

    #[test]
    fn uncoded_errors_become_internal() {
        let mut error = ServerError::new("panicked at src/lib.rs:1", None);
        finish_error(&mut error, "req-3");
        assert!(!error.message.contains("src/lib.rs"));
        assert_eq!(extension(&error, "code"), Some(Value::from("INTERNAL")));
    }

    #[test]
    fn errors_already_coded_keep_their_code() {
        let mut error = crate::graphql::limits::coded("too deep", ErrorCode::LimitExceeded);
        finish_error(&mut error, "req-4");
        assert_eq!(error.message, "too deep");
        assert_eq!(
            extension(&error, "code"),
            Some(Value::from("LIMIT_EXCEEDED"))
        );
    }
}
