//! Protections against expensive GraphQL documents, refused before anything executes and answered
//! with `LIMIT_EXCEEDED`, and the cache of parsed documents.
//!
//! This runs in the HTTP handler before the schema sees the request, not as an async-graphql
//! extension: with any extension installed, async-graphql wraps the resolution of every field in
//! boxed futures, which cost a sixth of the CPU of a listing (open calls went from 1,767 to 2,095
//! requests per second without it). Admission parses the document (or takes it from the cache),
//! counts aliases and directives, and hands the parsed document to the schema, which then checks
//! depth, complexity and recursion itself (`limit_depth`, `limit_complexity`). Those errors carry
//! no code; [`tag_refusals`] gives them one.
//!
//! Frontends send the same few documents over and over, so parsed documents are kept, a bounded
//! number of bounded size: an unknown document costs what it always did, a known one no parsing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Positioned, Request, Response, ServerError, Value};

use crate::config::GraphqlLimits;
use crate::error::ErrorCode;

/// Documents kept parsed at most; when full, the cache starts again empty.
const CACHED_DOCUMENTS: usize = 128;
/// Longer documents are parsed every time rather than kept.
const CACHED_DOCUMENT_BYTES: usize = 8 * 1024;

/// Which schema runs an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Everything but introspection: depth and complexity are limited.
    Limited,
    /// A document that only introspects, while introspection is on: the schema tools' queries
    /// are deeper than any data query needs to be.
    Introspection,
}

/// What admission found out about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    pub route: Route,
    /// A query that reads only public data (see [`PUBLIC_ROOT_FIELDS`]): its answer to an
    /// anonymous reader is the same for every anonymous reader.
    pub public_read: bool,
}

/// Root fields whose answer to an anonymous reader depends on nothing but the data: the public
/// calls. A document is a public read only if every root selection is one of these.
pub const PUBLIC_ROOT_FIELDS: [&str; 4] = ["calls", "call", "apiVersion", "__typename"];

/// A parsed document with what admission needs to know of it.
struct Parsed {
    document: ExecutableDocument,
    counts: Counts,
    introspection_only: bool,
    public_read: bool,
}

pub struct Admission {
    max_depth: usize,
    max_complexity: usize,
    max_recursive_depth: usize,
    max_directives: usize,
    max_aliases: usize,
    introspection_enabled: bool,
    cache: Mutex<HashMap<String, Arc<Parsed>>>,
}

pub fn coded(message: impl Into<String>, code: ErrorCode) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    error
}

