//! Email: the transactional outbox, the delivery worker, the transports and the bilingual
//! templates. Use cases enqueue; only the worker talks to a mail server.

pub mod outbox;
pub mod templates;
pub mod transport;

pub use outbox::{Enqueued, Notifier, Recipient, enqueue};
pub use templates::EmailKind;
