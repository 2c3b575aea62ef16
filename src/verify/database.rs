//! Database credentials, checked by authenticating to the host named in the
//! finding (`postgres://app:pw@db.internal:5432/app`, `redis://:pw@cache:6379`,
//! `mysql://app:pw@db:3306/app`, `mariadb://...`).
//!
//! The host comes from the scanned file, so nothing is contacted unless the
//! person running keyhound says so (`--verify-network-hosts`): a repository
//! must not be able to make keyhound connect to an address of its choosing.
//! Only the handshake runs (no query), with a short time limit; a password
//! the server rejects is `dead`, one it accepts `live`, anything else
//! (unreachable, TLS required, an unknown database) `unknown`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::{Status, Verification};

impl Target {
    /// The user logged in as: the URI's, else the server's usual administrator
    /// (`postgres` for PostgreSQL, `root` for MySQL/MariaDB).
    pub fn login_user(&self) -> &str {
        match (self.user.as_str(), self.scheme.as_str()) {
            ("", "postgres" | "postgresql") => "postgres",
            ("", _) => "root",
            (user, _) => user,
        }
    }
}

/// The URI schemes checked, and the default port of each.
const SCHEMES: [(&str, u16); 6] =
    [("postgres", 5432), ("postgresql", 5432), ("redis", 6379), ("rediss", 6379), ("mysql", 3306), ("mariadb", 3306)];

/// Where and as whom to authenticate, from a connection URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// `postgres`, `redis`...
    pub scheme: String,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name (may be empty).
    pub user: String,
    /// The password, percent-decoded.
    pub password: String,
    /// Database (path without `/`; may be empty).
    pub database: String,
}

/// The connection URI around `secret` in `line`, if it is one keyhound can check.
pub fn target_in(line: &str, secret: &str) -> Option<Target> {
    let at = line.find(secret)?;
    let start = line[..at].rfind("://").map(|scheme_end| {
        line[..scheme_end].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+')).map_or(0, |before| before + 1)
    })?;
    let end =
        line[at..].find(|c: char| c.is_whitespace() || "'\"`<>,;)".contains(c)).map_or(line.len(), |end| at + end);
    let url = url::Url::parse(&line[start..end]).ok()?;
    let scheme = url.scheme().to_ascii_lowercase();
    let (_, default_port) = SCHEMES.iter().find(|(known, _)| *known == scheme)?;
    let password = percent_decode(url.password()?)?;
    Some(Target {
        host: url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_string(),
        port: url.port().unwrap_or(*default_port),
        user: percent_decode(url.username())?,
        password,
        database: url.path().trim_start_matches('/').to_string(),
        scheme,
    })
}

/// The login a live verification recorded (`scheme`, `host`, `port`, `user`,
/// `database`), with `password`: how `keyhound rotate` finds the server again
/// from a JSON report, which holds the secret but not its line.
pub fn target_from_details(details: &BTreeMap<String, Value>, password: &str) -> Option<Target> {
    let text = |name: &str| details.get(name).and_then(Value::as_str).map(str::to_string);
    let scheme = text("scheme")?;
    SCHEMES.iter().find(|(known, _)| *known == scheme)?;
    Some(Target {
        host: text("host")?,
        port: details.get("port").and_then(Value::as_u64).and_then(|port| u16::try_from(port).ok())?,
        user: text("user").unwrap_or_default(),
        password: password.to_string(),
        database: text("database").unwrap_or_default(),
        scheme,
    })
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text).decode_utf8().ok().map(|decoded| decoded.into_owned())
}

/// Authenticates to `target` within `timeout`.
pub fn check(target: &Target, timeout: Duration) -> Verification {
    let mut verification = match target.scheme.as_str() {
        "postgres" | "postgresql" => postgres(target, timeout),
        "redis" => redis(target, timeout),
        "rediss" => Verification::unknown("Redis over TLS (rediss://) is not checked"),
        "mysql" | "mariadb" => mysql(target, timeout),
        other => Verification::unknown(format!("{other}:// credentials are not checked yet")),
    };
    if verification.status == Status::Live {
        let facts: BTreeMap<String, Value> = [
            ("scheme", Value::String(target.scheme.clone())),
            ("host", Value::String(target.host.clone())),
            ("port", Value::from(target.port)),
            ("user", Value::String(target.user.clone())),
            ("database", Value::String(target.database.clone())),
        ]
        .into_iter()
        .filter(|(_, value)| value.as_str() != Some(""))
        .map(|(name, value)| (name.to_string(), value))
        .collect();
        verification.details.extend(facts);
    }
    verification
}

/// A PostgreSQL login as `target` says (user `postgres` when the URI names none).
pub fn postgres_config(target: &Target, timeout: Duration) -> postgres::Config {
    let mut config = postgres::Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .user(target.login_user())
        .password(&target.password)
        .connect_timeout(timeout)
        .application_name("keyhound");
    if !target.database.is_empty() {
        config.dbname(&target.database);
    }
    config
}

/// A MySQL/MariaDB login as `target` says (user `root` when the URI names none), over TCP.
pub fn mysql_options(target: &Target, timeout: Duration) -> mysql::OptsBuilder {
    mysql::OptsBuilder::new()
        .ip_or_hostname(Some(target.host.clone()))
        .tcp_port(target.port)
        .user(Some(target.login_user()))
        .pass(Some(target.password.clone()))
        .db_name((!target.database.is_empty()).then(|| target.database.clone()))
        .prefer_socket(false)
        .max_allowed_packet(Some(1 << 20))
        .tcp_connect_timeout(Some(timeout))
        .read_timeout(Some(timeout))
        .write_timeout(Some(timeout))
}

