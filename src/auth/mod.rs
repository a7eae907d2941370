//! Authentication: password hashing, access tokens (JWT) and opaque refresh and email tokens, and
//! the viewer every request carries. The token is checked once per request at the edge; what the
//! viewer may do with an object is decided in the services.

pub mod password;
pub mod secret;
pub mod token;

use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    /// A valid access token for this user was presented.
    User(Uuid),
    /// A token was presented and refused (expired, forged, wrong kind): every operation that
    /// needs a viewer answers `UNAUTHENTICATED`, never as if anonymous.
    Rejected,
}

impl Viewer {
    pub fn user_id(&self) -> AppResult<Uuid> {
        match self {
            Viewer::User(id) => Ok(*id),
            Viewer::Anonymous | Viewer::Rejected => Err(AppError::Unauthenticated),
        }
    }

    pub fn optional_user_id(&self) -> Option<Uuid> {
        match self {
            Viewer::User(id) => Some(*id),
            _ => None,
        }
    }
}
