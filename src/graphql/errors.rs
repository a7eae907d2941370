//! The one place where GraphQL errors get their stable codes on the way out.
//!
//! A resolver's `AppError` travels inside the GraphQL error as its source; here it becomes
//! `extensions.code` (plus `field` or `failures`). An error with no code of its own is a fault:
//! it is logged with its chain and the client sees only `INTERNAL` and the request id.

use async_graphql::{ErrorExtensionValues, Response, ServerError, Value};

use crate::error::{AppError, ErrorCode};

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
                _ => {}
            }
        }
        None if extensions.get("code").is_some() => {}
        None => {
            tracing::error!(request_id, path = ?error.path, error = %error.message, "request failed without an error code");
            internal(error, request_id);
        }
    }
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
