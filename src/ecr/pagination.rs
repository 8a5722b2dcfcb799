//! `nextToken`s: base64 of `{"op": <operation>, "after": <sort key>}`.
//!
//! A token names the last item of the page it ended, not an offset, so it stays valid while
//! items are added. A token from another operation is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::error::EcrError;

#[derive(Serialize, Deserialize)]
struct Cursor {
    op: String,
    after: String,
}

pub fn encode(op: &str, after: &str) -> String {
    let cursor = Cursor {
        op: op.to_owned(),
        after: after.to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

pub fn decode(op: &str, token: &str) -> Result<String, EcrError> {
    let invalid = || EcrError::constraint("nextToken", "Invalid NextToken");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if cursor.op != op {
        return Err(invalid());
    }
    Ok(cursor.after)
}

/// The page size asked for, or ECR's default of 100.
pub fn page_size(max_results: Option<i32>) -> usize {
    max_results.map_or(100, |n| n.max(1) as usize)
}

/// One page of an in-memory list sorted by a unique key: the items after the token's key, at
/// most `limit`, and the token for the next page (none on the last). An item deleted since the
/// token was made does not end the walk: the page starts at the first key after it.
pub fn page_after<T: Clone>(
    op: &str,
    items: &[T],
    key: impl Fn(&T) -> String,
    token: Option<&str>,
    limit: usize,
) -> Result<(Vec<T>, Option<String>), EcrError> {
    let start = match token {
        Some(token) => {
            let after = decode(op, token)?;
            items
                .iter()
                .position(|i| key(i) == after)
                .map_or_else(|| items.partition_point(|i| key(i) <= after), |p| p + 1)
        }
        None => 0,
    };
    let page: Vec<T> = items.iter().skip(start).take(limit).cloned().collect();
    let next = (start + page.len() < items.len())
        .then(|| page.last().map(|i| encode(op, &key(i))))
        .flatten();
    Ok((page, next))
}
