//! Shared by the `ros_*` integration tests: real processes (the example
//! nodes, an rclpy script) over Fast DDS on loopback, one ROS domain per
//! test, every wait bounded. No sleeps: discovery is waited for by the
//! publishers' subscription counts, output by reading lines with a deadline.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest any single wait may take (discovery can take 2–3 s).
pub const WAIT: Duration = Duration::from_secs(40);

/// A ROS domain for one test: distinct per test (`offset`) and unlikely to
/// collide with another test run on the same machine (process id).
pub fn domain(offset: u32) -> u32 {
    assert!(offset < 10);
    100 + (std::process::id() % 10) * 10 + offset
}

/// Where cargo put the example binaries: `target/<profile>/examples`.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the examples first (`scripts/with-ros cargo test --all-features` does)",
        path.display()
    );
    // `cargo test --test NAME` does not rebuild the examples: refuse to
    // test a binary older than its sources.
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sources = [
        root.join("examples").join(format!("{name}.rs")),
        root.join("examples/common/mod.rs"),
        root.join("src/r2r.rs"),
        root.join("src/stream.rs"),
    ];
    for src in sources {
        if let Ok(changed) = std::fs::metadata(&src).and_then(|m| m.modified()) {
            assert!(
                changed <= built,
                "{} is older than {}: run `cargo build --examples --features r2r` \
                 (or `cargo test` without --test)",
                path.display(),
                src.display()
            );
        }
    }
    path
}

/// Which output a line came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Src {
    /// stdout: the `set ` lines (and the publishers' `pub ` lines).
    Out,
    /// stderr: diagnostics, `matched`, `latency ...`.
    Err,
}

/// A child process whose output lines arrive on a channel; killed on drop.
pub struct Proc {
    pub name: String,
    child: Child,
    lines: Receiver<(Src, String)>,
    stderr: Arc<Mutex<String>>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
}

impl Proc {
    /// Runs an example node in `domain` with ROS arguments `ros_args`.
    pub fn example(name: &str, domain: u32, ros_args: &[&str]) -> Proc {
        let mut cmd = Command::new(example(name));
        cmd.arg("--ros-args").args(ros_args);
        Proc::spawn(name, cmd, domain)
    }

    /// Runs a python script with the ROS venv's interpreter.
    pub fn python(script: &str, domain: u32, args: &[&str]) -> Proc {
        let py = std::env::var("STAMP_SYNC_ROS_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut cmd = Command::new(py);
        cmd.arg("-u")
            .arg(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("tests")
                    .join(script),
            )
            .args(args);
        Proc::spawn(script, cmd, domain)
    }

    fn spawn(name: &str, mut cmd: Command, domain: u32) -> Proc {
        cmd.env("ROS_DOMAIN_ID", domain.to_string())
            .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let (tx, lines) = channel();
        let out = child.stdout.take().unwrap();
        let tx_out = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx_out.send((Src::Out, line)).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let buf = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                {
                    let mut b = buf.lock().unwrap();
                    b.push_str(&line);
                    b.push('\n');
                }
                if tx.send((Src::Err, line)).is_err() {
                    break;
                }
            }
        });
        Proc {
            name: name.to_string(),
            child,
            lines,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Writes `line` to its stdin.
    pub fn send(&mut self, line: &str) {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| {
                panic!(
                    "{}: cannot write to stdin: {e}; stderr:\n{}",
                    self.name,
                    self.stderr()
                )
            });
    }

    /// Its stderr so far, for failure messages.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Reads stdout lines until one satisfies `pred` (returned); panics
    /// with the process's stderr after `WAIT` or if it exits first.
    pub fn wait_for(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> String {
        self.wait_src(Src::Out, what, pred)
    }

    /// Like [`wait_for`](Self::wait_for), for a line on stderr.
    pub fn wait_for_err(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> String {
        self.wait_src(Src::Err, what, pred)
    }

    fn wait_src(&mut self, src: Src, what: &str, mut pred: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((from, line)) => {
                    if from == Src::Out {
                        self.seen.push(line.clone());
                    }
                    if from == src && pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no {what} within {WAIT:?}; last lines {:?}; stderr:\n{}",
                    self.name,
                    self.seen.iter().rev().take(5).collect::<Vec<_>>(),
                    self.stderr()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: exited before {what}; status {:?}; last lines {:?}; stderr:\n{}",
                    self.name,
                    self.child.try_wait(),
                    self.seen.iter().rev().take(5).collect::<Vec<_>>(),
                    self.stderr()
                ),
            }
        }
    }

    /// Reads `n` lines starting with `prefix` (others are kept in `seen`).
    pub fn take(&mut self, prefix: &str, n: usize) -> Vec<String> {
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            let what = format!("{prefix:?} line {} of {n}", got.len() + 1);
            got.push(self.wait_for(&what, |l| l.starts_with(prefix)));
        }
        got
    }

    /// Waits (bounded) for the process to exit; returns whether it succeeded.
    pub fn wait_exit(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        // Draining stdout until it closes is the bounded wait.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((Src::Out, line)) => self.seen.push(line),
                Ok((Src::Err, _)) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: did not exit within {WAIT:?}", self.name)
                }
            }
        }
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Is it still running?
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Two-sided discovery: `publisher` (started with `wait_subscribers` and
/// `start_on_stdin`) has seen the subscriptions; `sync` prints `matched`
/// on stderr once it sees the publishers from its side. Then the publisher
/// may start.
pub fn handshake(sync: &mut Proc, publisher: &mut Proc) {
    sync.wait_for_err("`matched`", |l| l.ends_with(": matched"));
    publisher.send("go");
}

/// The stamps of a `set a,b,c ...` line.
pub fn set_stamps(line: &str) -> Vec<i64> {
    let rest = line.strip_prefix("set ").expect("a set line");
    let stamps = rest.split(' ').next().unwrap_or_default();
    stamps
        .split(',')
        .map(|s| s.parse().expect("stamp"))
        .collect()
}

/// `(index, camera1 ns, camera2 ns)` of a `pub k s1 s2` line.
pub fn pub_line(line: &str) -> (i64, i64, i64) {
    let v: Vec<i64> = line
        .split(' ')
        .skip(1)
        .map(|s| s.parse().expect("number"))
        .collect();
    (v[0], v[1], v[2])
}
