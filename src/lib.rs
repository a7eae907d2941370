//! Bridgefund: a GraphQL backend that runs grant funds for South-South cooperation.
//!
//! Data flows one way: `graphql → service → domain`, and `service → entity`. The application is
//! built here (not in `main`) so that integration tests start exactly what production runs.

// Request paths never panic on a missing value; tests may.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod notify;
pub mod pagination;
pub mod seed;
pub mod service;
pub mod storage;

pub use app::Application;
pub use config::Config;
pub use context::AppContext;
