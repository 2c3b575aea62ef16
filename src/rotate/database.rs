//! Database passwords: log in with the exposed password, set a new random
//! one for the same user, deliver it, then check that the new password logs
//! in and the exposed one no longer does.
//!
//! The password is changed by the user itself (`CURRENT_USER`), so no other
//! privilege is needed, and it never reaches the server in clear where the
//! server accepts a hash: PostgreSQL gets a SCRAM-SHA-256 verifier computed
//! here, MariaDB a `mysql_native_password` hash (`SET PASSWORD`); MySQL 8, which takes no
//! hash for its default plugin, gets the password itself over the session.
//! As for verification, the host comes from the scanned file, so nothing is
//! contacted without `--verify-network-hosts`.

use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use sha1::{Digest, Sha1};

use crate::finding::Secret;
use crate::verify::database::{check, mysql_options, postgres_config, Target as Login};
use crate::verify::Status;

use super::action::Effect;
use super::runner::{Outcome, Rotator};
use super::target::Target;

/// Characters of a new password: letters and digits only, so it needs no quoting in a URI, an env file or SQL.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Length of a new password (190 bits).
const LENGTH: usize = 32;

/// Changes the password of the login `target` holds.
pub(super) fn run(rotator: &mut Rotator<'_>, target: &Target<'_>) -> anyhow::Result<Outcome> {
    let Some(login) = target.database.clone() else {
        return refuse(
            rotator,
            target,
            "keyhound does not know which server this password logs in to: verify the report first (--verify \
             --verify-network-hosts records the server of a live login)",
        );
    };
    if !matches!(login.scheme.as_str(), "postgres" | "postgresql" | "mysql" | "mariadb") {
        return refuse(rotator, target, &format!("{}:// passwords are not changed by keyhound yet", login.scheme));
    }
    if !rotator.options.verify.network_hosts {
        let reason = format!(
            "the database host ({}:{}) comes from the scanned file: give --verify-network-hosts to let keyhound log in",
            login.host, login.port
        );
        return refuse(rotator, target, &reason);
    }
    if rotator.options.revoke_only {
        return refuse(rotator, target, "a database password cannot be revoked, only replaced: drop --revoke-only");
    }
    let timeout = rotator.options.verify.request_timeout;
    let new_password = Secret::new(random_password()?);
    rotator.learn_secret(&new_password);
    let how = match set_password(&login, new_password.expose(), timeout) {
        Ok(how) => how,
        Err(Refused::Login) => {
            return rotator.follow_up(target, Effect::AlreadyDead("the database refuses the exposed password".into()))
        }
        Err(Refused::Other(reason)) => return refuse(rotator, target, &reason),
    };
    let detail = format!("{how} for {} on {}:{}", login.login_user(), login.host, login.port);
    rotator.record(target, "change-password", "ok", &detail, None)?;
    if let Err(reason) = rotator.deliver_all(target, &new_password, None)? {
        let saved = rotator.save_undelivered(target, &new_password)?;
        return Ok(Outcome::Failed(format!(
            "{reason}; the password was already changed: the new one was saved to {} (mode 600), store it \
             yourself, then delete the file",
            saved.display()
        )));
    }
    let with_new = Login { password: new_password.expose().to_string(), ..login.clone() };
    let new_status = check(&with_new, timeout).status;
    if new_status != Status::Live {
        let reason = format!("the new password does not log in ({new_status})");
        rotator.record(target, "check-new", "failed", &reason, None)?;
        return Ok(Outcome::Failed(reason));
    }
    rotator.record(target, "check-new", "ok", "the new password logs in", None)?;
    match check(&login, timeout).status {
        Status::Dead => {
            rotator.record(target, "confirm", "ok", "the exposed password no longer logs in", None)?;
            Ok(Outcome::Done { detail: format!("{detail}; confirmed dead"), new_key_id: None })
        }
        status => {
            let note = format!("the exposed password still answers {status}");
            rotator.record(target, "confirm", "pending", &note, None)?;
            Ok(Outcome::Pending { detail: format!("{detail}; {note}"), new_key_id: None, deactivate_after: None })
        }
    }
}

fn refuse(rotator: &mut Rotator<'_>, target: &Target<'_>, reason: &str) -> anyhow::Result<Outcome> {
    rotator.record(target, "change-password", "failed", reason, None)?;
    Ok(Outcome::Failed(reason.to_string()))
}

/// Why a password change did not happen.
enum Refused {
    /// The exposed password no longer logs in.
    Login,
    /// Anything else (network, privileges, server), in words without the password.
    Other(String),
}

