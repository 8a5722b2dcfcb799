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

/// One page of an in-memory list, in the order of a unique key: the items after the token's
/// key, at most `limit`, and the token for the next page (none on the last). The walk follows
/// the key whatever order `items` come in, so an item deleted (or filtered out) since the token
/// was made does not end it or skip others: the page starts at the first key after it.
pub fn page_after<T: Clone>(
    op: &str,
    items: &[T],
    key: impl Fn(&T) -> String,
    token: Option<&str>,
    limit: usize,
) -> Result<(Vec<T>, Option<String>), EcrError> {
    let mut keyed: Vec<(String, &T)> = items.iter().map(|i| (key(i), i)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let start = match token {
        Some(token) => {
            let after = decode(op, token)?;
            keyed.partition_point(|(k, _)| *k <= after)
        }
        None => 0,
    };
    let rest = &keyed[start..];
    let page: Vec<T> = rest.iter().take(limit).map(|(_, i)| (*i).clone()).collect();
    let next = (rest.len() > limit).then(|| encode(op, &rest[limit - 1].0));
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(items: &[&str], limit: usize) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut token = None;
        loop {
            let (page, next) =
                page_after("Op", items, |s| s.to_string(), token.as_deref(), limit).unwrap();
            pages.push(page.iter().map(|s| s.to_string()).collect());
            match next {
                Some(next) => token = Some(next),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_follow_the_key_whatever_the_input_order() {
        assert_eq!(
            walk(&["d", "a", "c", "b", "e"], 2),
            [vec!["a", "b"], vec!["c", "d"], vec!["e"]]
        );
        assert_eq!(walk(&["b", "a"], 2), [vec!["a", "b"]]);
        assert_eq!(walk(&[], 2), [Vec::<String>::new()]);
    }

    #[test]
    fn a_token_whose_item_is_gone_continues_after_its_key() {
        let (first, next) = page_after("Op", &["c", "a", "b", "d"], |s| s.to_string(), None, 2)
            .expect("first page");
        assert_eq!(first, ["a", "b"]);
        // "b" is gone, and the rest come in another order: the walk goes on with "c".
        let (second, next) = page_after(
            "Op",
            &["d", "c", "a"],
            |s| s.to_string(),
            next.as_deref(),
            2,
        )
        .expect("second page");
        assert_eq!(second, ["c", "d"]);
        assert_eq!(next, None);
    }

    #[test]
    fn a_token_of_another_operation_is_refused() {
        let token = encode("Other", "a");
        assert!(page_after("Op", &["a"], |s| s.to_string(), Some(&token), 1).is_err());
    }
}