impl Admission {
    pub fn new(limits: &GraphqlLimits, introspection_enabled: bool) -> Self {
        Admission {
            max_depth: limits.max_depth,
            max_complexity: limits.max_complexity,
            max_recursive_depth: limits.max_recursive_depth,
            max_directives: limits.max_directives,
            max_aliases: limits.max_aliases,
            introspection_enabled,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The depth and complexity a route's schema allows. Introspection documents from schema
    /// tools are deeper than any data query needs, so they get the parser's recursion limit as
    /// depth and ten times the complexity: generous, but finite.
    pub fn limits_of(&self, route: Route) -> (usize, usize) {
        match route {
            Route::Limited => (self.max_depth, self.max_complexity),
            Route::Introspection => (
                self.max_recursive_depth.max(self.max_depth),
                self.max_complexity.saturating_mul(10),
            ),
        }
    }

    /// Parses the request's document (or takes it from the cache), refuses it if it uses too many
    /// aliases or directives, and leaves the parsed document on the request for the schema.
    pub fn admit(&self, request: &mut Request) -> Result<Admitted, ServerError> {
        let parsed = self.parse(&request.query)?;
        if parsed.counts.aliases > self.max_aliases {
            return Err(coded(
                format!(
                    "the document has {} aliases; at most {} are allowed",
                    parsed.counts.aliases, self.max_aliases
                ),
                ErrorCode::LimitExceeded,
            ));
        }
        if parsed.counts.directives > self.max_directives {
            return Err(coded(
                format!(
                    "the document has {} directives; at most {} are allowed",
                    parsed.counts.directives, self.max_directives
                ),
                ErrorCode::LimitExceeded,
            ));
        }
        request.set_parsed_query(parsed.document.clone());
        Ok(Admitted {
            route: if self.introspection_enabled && parsed.introspection_only {
                Route::Introspection
            } else {
                Route::Limited
            },
            public_read: parsed.public_read,
        })
    }

    fn parse(&self, query: &str) -> Result<Arc<Parsed>, ServerError> {
        if let Some(parsed) = self.lock().get(query) {
            return Ok(Arc::clone(parsed));
        }
        let document = async_graphql::parser::parse_query(query).map_err(|error| {
            let message = error.to_string();
            let code = if message.contains("recursion") {
                ErrorCode::LimitExceeded
            } else {
                ErrorCode::BadUserInput
            };
            coded(message, code)
        })?;
        let parsed = Arc::new(Parsed {
            counts: count(&document),
            introspection_only: is_introspection_only(&document),
            public_read: is_public_read(&document),
            document,
        });
        if query.len() <= CACHED_DOCUMENT_BYTES {
            let mut cache = self.lock();
            if cache.len() >= CACHED_DOCUMENTS {
                cache.clear();
            }
            cache.insert(query.to_owned(), Arc::clone(&parsed));
        }
        Ok(parsed)
    }

    /// The cache holds only parsed documents, so a panic elsewhere cannot leave it inconsistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Parsed>>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Gives a code to the errors the schema raised before executing anything (validation,
    /// depth, complexity, recursion), which async-graphql leaves without one. Errors raised while
    /// executing have a path and pass through untouched.
    pub fn tag_refusals(&self, route: Route, response: &mut Response) {
        let (max_depth, max_complexity) = self.limits_of(route);
        if response.data != Value::Null {
            return;
        }
        for error in &mut response.errors {
            if !error.path.is_empty()
                || error
                    .extensions
                    .as_ref()
                    .is_some_and(|extensions| extensions.get("code").is_some())
            {
                continue;
            }
            let (message, code) = match error.message.as_str() {
                "Query is nested too deep." => (
                    Some(format!(
                        "the query is nested more than {max_depth} levels deep"
                    )),
                    ErrorCode::LimitExceeded,
                ),
                "Query is too complex." => (
                    Some(format!("the query's complexity is above {max_complexity}")),
                    ErrorCode::LimitExceeded,
                ),
                message if message.contains("recursion depth") => (None, ErrorCode::LimitExceeded),
                _ => (None, ErrorCode::BadUserInput),
            };
            if let Some(message) = message {
                error.message = message;
            }
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", code.as_str());
        }
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

/// Whether the document is one query whose root selections are all public fields.
fn is_public_read(document: &ExecutableDocument) -> bool {
    let mut operations = document.operations.iter();
    let (Some((_, operation)), None) = (operations.next(), operations.next()) else {
        return false;
    };
    operation.node.ty == async_graphql::parser::types::OperationType::Query
        && root_fields_all(operation, |name| PUBLIC_ROOT_FIELDS.contains(&name))
}

/// Whether every operation selects only `__schema` / `__type` at the top.
fn is_introspection_only(document: &ExecutableDocument) -> bool {
    document
        .operations
        .iter()
        .all(|(_, operation)| root_fields_all(operation, |name| name.starts_with("__")))
}

/// Whether every root selection of the operation is a plain field whose name passes `test`
/// (fragments at the root never do).
fn root_fields_all(
    operation: &Positioned<async_graphql::parser::types::OperationDefinition>,
    test: impl Fn(&str) -> bool,
) -> bool {
    operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .all(|selection| match &selection.node {
            Selection::Field(field) => test(field.node.name.node.as_str()),
            _ => false,
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

    fn admission(max_aliases: usize, introspection_enabled: bool) -> Admission {
        Admission::new(
            &GraphqlLimits {
                max_depth: 12,
                max_complexity: 10_000,
                max_recursive_depth: 24,
                max_directives: 16,
                max_aliases,
                max_batch: 5,
            },
            introspection_enabled,
        )
    }

    fn code(error: &ServerError) -> Option<String> {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map(|code| code.to_string())
    }

    #[test]
    fn a_cached_document_is_refused_as_often_as_it_is_sent() {
        let admission = admission(1, true);
        let query = "{ a: apiVersion b: apiVersion }";
        for _ in 0..3 {
            let error = admission
                .admit(&mut Request::new(query))
                .expect_err("two aliases");
            assert_eq!(code(&error).as_deref(), Some("\"LIMIT_EXCEEDED\""));
        }
        assert_eq!(admission.lock().len(), 1);
    }

    #[test]
    fn the_parsed_document_is_handed_to_the_schema_and_kept() {
        let admission = admission(15, true);
        let mut first = Request::new("{ apiVersion }");
        assert_eq!(
            admission.admit(&mut first).map(|a| a.route),
            Ok(Route::Limited)
        );
        let mut second = Request::new("{ apiVersion }");
        assert_eq!(
            admission.admit(&mut second).map(|a| a.route),
            Ok(Route::Limited)
        );
        assert!(second.parsed_query().is_ok());
        assert_eq!(admission.lock().len(), 1);
    }

    #[test]
    fn unparsable_documents_are_bad_input_and_not_kept() {
        let admission = admission(15, true);
        let error = admission
            .admit(&mut Request::new("{ apiVersion"))
            .expect_err("unclosed");
        assert_eq!(code(&error).as_deref(), Some("\"BAD_USER_INPUT\""));
        assert!(admission.lock().is_empty());
    }

    #[test]
    fn the_cache_is_bounded_in_entries_and_document_size() {
        let admission = admission(15, true);
        for n in 0..(CACHED_DOCUMENTS * 2 + 7) {
            let query = format!("query Q{n} {{ apiVersion }}");
            admission.admit(&mut Request::new(query)).expect("valid");
            assert!(admission.lock().len() <= CACHED_DOCUMENTS);
        }
        let long = format!("{{ apiVersion }}{}", " ".repeat(CACHED_DOCUMENT_BYTES));
        let before = admission.lock().len();
        admission.admit(&mut Request::new(long)).expect("valid");
        assert!(admission.lock().len() <= before);
    }

    #[test]
    fn introspection_gets_generous_but_finite_limits() {
        let admission = admission(15, true);
        assert_eq!(admission.limits_of(Route::Limited), (12, 10_000));
        assert_eq!(admission.limits_of(Route::Introspection), (24, 100_000));
    }

    #[test]
    fn introspection_is_routed_apart_only_while_it_is_on() {
        let query = "{ __schema { types { name } } }";
        assert_eq!(
            admission(15, true)
                .admit(&mut Request::new(query))
                .map(|a| a.route),
            Ok(Route::Introspection)
        );
        assert_eq!(
            admission(15, false)
                .admit(&mut Request::new(query))
                .map(|a| a.route),
            Ok(Route::Limited)
        );
    }

    #[test]
    fn refusals_before_execution_get_codes_and_execution_errors_are_left_alone() {
        let admission = admission(15, true);
        let mut response = Response::from_errors(vec![
            ServerError::new("Query is nested too deep.", None),
            ServerError::new("Query is too complex.", None),
            ServerError::new("Unknown field \"nope\" on type \"QueryRoot\".", None),
        ]);
        admission.tag_refusals(Route::Limited, &mut response);
        let codes: Vec<_> = response.errors.iter().map(code).collect();
        assert_eq!(
            codes,
            [
                Some("\"LIMIT_EXCEEDED\"".to_owned()),
                Some("\"LIMIT_EXCEEDED\"".to_owned()),
                Some("\"BAD_USER_INPUT\"".to_owned())
            ]
        );
        assert_eq!(
            response.errors[0].message,
            "the query is nested more than 12 levels deep"
        );
        let mut executed = Response::from_errors(vec![ServerError {
            path: vec![async_graphql::PathSegment::Field("apiVersion".into())],
            ..ServerError::new("failed", None)
        }]);
        admission.tag_refusals(Route::Limited, &mut executed);
        assert_eq!(code(&executed.errors[0]), None);
    }

    #[test]
    fn only_queries_of_public_root_fields_are_public_reads() {
        for (query, public) in [
            ("{ calls { edges { node { id } } } }", true),
            (
                "query Q($id: ID!) { call(id: $id) { title { en } } apiVersion }",
                true,
            ),
            ("{ calls { edges { node { id } } } me { id } }", false),
            (
                "{ ...F } fragment F on QueryRoot { calls { totalCount } }",
                false,
            ),
            ("{ ... on QueryRoot { calls { totalCount } } }", false),
            ("mutation { logout }", false),
            (
                "query A { calls { totalCount } } query B { calls { totalCount } }",
                false,
            ),
            ("{ applications { totalCount } }", false),
        ] {
            assert_eq!(is_public_read(&parse(query)), public, "{query}");
        }
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
