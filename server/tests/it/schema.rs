//! The mirrored migrations cannot drift: once migrated, SQLite and PostgreSQL have the
//! same tables, columns (coarse type and nullability), primary keys and indexes.

use crate::harness;
use sqlx::{AnyPool, Row};
use std::collections::{BTreeMap, BTreeSet};

/// A column's type, as coarse as the two dialects can agree on.
#[derive(Debug, PartialEq, Eq)]
enum TypeClass {
    Integer,
    Text,
    Real,
    Blob,
    Numeric,
    Boolean,
    /// A PostgreSQL type this test does not map: equal to nothing SQLite has.
    Other(String),
}

#[derive(Debug, PartialEq, Eq)]
struct Column {
    class: TypeClass,
    not_null: bool,
}

/// An index other than the primary key's, known by what it does (the names differ).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    unique: bool,
    /// Has a `WHERE` clause.
    partial: bool,
    /// The key columns in order, `name DESC` for descending ones.
    columns: Vec<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct TableShape {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    /// Sorted.
    indexes: Vec<Index>,
}

type Schema = BTreeMap<String, TableShape>;

/// SQLite's rules for a declared type's affinity
/// (<https://www.sqlite.org/datatype3.html#determination_of_column_affinity>), with
/// BOOLEAN kept apart to meet PostgreSQL's `boolean`.
fn sqlite_class(declared: &str) -> TypeClass {
    let t = declared.to_ascii_uppercase();
    let has = |parts: &[&str]| parts.iter().any(|p| t.contains(*p));
    if has(&["BOOL"]) {
        TypeClass::Boolean
    } else if has(&["INT"]) {
        TypeClass::Integer
    } else if has(&["CHAR", "CLOB", "TEXT"]) {
        TypeClass::Text
    } else if t.is_empty() || has(&["BLOB"]) {
        TypeClass::Blob
    } else if has(&["REAL", "FLOA", "DOUB"]) {
        TypeClass::Real
    } else {
        TypeClass::Numeric
    }
}

/// `information_schema.columns.data_type` (identity columns report their own type).
fn postgres_class(data_type: &str) -> TypeClass {
    match data_type {
        "smallint" | "integer" | "bigint" => TypeClass::Integer,
        "text" | "character varying" | "character" => TypeClass::Text,
        "real" | "double precision" => TypeClass::Real,
        "bytea" => TypeClass::Blob,
        "numeric" => TypeClass::Numeric,
        "boolean" => TypeClass::Boolean,
        other => TypeClass::Other(other.to_string()),
    }
}

fn key_column(name: Option<String>, descending: bool) -> String {
    let name = name.unwrap_or_else(|| "(expression)".into());
    if descending {
        format!("{name} DESC")
    } else {
        name
    }
}

async fn describe_sqlite(pool: &AnyPool) -> Schema {
    let mut schema = Schema::new();
    let tables = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .expect("SQLite tables");
    for row in tables {
        let table: String = row.try_get("name").expect("table name");
        let mut shape = TableShape::default();

        let mut primary_key = Vec::new();
        let columns = sqlx::query(&format!("PRAGMA table_info(\"{table}\")"))
            .fetch_all(pool)
            .await
            .expect("table_info");
        for c in columns {
            let name: String = c.try_get("name").expect("column name");
            let declared: String = c.try_get("type").expect("column type");
            let not_null: i64 = c.try_get("notnull").expect("notnull");
            // The column's 1-based position in the primary key, or 0.
            let pk: i64 = c.try_get("pk").expect("pk");
            if pk > 0 {
                primary_key.push((pk, name.clone()));
            }
            // A primary key column counts as NOT NULL, as PostgreSQL makes it: an INTEGER
            // PRIMARY KEY (the rowid) cannot be NULL, though SQLite reports notnull = 0
            // for it; other primary key columns only have SQLite's legacy leniency.
            let column = Column {
                class: sqlite_class(&declared),
                not_null: not_null != 0 || pk > 0,
            };
            shape.columns.insert(name, column);
        }
        primary_key.sort();
        shape.primary_key = primary_key.into_iter().map(|(_, name)| name).collect();

        let indexes = sqlx::query(&format!("PRAGMA index_list(\"{table}\")"))
            .fetch_all(pool)
            .await
            .expect("index_list");
        for i in indexes {
            // 'c' CREATE INDEX, 'u' UNIQUE constraint, 'pk' primary key (compared above;
            // an INTEGER PRIMARY KEY has no index at all).
            let origin: String = i.try_get("origin").expect("origin");
            if origin == "pk" {
                continue;
            }
            let index: String = i.try_get("name").expect("index name");
            let unique: i64 = i.try_get("unique").expect("unique");
            let partial: i64 = i.try_get("partial").expect("partial");
            let mut columns = Vec::new();
            let keys = sqlx::query(&format!("PRAGMA index_xinfo(\"{index}\")"))
                .fetch_all(pool)
                .await
                .expect("index_xinfo");
            for k in keys {
                // Rows with key = 0 are the rowid and other auxiliary columns.
                let key: i64 = k.try_get("key").expect("key");
                if key == 0 {
                    continue;
                }
                let name: Option<String> = k.try_get("name").expect("key column");
                let desc: i64 = k.try_get("desc").expect("desc");
                columns.push(key_column(name, desc != 0));
            }
            shape.indexes.push(Index {
                unique: unique != 0,
                partial: partial != 0,
                columns,
            });
        }
        shape.indexes.sort();
        schema.insert(table, shape);
    }
    schema
}

