//! The two SQL backends behind the findings store, reduced to what the store
//! needs: statements with positional `$1`-style parameters (which SQLite and
//! PostgreSQL both accept), rows of integers and text, and transactions.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// How long a SQLite writer waits for another.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A parameter or column value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl Value {
    /// The text, or `""` for other values.
    pub fn text(&self) -> &str {
        match self {
            Value::Text(text) => text,
            _ => "",
        }
    }

    /// The integer, or 0.
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(value) => *value,
            _ => 0,
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_string())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<Option<String>> for Value {
    fn from(text: Option<String>) -> Self {
        text.map_or(Value::Null, Value::Text)
    }
}

/// A SQL connection.
pub enum Backend {
    /// Embedded SQLite (one file).
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL server.
    Postgres(Box<postgres::Client>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite(_) => "Backend::Sqlite",
            Backend::Postgres(_) => "Backend::Postgres",
        })
    }
}

impl Backend {
    /// Opens (creating) a SQLite database file, in WAL mode so that readers
    /// and one writer at a time proceed; writers wait for each other.
    pub fn sqlite(path: &Path) -> anyhow::Result<Backend> {
        let connection =
            rusqlite::Connection::open(path).with_context(|| format!("opening the datastore {}", path.display()))?;
        connection.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
        // Switching a new database file to WAL needs it alone, and SQLite
        // answers "busy" at once, without waiting, when shards open it together.
        let deadline = Instant::now() + SQLITE_BUSY_TIMEOUT;
        while let Err(err) = connection.pragma_update(None, "journal_mode", "WAL") {
            let busy = err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy);
            if !busy || Instant::now() > deadline {
                return Err(err.into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Backend::Sqlite(connection))
    }

    /// Connects to PostgreSQL (`postgres://user@host:port/db`).
    pub fn postgres(url: &str) -> anyhow::Result<Backend> {
        let client = postgres::Client::connect(url, postgres::NoTls)
            .with_context(|| format!("connecting to the datastore {}", redact_url(url)))?;
        Ok(Backend::Postgres(Box::new(client)))
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }

    /// Runs statements without parameters (schema).
    pub fn batch(&mut self, sql: &str) -> anyhow::Result<()> {
        match self {
            Backend::Sqlite(connection) => connection.execute_batch(sql)?,
            Backend::Postgres(client) => client.batch_execute(sql)?,
        }
        Ok(())
    }

    /// Runs one statement; returns the rows changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> anyhow::Result<u64> {
        match self {
            Backend::Sqlite(connection) => {
                let mut statement = connection.prepare_cached(&numbered_for_sqlite(sql))?;
                Ok(statement.execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))? as u64)
            }
            Backend::Postgres(client) => {
                let owned = postgres_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = owned.iter().map(|p| p.as_ref()).collect();
                Ok(client.execute(sql, &refs)?)
            }
        }
    }

    /// Runs a query; returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<Vec<Value>>> {
        match self {
            Backend::Sqlite(connection) => {
                let mut statement = connection.prepare_cached(&numbered_for_sqlite(sql))?;
                let columns = statement.column_count();
                let rows = statement.query_map(rusqlite::params_from_iter(params.iter().map(sqlite_value)), |row| {
                    (0..columns)
                        .map(|index| {
                            Ok(match row.get_ref(index)? {
                                rusqlite::types::ValueRef::Null => Value::Null,
                                rusqlite::types::ValueRef::Integer(value) => Value::Int(value),
                                rusqlite::types::ValueRef::Real(value) => Value::Int(value as i64),
                                rusqlite::types::ValueRef::Text(text) | rusqlite::types::ValueRef::Blob(text) => {
                                    Value::Text(String::from_utf8_lossy(text).into_owned())
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<Value>>>()
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Backend::Postgres(client) => {
                let owned = postgres_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = owned.iter().map(|p| p.as_ref()).collect();
                let rows = client.query(sql, &refs)?;
                Ok(rows
                    .iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|index| {
                                let column = &row.columns()[index];
                                if *column.type_() == postgres::types::Type::INT8 {
                                    row.get::<_, Option<i64>>(index).map_or(Value::Null, Value::Int)
                                } else if *column.type_() == postgres::types::Type::INT4 {
                                    row.get::<_, Option<i32>>(index).map_or(Value::Null, |v| Value::Int(v.into()))
                                } else {
                                    row.get::<_, Option<String>>(index).map_or(Value::Null, Value::Text)
                                }
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }

    /// Starts a write transaction (SQLite: taking the write lock at once, so
    /// that concurrent writers queue instead of failing mid-way).
    pub fn begin(&mut self) -> anyhow::Result<()> {
        self.batch(if self.is_postgres() { "BEGIN" } else { "BEGIN IMMEDIATE" })
    }

    /// Commits the transaction.
    pub fn commit(&mut self) -> anyhow::Result<()> {
        self.batch("COMMIT")
    }

    /// Abandons the transaction.
    pub fn rollback(&mut self) {
        let _ = self.batch("ROLLBACK");
    }
}

/// `$1` becomes `?1`: SQLite numbers `$name` parameters by first appearance,
/// while `?N` is the N-th parameter, as `$N` is in PostgreSQL.
fn numbered_for_sqlite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn sqlite_value(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(value) => rusqlite::types::Value::Integer(*value),
        Value::Text(text) => rusqlite::types::Value::Text(text.clone()),
    }
}

fn postgres_params(params: &[Value]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|value| -> Box<dyn postgres::types::ToSql + Sync> {
            match value {
                Value::Null => Box::new(None::<String>),
                Value::Int(value) => Box::new(*value),
                Value::Text(text) => Box::new(text.clone()),
            }
        })
        .collect()
}

/// A connection URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:*****{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shards opening a new datastore together: switching it to WAL, one of
    /// them could fail at once with "database is locked" (SQLite does not
    /// wait when two connections both need the file alone).
    #[test]
    fn shards_opening_a_new_sqlite_datastore_together_all_succeed() {
        const SHARDS: usize = 4;
        let dir = tempfile::tempdir().unwrap();
        for round in 0..30 {
            let path = dir.path().join(format!("round-{round}.db"));
            let barrier = std::sync::Barrier::new(SHARDS);
            std::thread::scope(|scope| {
                let opening: Vec<_> = (0..SHARDS)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            Backend::sqlite(&path).map(drop)
                        })
                    })
                    .collect();
                for shard in opening {
                    let opened = shard.join().unwrap();
                    assert!(opened.is_ok(), "round {round}: {:#}", opened.err().unwrap());
                }
            });
        }
    }

    #[test]
    fn parameters_are_bound_by_number_in_sqlite_too() {
        assert_eq!(
            numbered_for_sqlite("UPDATE t SET a = $2 WHERE b = $1 AND c = $10"),
            "UPDATE t SET a = ?2 WHERE b = ?1 AND c = ?10"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut backend = Backend::sqlite(&dir.path().join("t.db")).unwrap();
        backend.batch("CREATE TABLE t (a TEXT, b BIGINT)").unwrap();
        backend.execute("INSERT INTO t (b, a) VALUES ($2, $1)", &["x".into(), Value::Int(7)]).unwrap();
        let rows = backend.query("SELECT a, b FROM t WHERE b = $1", &[Value::Int(7)]).unwrap();
        assert_eq!(rows, [vec![Value::Text("x".into()), Value::Int(7)]]);
    }

    #[test]
    fn passwords_are_not_shown_in_messages() {
        assert_eq!(redact_url("postgres://keyhound:hunter2@db:5432/k"), "postgres://keyhound:*****@db:5432/k");
        assert_eq!(redact_url("postgres://db/k"), "postgres://db/k");
    }
}
