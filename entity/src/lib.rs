//! SeaORM entities of Bridgefund, one file per table. Entities know nothing of GraphQL: API types
//! are built from them, so a column such as a password hash cannot leak by accident.

pub mod application;
pub mod application_budget_line;
pub mod application_decision;
pub mod application_document;
pub mod application_partner;
pub mod application_snapshot;
pub mod audit_event;
pub mod call;
pub mod disbursement;
pub mod email_outbox;
pub mod email_token;
pub mod fund;
pub mod fund_manager;
pub mod fund_reviewer;
pub mod grant;
pub mod host_country_registration;
pub mod idempotency_key;
pub mod login_throttle;
pub mod organization;
pub mod organization_invitation;
pub mod organization_member;
pub mod refresh_token;
pub mod remittance_filing;
pub mod review_assignment;
pub mod user_account;
pub mod user_role;
