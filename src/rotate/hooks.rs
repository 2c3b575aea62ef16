//! The user's own hooks: commands run with JSON on standard input (`--exec`,
//! `--deliver-exec`, `--notify-exec`) and HTTP webhooks (`--notify-webhook`).
//! Only the user running keyhound sets them, never a scanned repository.

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::verify::http::{Client, Request};

/// Longest a hook may run.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `command` with `sh -c`, writing `input` to its standard input; returns
/// its standard output when it exits 0, or why it failed (exit status and the
/// end of its standard error).
pub fn run_command(command: &str, input: &str, timeout: Duration) -> Result<String, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start `{command}`: {err}"))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_string();
    let writer = thread::spawn(move || {
        // A hook that does not read its input closes the pipe early: not an error.
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{command}` did not finish within {} s and was stopped", timeout.as_secs()));
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(err) => return Err(format!("waiting for `{command}`: {err}")),
        }
    };
    let _ = writer.join();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        let tail: String = stderr.trim().lines().last().unwrap_or("").chars().take(300).collect();
        Err(format!(
            "`{command}` failed ({status}){}",
            if tail.is_empty() { String::new() } else { format!(": {tail}") }
        ))
    }
}

/// Posts `payload` (JSON) to a webhook URL; a Slack incoming webhook shows its `text`.
pub fn post_webhook(client: &Client, url: &str, payload: &serde_json::Value, timeout: Duration) -> Result<(), String> {
    let request = Request {
        method: "POST".into(),
        url: url.to_string(),
        headers: Vec::new(),
        body: Some((payload.to_string(), "application/json".into())),
    };
    let response = client.send(&request, timeout)?;
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(format!("the webhook answered HTTP {}", response.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_reads_json_on_stdin_and_its_stdout_comes_back() {
        let out = run_command("cat", r#"{"a":1}"#, HOOK_TIMEOUT).unwrap();
        assert_eq!(out, r#"{"a":1}"#);
    }

    #[test]
    fn a_failing_command_reports_its_status_and_last_stderr_line() {
        let err = run_command("echo first >&2; echo 'no permission' >&2; exit 4", "", HOOK_TIMEOUT).unwrap_err();
        assert!(err.contains("exit status: 4") && err.contains("no permission"), "{err}");
    }

    #[test]
    fn a_hanging_command_is_stopped() {
        let err = run_command("sleep 5", "", Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
    }

    #[test]
    fn a_command_that_ignores_its_input_still_succeeds() {
        let big = "x".repeat(1 << 20);
        assert_eq!(run_command("echo done", &big, HOOK_TIMEOUT).unwrap(), "done\n");
    }
}
