//! SQL for the events outbox (see `crate::events`).

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// One recorded event, as stored.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub seq: i64,
    pub id: [u8; 16],
    pub account: String,
    pub region: String,
    pub detail_type: String,
    pub at: i64,
    /// A JSON array of ARNs, or none.
    pub resources: Option<String>,
    /// The detail object, JSON.
    pub detail: String,
}

/// Which events to read: after a cursor, optionally of one namespace and detail-type.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub after: i64,
    pub account: Option<String>,
    pub region: Option<String>,
    pub detail_type: Option<String>,
}

/// Appends an event (its `seq` is ignored: the next one is taken).
pub fn insert(conn: &Connection, e: &EventRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO events (id, account, region, detail_type, at, resources, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        &e.id[..],
        e.account,
        e.region,
        e.detail_type,
        e.at,
        e.resources,
        e.detail
    ])?;
    Ok(())
}

/// Events matching `filter` in order, at most `limit`.
pub fn list(
    conn: &Connection,
    filter: &EventFilter,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, account, region, detail_type, at, resources, detail FROM events \
         WHERE seq > ?1 AND (?2 IS NULL OR account = ?2) AND (?3 IS NULL OR region = ?3) \
         AND (?4 IS NULL OR detail_type = ?4) ORDER BY seq LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![
            filter.after,
            filter.account,
            filter.region,
            filter.detail_type,
            limit
        ],
        |r| {
            let id: Vec<u8> = r.get(1)?;
            Ok(EventRow {
                seq: r.get(0)?,
                id: id.try_into().unwrap_or_default(),
                account: r.get(2)?,
                region: r.get(3)?,
                detail_type: r.get(4)?,
                at: r.get(5)?,
                resources: r.get(6)?,
                detail: r.get(7)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last `seq` a sink delivered (0: none yet).
pub fn delivered(conn: &Connection, sink: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT delivered FROM event_sinks WHERE name = ?1")?
        .query_row([sink], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub fn set_delivered(conn: &Connection, sink: &str, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO event_sinks (name, delivered) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET delivered = excluded.delivered",
    )?
    .execute(params![sink, seq])?;
    Ok(())
}

/// Deletes all but the newest `keep` events.
pub fn trim(conn: &Connection, keep: i64) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?1")?
        .execute([keep])?)
}
