//! A `dvt-mock-kafka` process per test: a Kafka wire-protocol broker on
//! loopback that no other test shares, killed when the handle drops.
//!
//! Include it with `#[path = "support/mock_kafka.rs"] mod mock_kafka;` in a
//! test crate compiled with the `kafka` feature.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::Duration;

pub struct MockKafka {
    child: Child,
    /// `None` once `shut_down` has closed it.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    bootstrap: String,
}

impl MockKafka {
    /// Starts a cluster of `brokers` brokers, passing `extra` flags through
    /// (e.g. `["--topic", "events", "--partitions", "8"]`).
    pub fn start(brokers: u32, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dvt-mock-kafka"))
            .arg("--brokers")
            .arg(brokers.to_string())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dvt-mock-kafka starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("dvt-mock-kafka prints its bootstrap line");
        let bootstrap = line
            .trim_end()
            .strip_prefix("bootstrap=")
            .unwrap_or_else(|| panic!("expected `bootstrap=...`, got `{line}`"))
            .to_string();
        Self {
            child,
            stdin: Some(stdin),
            stdout,
            bootstrap,
        }
    }

    /// The `bootstrap.servers` value for clients.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Sends one command line and returns the reply: `ok` or `error: ...`.
    pub fn command(&mut self, command: &str) -> String {
        let stdin = self.stdin.as_mut().expect("dvt-mock-kafka is running");
        writeln!(stdin, "{command}").expect("write a command to dvt-mock-kafka");
        stdin.flush().expect("flush the command");
        let mut reply = String::new();
        self.stdout
            .read_line(&mut reply)
            .expect("read the reply of dvt-mock-kafka");
        reply.trim_end().to_string()
    }

    /// Sends a command that must succeed.
    pub fn run(&mut self, command: &str) {
        let reply = self.command(command);
        assert_eq!(reply, "ok", "`{command}` failed");
    }

    /// The CPU time the broker process has used so far, from Linux's `/proc`,
    /// to tell the broker's share of a benchmark from the clients'.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The fields after the command name, which is in parentheses and may
        // hold spaces, start at field 3; utime and stime are fields 14 and 15,
        // in clock ticks of 1/100 s (Linux's USER_HZ).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let user: u64 = fields.get(11)?.parse().ok()?;
        let system: u64 = fields.get(12)?.parse().ok()?;
        Some(Duration::from_millis((user + system) * 10))
    }

    /// Closes stdin, which stops the broker, and waits for it to exit.
    pub fn shut_down(&mut self) -> ExitStatus {
        self.stdin.take();
        self.child.wait().expect("wait for dvt-mock-kafka")
    }
}

impl Drop for MockKafka {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
