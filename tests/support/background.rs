//! A process running in the background while a test watches it: its
//! stderr read line by line, Ctrl-C (SIGINT) or `kill -9` on demand.
//!
//! Include it with `#[path = "support/background.rs"] mod background;`.

use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

pub struct Background {
    child: std::process::Child,
    lines: Receiver<String>,
    stderr: Vec<String>,
}

impl Background {
    /// Starts `command` with stdout discarded and stderr captured.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the process starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -INT failed");
    }

    /// `kill -9`: the process ends at once, with no chance to clean up.
    #[allow(dead_code, reason = "included by several test binaries; not every one kills hard")]
    pub fn kill_hard(&mut self) -> String {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().expect("wait on the killed process");
        self.collect();
        self.stderr.join("\n")
    }

    /// Whether the process has ended.
    #[allow(dead_code, reason = "included by several test binaries; not every one polls")]
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    /// Waits until the process prints a line containing `text`.
    #[allow(
        dead_code,
        reason = "included by several test binaries; not every one waits for a line"
    )]
    pub fn wait_for_line(&mut self, text: &str, limit: Duration) {
        let started = Instant::now();
        while !self.stderr.iter().any(|line| line.contains(text)) {
            let left = limit.saturating_sub(started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stderr.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("the process never printed `{text}`:\n{}", self.stderr.join("\n"));
                }
            }
        }
    }

    /// Every stderr line printed so far, taking what has arrived without
    /// waiting.
    #[allow(dead_code, reason = "not every test binary reads the lines as they come")]
    pub fn stderr_so_far(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.stderr.push(line);
        }
        &self.stderr
    }

    /// Waits, at most `limit`, for the process to exit; returns its exit
    /// code and stderr.
    pub fn finish(mut self, limit: Duration) -> (Option<i32>, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait on the process") {
                break status;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.collect();
                panic!("the process did not exit in time:\n{}", self.stderr.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.collect();
        (status.code(), self.stderr.join("\n"))
    }

    /// Reads the rest of stderr; the reader ends when the pipe closes.
    fn collect(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push(line);
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
