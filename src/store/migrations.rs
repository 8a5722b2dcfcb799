//! Versioned schema migrations. The schema is defined here and nowhere else.
//!
//! `PRAGMA user_version` holds the number of migrations applied; each migration runs in its own
//! transaction, so a crash mid-upgrade leaves the previous version intact.

use rusqlite::Connection;

use super::StoreError;

/// Migration N (1-based) is `MIGRATIONS[N - 1]`. Append only; never edit a released one.
const MIGRATIONS: &[&str] = &[
    // 1: repositories, blobs, manifests, tags, referrers, uploads.
    r#"
    CREATE TABLE repositories (
        id                    INTEGER PRIMARY KEY,
        account               TEXT NOT NULL,
        region                TEXT NOT NULL,
        name                  TEXT NOT NULL,
        created_at            INTEGER NOT NULL,          -- ms since epoch
        tag_mutability        TEXT NOT NULL,             -- MUTABLE, IMMUTABLE, *_WITH_EXCLUSION
        mutability_exclusions TEXT NOT NULL DEFAULT '[]', -- JSON array of wildcard filters
        scan_on_push          INTEGER NOT NULL DEFAULT 0,
        encryption_type       TEXT NOT NULL DEFAULT 'AES256',
        kms_key               TEXT,
        UNIQUE (account, region, name)
    ) STRICT;

    -- ECR resource tags on repositories (TagResource), not image tags.
    CREATE TABLE repository_resource_tags (
        repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        key           TEXT NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (repository_id, key)
    ) STRICT, WITHOUT ROWID;

    -- A blob file exists under blobs/sha256/ for every row (the file is renamed into place
    -- before the row is inserted).
    CREATE TABLE blobs (
        digest     TEXT PRIMARY KEY,
        size       INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;

    -- Blobs are visible per repository, as on ECR.
    CREATE TABLE repository_blobs (
        repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        digest        TEXT NOT NULL REFERENCES blobs(digest),
        linked_at     INTEGER NOT NULL,
        PRIMARY KEY (repository_id, digest)
    ) STRICT, WITHOUT ROWID;

    -- One image = one manifest in one repository. `body` holds the bytes exactly as pushed.
    -- `subject_digest` is the referrers index: (repository_id, subject_digest) → referrers.
    CREATE TABLE manifests (
        id                INTEGER PRIMARY KEY,
        repository_id     INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        digest            TEXT NOT NULL,
        media_type        TEXT NOT NULL,
        artifact_type     TEXT,        -- as the referrers API reports it
        config_media_type TEXT,
        subject_digest    TEXT,
        annotations       TEXT,        -- JSON object of top-level annotations, if any
        size              INTEGER NOT NULL,
        image_size        INTEGER NOT NULL,
        pushed_at         INTEGER NOT NULL,
        last_pulled_at    INTEGER,
        body              BLOB NOT NULL,
        UNIQUE (repository_id, digest)
    ) STRICT;
    CREATE INDEX manifests_by_subject ON manifests (repository_id, subject_digest)
        WHERE subject_digest IS NOT NULL;
    CREATE INDEX manifests_by_push ON manifests (repository_id, pushed_at, digest);

    CREATE TABLE tags (
        repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        name          TEXT NOT NULL,
        manifest_id   INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
        updated_at    INTEGER NOT NULL,
        PRIMARY KEY (repository_id, name)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX tags_by_manifest ON tags (manifest_id);

    -- What a manifest needs: its config and layers (blobs) ...
    CREATE TABLE manifest_blobs (
        manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
        digest      TEXT NOT NULL REFERENCES blobs(digest),
        PRIMARY KEY (manifest_id, digest)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX manifest_blobs_by_digest ON manifest_blobs (digest);

    -- ... and, for an index, its child manifests. A child cannot be deleted while listed.
    CREATE TABLE manifest_children (
        manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
        child_id    INTEGER NOT NULL REFERENCES manifests(id),
        PRIMARY KEY (manifest_id, child_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX manifest_children_by_child ON manifest_children (child_id);

    -- Open blob uploads; the bytes are in uploads/<id>.
    CREATE TABLE uploads (
        id            TEXT PRIMARY KEY,
        repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        created_at    INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    "#,
    // 2: layer-API part sizes; blob links by digest (garbage collection).
    r#"
    -- Parts received through UploadLayerPart: CompleteLayerUpload refuses an upload whose parts
    -- other than the last are under 5 MiB. Gone with their upload session.
    CREATE TABLE layer_upload_parts (
        upload_id  TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        first_byte INTEGER NOT NULL,
        size       INTEGER NOT NULL,
        PRIMARY KEY (upload_id, first_byte)
    ) STRICT, WITHOUT ROWID;

    -- Garbage collection asks, per blob, for its links and their age.
    CREATE INDEX repository_blobs_by_digest ON repository_blobs (digest, linked_at);
    "#,
    // 3: lifecycle policies, storage classes, and what was deleted (for referrer cleanup).
    r#"
    ALTER TABLE repositories ADD COLUMN lifecycle_policy TEXT;
    ALTER TABLE repositories ADD COLUMN lifecycle_evaluated_at INTEGER;

    -- ACTIVE, ARCHIVED or ACTIVATING, as ECR's imageStatus.
    ALTER TABLE manifests ADD COLUMN status TEXT NOT NULL DEFAULT 'ACTIVE';
    ALTER TABLE manifests ADD COLUMN last_archived_at INTEGER;
    ALTER TABLE manifests ADD COLUMN last_activated_at INTEGER;

    -- Digests of deleted manifests: a referrer whose subject is here (and not back) is an orphan
    -- the next lifecycle run removes; a referrer whose subject was never pushed is left alone.
    CREATE TABLE deleted_manifests (
        repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        digest        TEXT NOT NULL,
        PRIMARY KEY (repository_id, digest)
    ) STRICT, WITHOUT ROWID;

    -- The last lifecycle policy preview of each repository; `results` is JSON.
    CREATE TABLE lifecycle_previews (
        repository_id INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
        policy_text   TEXT NOT NULL,
        status        TEXT NOT NULL,
        results       TEXT NOT NULL,
        started_at    INTEGER NOT NULL
    ) STRICT;
    "#,
    // 4: repository policies, registry-level settings, basic image scans.
    r#"
    -- SetRepositoryPolicy's text as the client sent it; NULL when the repository has none. It
    -- lives on the row, so it goes with its repository.
    ALTER TABLE repositories ADD COLUMN repository_policy TEXT;

    -- Settings of one registry (account, region) as JSON documents: the registry policy, the
    -- replication and scanning configurations, account settings. `kind` names the setting; `key`
    -- tells apart the settings of one kind (an account setting's name, '' for the others).
    CREATE TABLE registry_settings (
        account    TEXT NOT NULL,
        region     TEXT NOT NULL,
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        document   TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (account, region, kind, key)
    ) STRICT, WITHOUT ROWID;

    -- When the image's last basic scan completed (ecrd's scans complete at once, with no
    -- findings); NULL when it has none (never scanned, or restored from the archive since).
    ALTER TABLE manifests ADD COLUMN scan_completed_at INTEGER;
    "#,
    // 5: the events outbox (src/events).
    r#"
    -- EventBridge-style events, written in the transaction of the change they describe; the
    -- envelope is rebuilt from the columns when they are read. `seq` orders them and is the
    -- cursor readers and sinks resume from (trimming keeps the newest rows, so the largest
    -- `seq` is never reused).
    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY,
        id          BLOB NOT NULL,     -- the event's UUID, 16 bytes
        account     TEXT NOT NULL,
        region      TEXT NOT NULL,
        detail_type TEXT NOT NULL,
        at          INTEGER NOT NULL,  -- ms since epoch, ecrd's clock
        resources   TEXT,              -- JSON array of ARNs; NULL for none
        detail      TEXT NOT NULL      -- the detail object, JSON
    ) STRICT;

    -- How far each delivery sink got: the last `seq` it has delivered.
    CREATE TABLE event_sinks (
        name      TEXT PRIMARY KEY,
        delivered INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    "#,
];

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(0);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {applied}, newer than this ecrd ({})",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_apply_once_and_are_idempotent() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::migrate(&mut conn).unwrap();
        super::migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, super::MIGRATIONS.len());
    }

    #[test]
    fn a_store_of_version_3_upgrades_keeping_its_rows() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        for (i, sql) in super::MIGRATIONS.iter().take(3).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", i as i64 + 1)
                .unwrap();
        }
        conn.execute(
            "INSERT INTO repositories (account, region, name, created_at, tag_mutability) \
             VALUES ('000000000000', 'us-east-1', 'app', 1, 'MUTABLE')",
            [],
        )
        .unwrap();
        super::migrate(&mut conn).unwrap();
        let policy: Option<String> = conn
            .query_row("SELECT repository_policy FROM repositories", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(policy, None);
        let settings: i64 = conn
            .query_row("SELECT count(*) FROM registry_settings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(settings, 0);
    }
}
