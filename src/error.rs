//! The one application error that reaches GraphQL clients, and its stable codes.
//!
//! Services return [`AppError`]; resolvers pass it through unchanged. On the way out,
//! [`crate::graphql::errors::finish_response`] finds the `AppError` behind each GraphQL error and attaches
//! `extensions.code` (and `field`, `failures`, `waitingOn`, `requestId`) in one place, so no `?` in
//! between can drop them. Anything without a code is logged with its chain and shown as `INTERNAL`.

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
    /// The database cannot be reached for now: retry later (HTTP 503, `Retry-After`).
    ServiceUnavailable,
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
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::BadUserInput,
        ErrorCode::Ineligible,
        ErrorCode::InvalidState,
        ErrorCode::Conflict,
        ErrorCode::LimitExceeded,
        ErrorCode::Internal,
        ErrorCode::ServiceUnavailable,
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
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
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
    /// Refused because the object waits on something else first: `INVALID_STATE`, with
    /// `waiting_on` the machine-readable list, named as the API's `Waiting` enum names them
    /// (`FILING`, `BANK_DETAILS`, …), so a client can show what to do next.
    #[error("{message}")]
    WaitingOn {
        message: String,
        waiting_on: Vec<&'static str>,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("internal error")]
    Internal(Arc<anyhow::Error>),
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::BadUserInput { .. } => ErrorCode::BadUserInput,
            AppError::Ineligible { .. } => ErrorCode::Ineligible,
            AppError::InvalidState(_) | AppError::WaitingOn { .. } => ErrorCode::InvalidState,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::LimitExceeded(_) => ErrorCode::LimitExceeded,
            AppError::Internal(_) => ErrorCode::Internal,
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

/// Whether a fault's cause is that the database cannot be reached (connections refused or cut,
/// the pool exhausted, the database dropped or its file moved), not a mistake in a statement:
/// the same request may succeed once the database is back, so the client is told to retry.
pub fn database_unavailable(cause: &anyhow::Error) -> bool {
    cause.chain().any(|error| {
        if let Some(error) = error.downcast_ref::<DbErr>() {
            return match error {
                DbErr::ConnectionAcquire(_) => true,
                DbErr::Conn(RuntimeErr::SqlxError(e))
                | DbErr::Exec(RuntimeErr::SqlxError(e))
                | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unavailable(e),
                DbErr::Conn(_) => true,
                _ => false,
            };
        }
        error
            .downcast_ref::<sea_orm::sqlx::Error>()
            .is_some_and(sqlx_unavailable)
    })
}

fn sqlx_unavailable(error: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match error {
        Error::Io(_)
        | Error::Tls(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed
        | Error::Protocol(_) => true,
        Error::Database(db) => db.code().is_some_and(|code| {
            let code = code.as_ref();
            // PostgreSQL: connection exceptions (class 08), the server shutting down or the
            // connection terminated (57P01–57P03), the database gone (3D000).
            code.starts_with("08")
                || matches!(code, "57P01" | "57P02" | "57P03" | "3D000")
                // SQLite: cannot open the file, I/O failure, or the file was moved or deleted
                // under an open connection (SQLITE_READONLY_DBMOVED).
                // Extended codes keep the primary one in their low byte.
                || code == "1032"
                || code
                    .parse::<u32>()
                    .is_ok_and(|n| matches!(n & 0xff, 10 | 14))
        }),
        _ => false,
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
                "SERVICE_UNAVAILABLE",
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
            (
                AppError::WaitingOn {
                    message: "no".into(),
                    waiting_on: vec!["FILING"],
                },
                "INVALID_STATE",
            ),
            (AppError::Conflict("no".into()), "CONFLICT"),
            (AppError::LimitExceeded("no".into()), "LIMIT_EXCEEDED"),
            (AppError::internal(anyhow::anyhow!("x")), "INTERNAL"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code().as_str(), code);
        }
    }

    #[test]
    fn an_unreachable_database_is_told_apart_from_a_bad_statement() {
        let cut = anyhow::Error::new(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout))
            .context("database operation failed");
        assert!(database_unavailable(&cut));
        let io = anyhow::Error::new(DbErr::Query(RuntimeErr::SqlxError(Arc::new(
            sea_orm::sqlx::Error::Io(std::io::Error::other("connection reset")),
        ))));
        assert!(database_unavailable(&io));
        let statement = anyhow::Error::new(DbErr::Custom("syntax error".into()));
        assert!(!database_unavailable(&statement));
    }

    #[test]
    fn internal_errors_show_nothing_of_their_cause() {
        let error = AppError::from(DbErr::Custom("SELECT * FROM secret_table".into()));
        assert_eq!(error.to_string(), "internal error");
    }
}
