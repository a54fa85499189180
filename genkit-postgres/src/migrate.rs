//! Versioned migrations: the schema the store needs, created and upgraded in order, each
//! version once, under an advisory lock so that workers starting together do not race.

use tokio_postgres::Client;

use crate::error::PostgresError;
use crate::sql::Tables;

/// One step of the schema's history.
///
/// ```
/// let all = genkit_postgres::migrations();
/// assert_eq!(all.first().map(|m| m.version), Some(1));
/// assert_eq!(all.last().map(|m| m.version), Some(genkit_postgres::SCHEMA_VERSION));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its version; versions are consecutive from 1.
    pub version: i32,
    /// What it does.
    pub description: &'static str,
    sql: fn(&Tables) -> String,
}

impl Migration {
    /// Its SQL for `schema` (for a DBA who applies migrations by hand; the store runs them
    /// itself unless told not to).
    ///
    /// ```
    /// let sql = genkit_postgres::migrations()[0].sql("genkit")?;
    /// assert!(sql.contains("CREATE TABLE \"genkit\".\"snapshots\""));
    /// # Ok::<(), genkit_postgres::PostgresError>(())
    /// ```
    pub fn sql(&self, schema: &str) -> Result<String, PostgresError> {
        Ok((self.sql)(&Tables::new(schema)?))
    }
}

/// The newest schema version this code knows (and needs).
pub const SCHEMA_VERSION: i32 = 3;

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "snapshots (one row per snapshot, the state by reference) and states (checkpoints and JSON Patch diffs)",
        sql: v1,
    },
    Migration {
        version: 2,
        description: "resume_claims (which snapshot consumed an interrupted one: a claim is one insert)",
        sql: v2,
    },
    Migration {
        version: 3,
        description: "no foreign keys on state references (each cost a row lock on the referenced state per turn); a broken chain still reads as corrupted",
        sql: v3,
    },
];

/// Every migration, oldest first.
pub fn migrations() -> &'static [Migration] {
    MIGRATIONS
}

/// Version 1. Text keys use the "C" collation so that order is byte order, as in every other
/// store (and whatever the database's default collation is). JSON is `json`, not `jsonb`:
/// `jsonb` refuses U+0000, which tool output may hold.
fn v1(t: &Tables) -> String {
    let Tables {
        snapshots, states, ..
    } = t;
    let index_prefix = &t.index_prefix;
    format!(
        r#"
CREATE TABLE {states} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope text COLLATE "C" NOT NULL,
    base_id bigint REFERENCES {states} (id),
    depth integer NOT NULL CHECK (depth >= 0 AND (depth = 0) = (base_id IS NULL)),
    body json NOT NULL
);
COMMENT ON TABLE {states} IS 'genkit-rs session states: depth 0 is a whole state (a checkpoint), depth n an RFC 6902 JSON Patch against base_id';
CREATE TABLE {snapshots} (
    scope text COLLATE "C" NOT NULL,
    snapshot_id text COLLATE "C" NOT NULL,
    session_id text COLLATE "C" NOT NULL,
    parent_id text COLLATE "C",
    created_order timestamptz NOT NULL,
    status text NOT NULL,
    finish_reason text,
    heartbeat_order timestamptz,
    header json NOT NULL,
    state_id bigint REFERENCES {states} (id),
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, snapshot_id)
);
COMMENT ON TABLE {snapshots} IS 'genkit-rs session snapshots: header is the snapshot without its state; the columns before it are copies for lookups';
CREATE INDEX {index_prefix}snapshots_latest ON {snapshots} (scope, session_id, created_order DESC, snapshot_id DESC);
CREATE INDEX {index_prefix}snapshots_listing ON {snapshots} (scope, created_order DESC, snapshot_id DESC);
CREATE INDEX {index_prefix}snapshots_children ON {snapshots} (scope, parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX {index_prefix}states_base ON {states} (base_id) WHERE base_id IS NOT NULL;
"#
    )
}

/// Version 2: resume claims in a table of their own, so that claiming an interrupted snapshot
/// is one insert instead of a rewrite of the snapshot (the trait's default keeps the claim in
/// the snapshot's last message). The first claim of a snapshot holds: the primary key makes a
/// racing second insert do nothing. Claims made under version 1 stay in the messages' metadata
/// and are not carried over.
fn v2(t: &Tables) -> String {
    let claims = &t.claims;
    format!(
        r#"
CREATE TABLE {claims} (
    scope text COLLATE "C" NOT NULL,
    snapshot_id text COLLATE "C" NOT NULL,
    claimed_by text COLLATE "C" NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, snapshot_id)
);
COMMENT ON TABLE {claims} IS 'genkit-rs resume claims: snapshot_id is an interrupted snapshot, claimed_by the snapshot that consumed its answers';
"#
    )
}

/// Version 3: the state references lose their foreign keys, and `states_base`, the index only
/// their checks used. Each key made every turn's insert lock the row it names (`FOR KEY SHARE`:
/// for a diff, the base state, which the store never updates or deletes), a write to an old page
/// and its WAL record, to guard against a deletion this store never makes. Rows are still only
/// ever inserted; the one the store deletes, a state whose create lost a race, nothing names. A
/// state chain broken by hand reads back as `SessionStoreError::Corrupted`, naming the snapshot.
fn v3(t: &Tables) -> String {
    let Tables {
        snapshots,
        states,
        quoted_schema,
        index_prefix,
        ..
    } = t;
    format!(
        r#"
ALTER TABLE {snapshots} DROP CONSTRAINT IF EXISTS snapshots_state_id_fkey;
ALTER TABLE {states} DROP CONSTRAINT IF EXISTS states_base_id_fkey;
DROP INDEX IF EXISTS {quoted_schema}."{index_prefix}states_base";
"#
    )
}

/// Brings the schema to [`SCHEMA_VERSION`] (or, with `apply` false, checks that it is there).
/// Answers the version found before.
pub(crate) async fn migrate(
    client: &mut Client,
    t: &Tables,
    apply: bool,
) -> Result<i32, PostgresError> {
    let db = PostgresError::db;
    let tx = client.transaction().await.map_err(db("migrate"))?;
    // one migrator per schema at a time; the others wait and then find the work done
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&t.lock_namespace, &0i32],
    )
    .await
    .map_err(db("migrate: lock"))?;
    let exists: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_version')",
            &[&t.schema],
        )
        .await
        .map_err(db("migrate: read version"))?
        .get(0);
    let found: i32 = if exists {
        tx.query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {}", t.versions),
            &[],
        )
        .await
        .map_err(db("migrate: read version"))?
        .get(0)
    } else {
        0
    };
    if found > SCHEMA_VERSION {
        return Err(PostgresError::SchemaTooNew {
            schema: t.schema.clone(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(found);
    }
    if !apply {
        return Err(PostgresError::SchemaOutdated {
            schema: t.schema.clone(),
            found,
            wanted: SCHEMA_VERSION,
        });
    }
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {versions} (
             version integer PRIMARY KEY,
             description text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );",
        schema = t.quoted_schema,
        versions = t.versions
    ))
    .await
    .map_err(db("migrate: create schema"))?;
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(&(m.sql)(t))
            .await
            .map_err(db("migrate: apply"))?;
        tx.execute(
            &format!(
                "INSERT INTO {} (version, description) VALUES ($1, $2)",
                t.versions
            ),
            &[&m.version, &m.description],
        )
        .await
        .map_err(db("migrate: record version"))?;
        tracing::info!(target: "genkit_postgres", schema = %t.schema, version = m.version, "applied migration");
    }
    tx.commit().await.map_err(db("migrate: commit"))?;
    Ok(found)
}