/// A new password: [`LENGTH`] characters of [`ALPHABET`], from the system's secure random source.
fn random_password() -> anyhow::Result<String> {
    let random = SystemRandom::new();
    let mut password = String::with_capacity(LENGTH);
    while password.len() < LENGTH {
        let mut byte = [0u8; 1];
        random.fill(&mut byte).map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
        // Rejection sampling: 248 = 4 * 62, so every character is equally likely.
        if usize::from(byte[0]) < 4 * ALPHABET.len() {
            password.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    Ok(password)
}

/// Logs in as `login` and sets `password` for that same user; says how.
fn set_password(login: &Login, password: &str, timeout: Duration) -> Result<&'static str, Refused> {
    match login.scheme.as_str() {
        "postgres" | "postgresql" => set_postgres_password(login, password, timeout),
        _ => set_mysql_password(login, password, timeout),
    }
}

fn set_postgres_password(login: &Login, password: &str, timeout: Duration) -> Result<&'static str, Refused> {
    let mut client = postgres_config(login, timeout).connect(postgres::NoTls).map_err(|err| match err.code() {
        Some(code) if *code == postgres::error::SqlState::INVALID_PASSWORD => Refused::Login,
        Some(code) => Refused::Other(format!("PostgreSQL refused the login ({})", code.code())),
        None => Refused::Other(format!("PostgreSQL not reached: {}", first_line(&err.to_string()))),
    })?;
    // A verifier, not the password: nothing in the server's logs or statistics can show it.
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    client
        .batch_execute(&format!("ALTER ROLE CURRENT_USER PASSWORD '{verifier}'"))
        .map_err(|err| Refused::Other(format!("PostgreSQL refused the change ({})", postgres_code(&err))))?;
    Ok("PostgreSQL: ALTER ROLE CURRENT_USER PASSWORD (SCRAM-SHA-256 verifier)")
}

/// The first line of a driver's error (which names hosts, never passwords).
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn postgres_code(err: &postgres::Error) -> String {
    err.code().map_or_else(|| "no SQLSTATE".into(), |code| code.code().to_string())
}

fn set_mysql_password(login: &Login, password: &str, timeout: Duration) -> Result<&'static str, Refused> {
    use mysql::prelude::Queryable as _;
    const ACCESS_DENIED: u16 = 1045;
    let mut connection = mysql::Conn::new(mysql_options(login, timeout)).map_err(|err| match err {
        mysql::Error::MySqlError(err) if err.code == ACCESS_DENIED => Refused::Login,
        mysql::Error::MySqlError(err) => Refused::Other(format!("MySQL refused the login (error {})", err.code)),
        other => Refused::Other(format!("MySQL not reached: {}", first_line(&other.to_string()))),
    })?;
    let failed = |err: mysql::Error| match err {
        mysql::Error::MySqlError(err) => Refused::Other(format!("MySQL refused the change (error {})", err.code)),
        _ => Refused::Other("MySQL: the connection failed during the change".into()),
    };
    let version: String = connection.query_first("SELECT VERSION()").map_err(failed)?.unwrap_or_default();
    if version.contains("MariaDB") {
        // SET PASSWORD for one's own account needs no privilege (ALTER USER needs CREATE USER).
        connection.query_drop(format!("SET PASSWORD = '{}'", native_password_hash(password))).map_err(failed)?;
        Ok("MariaDB: SET PASSWORD (mysql_native_password hash)")
    } else {
        connection.query_drop(format!("ALTER USER CURRENT_USER() IDENTIFIED BY '{password}'")).map_err(failed)?;
        Ok("MySQL: ALTER USER CURRENT_USER() IDENTIFIED BY")
    }
}

/// `mysql_native_password`'s stored form: `*` and the upper-case hex of SHA1(SHA1(password)).
fn native_password_hash(password: &str) -> String {
    let twice = Sha1::digest(Sha1::digest(password.as_bytes()));
    format!("*{}", twice.iter().map(|byte| format!("{byte:02X}")).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_are_long_random_and_need_no_quoting() {
        let first = random_password().unwrap();
        let second = random_password().unwrap();
        assert_eq!(first.len(), LENGTH);
        assert!(first.bytes().all(|byte| byte.is_ascii_alphanumeric()), "{first}");
        assert_ne!(first, second);
    }

    #[test]
    fn the_native_password_hash_is_mysqls() {
        // MySQL's documented example: PASSWORD('mypass').
        assert_eq!(native_password_hash("mypass"), "*6C8989366EAF75BB670AD8EA7A7FC1176A95CEF4");
    }
}
