//! Opaque pagination cursors. A cursor names the last row of a page by its sort key, so the next
//! page starts right after it even while rows are being added (unlike offsets, which skip or
//! repeat rows under concurrent writes). Clients must treat cursors as opaque: they are hex so
//! they travel in URLs untouched, and versioned so the format can change.

use uuid::Uuid;

/// A position in a list ordered by `(key, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The sort key of the last row served (an instant in microseconds, or 0 when the list is
    /// ordered by id alone).
    pub key: i64,
    pub id: Uuid,
}

/// A cursor string that was not produced by this server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid; pass the `next_cursor` value of the previous page unchanged")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        let text = format!("1:{}:{}", self.key, self.id.simple());
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(s: &str) -> Result<Cursor, InvalidCursor> {
        if !s.len().is_multiple_of(2) || s.len() > 200 {
            return Err(InvalidCursor);
        }
        let bytes = (0..s.len())
            .step_by(2)
            .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or(InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| InvalidCursor)?;
        let mut parts = text.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("1"), Some(key), Some(id), None) => Ok(Cursor {
                key: key.parse().map_err(|_| InvalidCursor)?,
                id: Uuid::parse_str(id).map_err(|_| InvalidCursor)?,
            }),
            _ => Err(InvalidCursor),
        }
    }
}

/// One page of a list and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row, if present, only tells that a
    /// next page exists (cheaper than a COUNT), and the cursor points at the last row kept.
    pub fn from_rows(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|item| cursor_of(item).encode())
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor { key: -42, id: Uuid::from_u128(0x0192f7a45c1e7b3a9d2e4f6a8b0c1d2e) };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        for bad in ["", "zz", "abc", "31", &"00".repeat(150), "313a78"] {
            assert_eq!(Cursor::decode(bad), Err(InvalidCursor), "{bad}");
        }
    }
}
