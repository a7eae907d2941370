//! The one application error that reaches GraphQL clients, and its stable codes.
//!
//! Services return [`AppError`]; resolvers pass it through unchanged. On the way out,
//! [`crate::graphql::errors::ErrorCodes`] finds the `AppError` behind each GraphQL error and attaches
//! `extensions.code` (and `field`, `failures`, `requestId`) in one place, so no `?` in between can
//! drop them. Anything without a code is logged with its chain and shown as `INTERNAL`.

use std::fmt;
use std::sync::Arc;

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Stable error codes, part of the API contract: frontends branch on these strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Ineligible,
    InvalidState,
    Conflict,
    LimitExceeded,
    Internal,
}

impl std::str::FromStr for ErrorCode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .ok_or(())
    }
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::BadUserInput,
        ErrorCode::Ineligible,
        ErrorCode::InvalidState,
        ErrorCode::Conflict,
        ErrorCode::LimitExceeded,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Ineligible => "INELIGIBLE",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a use case can answer besides success. The `Display` text is what the client reads, so it
/// never holds internals; `Internal` keeps its cause for the log only.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// Also what a viewer gets for an object they may not see, so existence does not leak.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    /// Eligibility rules failed; `failures` is the machine-readable list.
    #[error("{message}")]
    Ineligible {
        message: String,
        failures: serde_json::Value,
    },
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("internal error")]
    Internal(Arc<anyhow::Error>),
    /// A refusal recorded under an idempotency key, answered again for a retry.
    #[error("{message}")]
    Replayed { code: ErrorCode, message: String },
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::BadUserInput { .. } => ErrorCode::BadUserInput,
            AppError::Ineligible { .. } => ErrorCode::Ineligible,
            AppError::InvalidState(_) => ErrorCode::InvalidState,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::LimitExceeded(_) => ErrorCode::LimitExceeded,
            AppError::Internal(_) => ErrorCode::Internal,
            AppError::Replayed { code, .. } => *code,
        }
    }

    /// Bad input in the named input field (a GraphQL argument path such as `input.email`).
    pub fn bad_input(field: impl Into<String>, message: impl fmt::Display) -> Self {
        AppError::BadUserInput {
            field: field.into(),
            message: message.to_string(),
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(Arc::new(error.into()))
    }
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        AppError::Internal(Arc::new(error))
    }
}

/// A database error that no service mapped is an infrastructure failure. Services that expect a
/// constraint violation map it with [`unique_violation`] first.
impl From<DbErr> for AppError {
    fn from(error: DbErr) -> Self {
        AppError::Internal(Arc::new(
            anyhow::Error::new(error).context("database operation failed"),
        ))
    }
}

/// The name of the unique constraint or index a database error violated, if any. Migrations name
/// every constraint so that services can turn a violation into a domain answer.
pub fn unique_violation(error: &DbErr) -> Option<String> {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => Some(message),
        _ => match error {
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
                .as_database_error()
                .filter(|db| db.is_unique_violation())
                .map(|db| db.constraint().unwrap_or(db.message()).to_owned()),
            _ => None,
        },
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Frontends branch on these strings: changing one breaks them.
    #[test]
    fn error_codes_are_stable() {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                "NOT_FOUND",
                "BAD_USER_INPUT",
                "INELIGIBLE",
                "INVALID_STATE",
                "CONFLICT",
                "LIMIT_EXCEEDED",
                "INTERNAL",
            ]
        );
    }

    #[test]
    fn every_variant_maps_to_its_code() {
        let cases = [
            (AppError::Unauthenticated, "UNAUTHENTICATED"),
            (AppError::Forbidden("no".into()), "FORBIDDEN"),
            (AppError::NotFound("fund"), "NOT_FOUND"),
            (AppError::bad_input("input.email", "bad"), "BAD_USER_INPUT"),
            (
                AppError::Ineligible {
                    message: "no".into(),
                    failures: serde_json::json!([]),
                },
                "INELIGIBLE",
            ),
            (AppError::InvalidState("no".into()), "INVALID_STATE"),
            (AppError::Conflict("no".into()), "CONFLICT"),
            (AppError::LimitExceeded("no".into()), "LIMIT_EXCEEDED"),
            (AppError::internal(anyhow::anyhow!("x")), "INTERNAL"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code().as_str(), code);
        }
    }

    #[test]
    fn internal_errors_show_nothing_of_their_cause() {
        let error = AppError::from(DbErr::Custom("SELECT * FROM secret_table".into()));
        assert_eq!(error.to_string(), "internal error");
    }
}
