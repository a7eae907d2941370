//! Pure rules: no database, no I/O, no async. This is where the product's rules live and where
//! unit tests are cheapest.

pub mod application;
pub mod audit;
pub mod call;
pub mod country;
pub mod decision;
pub mod disbursement;
pub mod document;
pub mod eligibility;
pub mod email;
pub mod email_delivery;
pub mod identity;
pub mod locale;
pub mod money;
pub mod organization;
pub mod review;
pub mod sdg;
pub mod submission;
pub mod tracking;
pub mod usci;
