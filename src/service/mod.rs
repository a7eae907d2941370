//! Use cases: one function per action, each one database transaction. Services decide who may do
//! what to which object, apply the domain rules, and write the audit trail and the outbox in the
//! same transaction as the change.

pub mod application;
pub mod audit;
pub mod call;
pub mod decision;
pub mod disbursement;
pub mod email_outbox;
pub mod fund;
pub mod grant;
pub mod idempotency;
pub mod identity;
pub mod mail_worker;
pub mod notification;
pub mod organization;
pub mod review;
pub mod tracking;
