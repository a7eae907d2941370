//! Keyset pagination shared by every list: a validated page request (`first` up to 100, `after`
//! a cursor), and cursors that hold the sort key and the id, never an offset, so deep pages cost
//! what the first page costs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, Value};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// A position in a list ordered by `(key, id)`. The key is the sort column rendered as text in a
/// form that sorts like the column (RFC 3339 UTC times, zero-padded numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub id: Uuid,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed cursor")]
pub struct MalformedCursor;

impl Cursor {
    pub fn decode(s: &str) -> Result<Self, MalformedCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| MalformedCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| MalformedCursor)?;
        let (id, key) = text.split_once(':').ok_or(MalformedCursor)?;
        Ok(Cursor {
            key: key.to_owned(),
            id: Uuid::parse_str(id).map_err(|_| MalformedCursor)?,
        })
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.id, self.key))
    }
}

impl Cursor {
    /// The sort key as a UTC time (lists ordered by a timestamp).
    pub fn time_key(&self) -> AppResult<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.key)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| not_a_cursor())
    }

    /// The sort key as a whole number (lists ordered by an amount).
    pub fn number_key(&self) -> AppResult<i64> {
        self.key.parse().map_err(|_| not_a_cursor())
    }
}

fn not_a_cursor() -> AppError {
    AppError::bad_input("after", "after is not a cursor of this list")
}

/// Which way a list runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// The rows that come after `(key, id)` in a list ordered by `(key_column, id_column)`: the
/// keyset condition every listing uses instead of an offset. Written as one row-value comparison,
/// `(key, id) > (…, …)`, which PostgreSQL and SQLite both answer with a range scan of the
/// `(…, key, id)` index, so a deep page reads what the first page reads.
pub fn after<C: ColumnTrait>(
    key_column: C,
    id_column: C,
    key: impl Into<Value>,
    id: Uuid,
    direction: Direction,
) -> Condition {
    let columns = Expr::tuple([Expr::col(key_column), Expr::col(id_column)]);
    let position = Expr::tuple([Expr::val(key.into()), Expr::val(id)]);
    Condition::all().add(match direction {
        Direction::Ascending => columns.gt(position),
        Direction::Descending => columns.lt(position),
    })
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<Cursor>,
    /// Whether to count the whole list: a count reads every matching row, so it is only done
    /// when the client asks for `totalCount`.
    pub count_total: bool,
}

impl PageRequest {
    /// Parses the Relay arguments: `first` from 1 to 100 (default 20), `after` a cursor from an
    /// earlier page.
    pub fn parse(first: Option<i32>, after: Option<String>) -> AppResult<Self> {
        let limit = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n >= 1 && (n as u64) <= MAX_PAGE_SIZE => n as u64,
            Some(_) => {
                return Err(AppError::bad_input(
                    "first",
                    format!("first must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let after = after
            .map(|cursor| {
                Cursor::decode(&cursor)
                    .map_err(|_| AppError::bad_input("after", "after is not a cursor of this list"))
            })
            .transpose()?;
        Ok(PageRequest {
            limit,
            after,
            count_total: true,
        })
    }

    /// Counts the whole list only if `wanted`.
    pub fn counting(self, wanted: bool) -> Self {
        PageRequest {
            count_total: wanted,
            ..self
        }
    }
}

/// One page read from the database: up to `limit` items, and whether more follow.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<(Cursor, T)>,
    pub has_next_page: bool,
    pub total_count: u64,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `limit + 1`, the extra row telling whether more follow.
    pub fn from_rows(mut items: Vec<(Cursor, T)>, request: &PageRequest, total_count: u64) -> Self {
        let has_next_page = items.len() as u64 > request.limit;
        items.truncate(request.limit as usize);
        Page {
            items,
            has_next_page,
            total_count,
        }
    }

    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next_page: self.has_next_page,
            total_count: self.total_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_hide_their_content() {
        let cursor = Cursor {
            key: "2027-01-01T00:00:00.000000Z".into(),
            id: Uuid::now_v7(),
        };
        let encoded = cursor.encode();
        assert!(!encoded.contains("2027"));
        assert_eq!(Cursor::decode(&encoded).unwrap(), cursor);
    }

    #[test]
    fn malformed_cursors_are_bad_input() {
        for bad in [
            "",
            "!!!",
            &URL_SAFE_NO_PAD.encode("no-colon"),
            &URL_SAFE_NO_PAD.encode("x:1"),
        ] {
            let error = PageRequest::parse(None, Some(bad.to_owned())).unwrap_err();
            assert!(matches!(error, AppError::BadUserInput { ref field, .. } if field == "after"));
        }
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 20);
        assert_eq!(PageRequest::parse(Some(100), None).unwrap().limit, 100);
        for bad in [0, -1, 101] {
            assert!(PageRequest::parse(Some(bad), None).is_err());
        }
    }

    #[test]
    fn the_extra_row_tells_whether_more_follow() {
        let request = PageRequest::parse(Some(2), None).unwrap();
        let rows = (0..3)
            .map(|i| {
                (
                    Cursor {
                        key: i.to_string(),
                        id: Uuid::nil(),
                    },
                    i,
                )
            })
            .collect();
        let page = Page::from_rows(rows, &request, 3);
        assert!(page.has_next_page);
        assert_eq!(page.items.len(), 2);
    }
}
