//! Relay connections over the shared keyset pagination: `totalCount`, and cursors made opaque.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};

pub use crate::pagination::{Cursor, MalformedCursor, Page, PageRequest};

impl CursorType for Cursor {
    type Error = MalformedCursor;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        Cursor::decode(s)
    }

    fn encode_cursor(&self) -> String {
        self.encode()
    }
}

#[derive(SimpleObject)]
pub struct ConnectionFields {
    /// Number of items in the whole list, across all pages.
    pub total_count: i64,
}

pub type Conn<N> = Connection<Cursor, N, ConnectionFields, EmptyFields>;

/// Whether the connection's `totalCount` was asked for: counting reads every matching row.
pub fn wants_total(ctx: &async_graphql::Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Turns a page into a Relay connection.
pub fn connection<N: OutputType>(page: Page<N>, request: &PageRequest) -> Conn<N> {
    let mut connection = Connection::with_additional_fields(
        request.after.is_some(),
        page.has_next_page,
        ConnectionFields {
            total_count: i64::try_from(page.total_count).unwrap_or(i64::MAX),
        },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, node)| Edge::new(cursor, node)),
    );
    connection
}