fn postgres(target: &Target, timeout: Duration) -> Verification {
    match postgres_config(target, timeout).connect(postgres::NoTls) {
        Ok(client) => {
            drop(client);
            Verification { status: Status::Live, details: BTreeMap::new() }
        }
        Err(err) => match err.code() {
            Some(code) if *code == postgres::error::SqlState::INVALID_PASSWORD => {
                Verification { status: Status::Dead, details: BTreeMap::new() }
            }
            Some(code) => Verification::unknown(format!("PostgreSQL refused the login ({})", code.code())),
            None if err.to_string().contains("password authentication failed") => {
                Verification { status: Status::Dead, details: BTreeMap::new() }
            }
            None => Verification::unknown(format!("PostgreSQL not reached: {}", first_line(&err.to_string()))),
        },
    }
}

fn redis(target: &Target, timeout: Duration) -> Verification {
    let info = redis::ConnectionInfo {
        addr: redis::ConnectionAddr::Tcp(target.host.clone(), target.port),
        redis: redis::RedisConnectionInfo {
            db: target.database.parse().unwrap_or(0),
            username: (!target.user.is_empty()).then(|| target.user.clone()),
            password: Some(target.password.clone()),
            ..Default::default()
        },
    };
    let client = match redis::Client::open(info) {
        Ok(client) => client,
        Err(err) => return redis_failure(&err),
    };
    match client.get_connection_with_timeout(timeout) {
        Ok(connection) => {
            drop(connection);
            Verification { status: Status::Live, details: BTreeMap::new() }
        }
        Err(err) if err.kind() == redis::ErrorKind::AuthenticationFailed || err.code() == Some("WRONGPASS") => {
            Verification { status: Status::Dead, details: BTreeMap::new() }
        }
        Err(err) if err.to_string().contains("without any password configured") => {
            Verification::unknown("the Redis server has no password: it accepts anyone")
        }
        Err(err) if err.is_timeout() || err.is_connection_refusal() || err.is_io_error() => {
            Verification::unknown("Redis not reached (network)")
        }
        Err(err) => redis_failure(&err),
    }
}

/// MySQL and MariaDB: the handshake only. The packet size is given, so the
/// client asks the server nothing after logging in (no `SELECT @@...`).
fn mysql(target: &Target, timeout: Duration) -> Verification {
    // Server error codes: the password was wrong, or it was right and the
    // login stopped later (no access to the named database, no such database).
    const ACCESS_DENIED: u16 = 1045;
    const PASSWORD_ACCEPTED: [u16; 2] = [1044, 1049];
    match mysql::Conn::new(mysql_options(target, timeout)) {
        Ok(connection) => {
            drop(connection);
            Verification { status: Status::Live, details: BTreeMap::new() }
        }
        Err(mysql::Error::MySqlError(err)) if err.code == ACCESS_DENIED => {
            Verification { status: Status::Dead, details: BTreeMap::new() }
        }
        Err(mysql::Error::MySqlError(err)) if PASSWORD_ACCEPTED.contains(&err.code) => {
            let mut details = BTreeMap::new();
            details.insert("database_access".to_string(), Value::String(format!("denied (error {})", err.code)));
            Verification { status: Status::Live, details }
        }
        // The server's message may echo the user or database: the code alone.
        Err(mysql::Error::MySqlError(err)) => {
            Verification::unknown(format!("MySQL refused the login (error {})", err.code))
        }
        Err(mysql::Error::IoError(_) | mysql::Error::CodecError(_)) => {
            Verification::unknown("MySQL not reached (network)")
        }
        Err(mysql::Error::DriverError(err)) => {
            Verification::unknown(format!("MySQL: {}", first_line(&err.to_string())))
        }
        Err(_) => Verification::unknown("MySQL: unexpected answer"),
    }
}

/// A Redis error's kind in words, without the server's text (which may echo input).
fn redis_failure(err: &redis::RedisError) -> Verification {
    Verification::unknown(format!("Redis: {:?}", err.kind()))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_uris_are_read_around_the_secret() {
        let target = target_in(
            r#"DATABASE_URL="postgres://app:p%40ss-W0rd@db.internal:6543/orders?sslmode=disable""#,
            "p%40ss-W0rd",
        )
        .unwrap();
        assert_eq!(
            target,
            Target {
                scheme: "postgres".into(),
                host: "db.internal".into(),
                port: 6543,
                user: "app".into(),
                password: "p@ss-W0rd".into(),
                database: "orders".into(),
            }
        );
        let redis = target_in("cache: redis://:Zq8vN2kLp5@cache.example:6380/2", "Zq8vN2kLp5").unwrap();
        assert_eq!((redis.port, redis.user.as_str(), redis.database.as_str()), (6380, "", "2"));
        assert_eq!(target_in("mysql://root:Xk3pQ9zL@localhost/app", "Xk3pQ9zL").unwrap().port, 3306);
        assert!(target_in("amqp://guest:Hk3pQ9zL@mq/", "Hk3pQ9zL").is_none(), "not a checked scheme");
        assert!(target_in("password is Hk3pQ9zL", "Hk3pQ9zL").is_none());
    }
}