async fn describe_postgres(pool: &AnyPool) -> Schema {
    let mut schema = Schema::new();
    let tables = sqlx::query(
        "SELECT table_name::text AS table_name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("PostgreSQL tables");
    for row in tables {
        let table: String = row.try_get("table_name").expect("table name");
        schema.insert(table, TableShape::default());
    }

    let columns = sqlx::query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.data_type::text AS data_type, c.is_nullable::text AS is_nullable \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("PostgreSQL columns");
    for c in columns {
        let table: String = c.try_get("table_name").expect("table name");
        let name: String = c.try_get("column_name").expect("column name");
        let data_type: String = c.try_get("data_type").expect("data type");
        let nullable: String = c.try_get("is_nullable").expect("is_nullable");
        let column = Column {
            class: postgres_class(&data_type),
            not_null: nullable == "NO",
        };
        schema
            .get_mut(&table)
            .expect("a column of a listed table")
            .columns
            .insert(name, column);
    }

    // One row per key column of each index (primary keys and UNIQUE constraints are
    // indexes too), in key order; bit 1 of indoption is DESC.
    let keys = sqlx::query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
                x.indisunique::int::bigint AS is_unique, \
                x.indisprimary::int::bigint AS is_primary, \
                (x.indpred IS NOT NULL)::int::bigint AS is_partial, \
                a.attname::text AS column_name, \
                (x.indoption[k.ord::int - 1] & 1)::bigint AS descending \
         FROM pg_index x \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = current_schema() AND t.relname <> '_sqlx_migrations' \
           AND k.ord <= x.indnkeyatts \
         ORDER BY t.relname, i.relname, k.ord",
    )
    .fetch_all(pool)
    .await
    .expect("PostgreSQL indexes");
    // (table, index name) -> (primary?, index)
    let mut indexes: BTreeMap<(String, String), (bool, Index)> = BTreeMap::new();
    for k in keys {
        let table: String = k.try_get("table_name").expect("table name");
        let index: String = k.try_get("index_name").expect("index name");
        let unique: i64 = k.try_get("is_unique").expect("is_unique");
        let primary: i64 = k.try_get("is_primary").expect("is_primary");
        let partial: i64 = k.try_get("is_partial").expect("is_partial");
        let name: Option<String> = k.try_get("column_name").expect("key column");
        let descending: i64 = k.try_get("descending").expect("descending");
        let (_, entry) = indexes.entry((table, index)).or_insert_with(|| {
            (
                primary != 0,
                Index {
                    unique: unique != 0,
                    partial: partial != 0,
                    columns: Vec::new(),
                },
            )
        });
        entry.columns.push(key_column(name, descending != 0));
    }
    for ((table, _), (primary, index)) in indexes {
        let shape = schema.get_mut(&table).expect("an index of a listed table");
        if primary {
            shape.primary_key = index.columns;
        } else {
            shape.indexes.push(index);
        }
    }
    for shape in schema.values_mut() {
        shape.indexes.sort();
    }
    schema
}

/// Every difference, one line each, naming the table and column or index.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let tables: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for table in tables {
        let (Some(s), Some(p)) = (sqlite.get(table), postgres.get(table)) else {
            let side = if sqlite.contains_key(table) {
                "SQLite"
            } else {
                "PostgreSQL"
            };
            out.push(format!("table {table}: only in {side}"));
            continue;
        };
        let columns: BTreeSet<&String> = s.columns.keys().chain(p.columns.keys()).collect();
        for column in columns {
            let (a, b) = (s.columns.get(column), p.columns.get(column));
            if a != b {
                out.push(format!("{table}.{column}: SQLite {a:?}, PostgreSQL {b:?}"));
            }
        }
        if s.primary_key != p.primary_key {
            out.push(format!(
                "{table} primary key: SQLite {:?}, PostgreSQL {:?}",
                s.primary_key, p.primary_key
            ));
        }
        for index in s.indexes.iter().filter(|i| !p.indexes.contains(i)) {
            out.push(format!("{table} index {index:?}: only in SQLite"));
        }
        for index in p.indexes.iter().filter(|i| !s.indexes.contains(i)) {
            out.push(format!("{table} index {index:?}: only in PostgreSQL"));
        }
    }
    out
}

#[test]
fn sqlite_and_postgresql_schemas_match() {
    harness::runtime().block_on(async {
        let env = harness::sqlite().await;
        let sqlite = describe_sqlite(env.state.db.pool()).await;
        env.finish().await;

        // Not vacuous: columns, primary keys and UNIQUE constraints were all found.
        let users = sqlite.get("users").expect("users table");
        assert_eq!(
            users.columns.get("email_normalized"),
            Some(&Column {
                class: TypeClass::Text,
                not_null: true
            }),
            "{users:?}"
        );
        assert_eq!(users.primary_key, ["id"], "{users:?}");
        let sessions = sqlite.get("sessions").expect("sessions table");
        assert!(
            sessions.indexes.contains(&Index {
                unique: true,
                partial: false,
                columns: vec!["token_hash".into()],
            }),
            "{sessions:?}"
        );

        let Some(env) = harness::postgres().await else {
            return;
        };
        let postgres = describe_postgres(env.state.db.pool()).await;
        env.finish().await;

        let diffs = differences(&sqlite, &postgres);
        assert!(
            diffs.is_empty(),
            "the SQLite and PostgreSQL schemas differ:\n{}",
            diffs.join("\n")
        );
        assert_eq!(sqlite, postgres);
    })
}
