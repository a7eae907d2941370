//! Protections against expensive GraphQL documents, refused before anything executes and answered
//! with `LIMIT_EXCEEDED`.
//!
//! async-graphql checks depth, complexity and recursion itself, but its errors carry no code and it
//! has no alias limit. This extension wraps parsing and validation: it counts aliases and
//! directives in the parsed document, compares the validated depth and complexity with our limits,
//! and tags every parse or validation error with a stable code.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Positioned, ServerError, ServerResult, ValidationResult, Variables};

use crate::config::GraphqlLimits;
use crate::error::ErrorCode;

/// Installs the limits on a schema.
pub struct Limits {
    limits: Arc<Settings>,
}

#[derive(Debug, Clone)]
struct Settings {
    max_depth: usize,
    max_complexity: usize,
    max_directives: usize,
    max_aliases: usize,
    introspection_enabled: bool,
}

impl Limits {
    pub fn new(limits: &GraphqlLimits, introspection_enabled: bool) -> Self {
        Limits {
            limits: Arc::new(Settings {
                max_depth: limits.max_depth,
                max_complexity: limits.max_complexity,
                max_directives: limits.max_directives,
                max_aliases: limits.max_aliases,
                introspection_enabled,
            }),
        }
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension {
            limits: Arc::clone(&self.limits),
            introspection_only: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

struct LimitsExtension {
    limits: Arc<Settings>,
    /// Set while parsing: the standard introspection query of GraphiQL is deeper than any
    /// application query should be, so it is exempt from depth and complexity while introspection
    /// is enabled (it never is in production).
    introspection_only: std::sync::atomic::AtomicBool,
}

/// A GraphQL error with a stable code attached.
pub fn coded(message: impl Into<String>, code: ErrorCode) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    error
}

fn tag(mut error: ServerError, code: ErrorCode) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code.as_str());
    }
    error
}

#[async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await.map_err(|error| {
            // The parser's own recursion guard is a limit, anything else is a malformed document.
            let code = if error.message.contains("recursion depth") {
                ErrorCode::LimitExceeded
            } else {
                ErrorCode::BadUserInput
            };
            tag(error, code)
        })?;

        let counts = count(&document);
        if counts.aliases > self.limits.max_aliases {
            return Err(coded(
                format!(
                    "the document has {} aliases; at most {} are allowed",
                    counts.aliases, self.limits.max_aliases
                ),
                ErrorCode::LimitExceeded,
            ));
        }
        if counts.directives > self.limits.max_directives {
            return Err(coded(
                format!(
                    "the document has {} directives; at most {} are allowed",
                    counts.directives, self.limits.max_directives
                ),
                ErrorCode::LimitExceeded,
            ));
        }
        self.introspection_only.store(
            self.limits.introspection_enabled && is_introspection_only(&document),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| tag(error, ErrorCode::BadUserInput))
                .collect::<Vec<_>>()
        })?;
        if self
            .introspection_only
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(result);
        }
        if result.depth > self.limits.max_depth {
            return Err(vec![coded(
                format!(
                    "the query is nested {} levels deep; at most {} are allowed",
                    result.depth, self.limits.max_depth
                ),
                ErrorCode::LimitExceeded,
            )]);
        }
        if result.complexity > self.limits.max_complexity {
            return Err(vec![coded(
                format!(
                    "the query's complexity is {}; at most {} is allowed",
                    result.complexity, self.limits.max_complexity
                ),
                ErrorCode::LimitExceeded,
            )]);
        }
        Ok(result)
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    aliases: usize,
    directives: usize,
}

/// Counts aliases and directives as written in the document (each fragment once).
fn count(document: &ExecutableDocument) -> Counts {
    let mut counts = Counts::default();
    for (_, operation) in document.operations.iter() {
        counts.directives += operation.node.directives.len();
        for variable in &operation.node.variable_definitions {
            counts.directives += variable.node.directives.len();
        }
        count_selection_set(&operation.node.selection_set, &mut counts);
    }
    for fragment in document.fragments.values() {
        counts.directives += fragment.node.directives.len();
        count_selection_set(&fragment.node.selection_set, &mut counts);
    }
    counts
}

fn count_selection_set(selection_set: &Positioned<SelectionSet>, counts: &mut Counts) {
    for selection in &selection_set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                if field.node.alias.is_some() {
                    counts.aliases += 1;
                }
                counts.directives += field.node.directives.len();
                count_selection_set(&field.node.selection_set, counts);
            }
            Selection::FragmentSpread(spread) => {
                counts.directives += spread.node.directives.len();
            }
            Selection::InlineFragment(inline) => {
                counts.directives += inline.node.directives.len();
                count_selection_set(&inline.node.selection_set, counts);
            }
        }
    }
}

/// Whether every operation selects only `__schema` / `__type` at the top.
fn is_introspection_only(document: &ExecutableDocument) -> bool {
    document.operations.iter().all(|(_, operation)| {
        operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .all(|selection| match &selection.node {
                Selection::Field(field) => field.node.name.node.starts_with("__"),
                _ => false,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).expect("valid document")
    }

    #[test]
    fn aliases_and_directives_are_counted_everywhere() {
        let document = parse(
            r#"query Q($x: Boolean!) @a {
                one: apiVersion @include(if: $x)
                ... on QueryRoot @b { two: apiVersion }
                ...F @c
            }
            fragment F on QueryRoot @d { three: apiVersion @skip(if: false) }"#,
        );
        assert_eq!(
            count(&document),
            Counts {
                aliases: 3,
                directives: 6
            }
        );
    }

    #[test]
    fn introspection_queries_are_recognised() {
        assert!(is_introspection_only(&parse(
            "{ __schema { types { name } } }"
        )));
        assert!(!is_introspection_only(&parse(
            "{ __schema { types { name } } apiVersion }"
        )));
    }
}
