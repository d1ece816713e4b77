//! Shared by the `ros_*` integration tests: real processes (the nodes as
//! colcon installed them, rclpy scripts) over Fast DDS on loopback, one ROS domain per
//! test, every wait bounded. No sleeps: discovery is waited for by the
//! publishers' subscription counts, output by reading lines with a deadline.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest any single wait may take (discovery can take 2–3 s).
pub const WAIT: Duration = Duration::from_secs(40);

/// A ROS domain for one test: a new one on every call in this process
/// (the tests of a binary run in parallel), in a range chosen by the
/// process id, so a second test run on the machine is unlikely to share
/// it. A test run in a process of its own ([`isolated`]) gets the domain
/// its parent chose.
pub fn domain() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    if std::env::var_os(ISOLATED).is_some() {
        if let Some(d) = std::env::var("ROS_DOMAIN_ID")
            .ok()
            .and_then(|d| d.parse().ok())
        {
            return d;
        }
    }
    // Fast DDS takes domains 0 to 232; four ranges of 58.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    assert!(n < 58, "more than 58 ROS tests in one binary");
    1 + (std::process::id() % 4) * 58 + n
}

/// Set in a test's own process ([`isolated`]): the test's name.
const ISOLATED: &str = "STAMP_SYNC_ISOLATED_TEST";

/// The colcon install prefixes (`scripts/colcon-install.sh`), searched
/// like `AMENT_PREFIX_PATH`: the test environment's, then build/ws.
fn prefixes() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::env::var("STAMP_SYNC_INSTALL")
        .ok()
        .into_iter()
        .map(PathBuf::from)
        .collect();
    v.push(
        crate::repo()
            .to_path_buf()
            .join("build/ws/install/stamp_sync"),
    );
    v
}

/// An installed node of package stamp_sync, found as `ros2 run` finds it:
/// the first prefix whose ament index lists the package, then
/// `<prefix>/lib/stamp_sync/<name>`.
pub fn node(name: &str) -> PathBuf {
    let prefix = prefixes()
        .into_iter()
        .find(|p| {
            p.join("share/ament_index/resource_index/packages/stamp_sync")
                .exists()
        })
        .unwrap_or_else(|| {
            panic!(
                "stamp_sync is not installed: run `scripts/with-ros scripts/colcon-install.sh` \
                 (scripts/test-all.sh does)"
            )
        });
    let path = prefix.join("lib/stamp_sync").join(name);
    assert!(path.exists(), "{} is not installed", path.display());
    // `cargo test --test NAME` does not reinstall: refuse to test a node
    // older than its sources.
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap();
    let root = crate::repo().to_path_buf();
    // The crates the binary is built from: `stamp-sync` is the tools at
    // the root, every other node is in stamp_sync_nodes; both on the
    // library crates (not this test kit).
    let tool = name == "stamp-sync";
    let mut sources = Vec::new();
    let mut dirs = Vec::new();
    if tool {
        dirs.push(root.join("src"));
    }
    for e in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let crate_name = e.file_name();
        let skip = crate_name == "stamp_sync_testkit" || (tool && crate_name == "stamp_sync_nodes");
        if !skip {
            dirs.push(e.path().join("src"));
        }
    }
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                // Another node's `src/bin/<node>.rs` is not this binary's source.
                let other_bin = p.parent().is_some_and(|d| d.ends_with("src/bin"))
                    && p.file_stem().is_some_and(|s| s != name);
                if !other_bin {
                    sources.push(p);
                }
            }
        }
    }
    for src in sources {
        if let Ok(changed) = std::fs::metadata(&src).and_then(|m| m.modified()) {
            assert!(
                changed <= built,
                "{} is older than {}: run `scripts/with-ros scripts/colcon-install.sh`",
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

/// The test overlay's install prefix (`stamp_sync_test_msgs`, built by
/// `scripts/ros-setup.sh`, never on this crate's prefix path;
/// `STAMP_SYNC_ROS_OVERLAY` is exported by `scripts/with-ros`).
pub fn overlay() -> PathBuf {
    let dir = std::env::var_os("STAMP_SYNC_ROS_OVERLAY")
        .map(PathBuf::from)
        .expect(
            "STAMP_SYNC_ROS_OVERLAY unset: run under scripts/with-ros after scripts/ros-setup.sh",
        );
    assert!(
        dir.join("share/stamp_sync_test_msgs").is_dir(),
        "no overlay in {}",
        dir.display()
    );
    dir
}

/// Sources the overlay for a child process: prefix, library and Python
/// paths, as its setup script would.
pub fn with_overlay(cmd: &mut Command) {
    let ov = overlay();
    for (var, sub) in [
        ("AMENT_PREFIX_PATH", ""),
        ("LD_LIBRARY_PATH", "lib"),
        ("PYTHONPATH", "lib/python3.11/site-packages"),
    ] {
        let old = std::env::var(var).unwrap_or_default();
        let dir = if sub.is_empty() {
            ov.clone()
        } else {
            ov.join(sub)
        };
        cmd.env(var, format!("{}:{old}", dir.display()));
    }
}

impl Proc {
    /// Runs an installed node in `domain` with ROS arguments `ros_args`.
    pub fn node(name: &str, domain: u32, ros_args: &[&str]) -> Proc {
        let mut cmd = Command::new(node(name));
        cmd.arg("--ros-args").args(ros_args);
        Proc::spawn(name, cmd, domain)
    }

    /// Runs an installed node with the test overlay sourced.
    pub fn node_in_overlay(name: &str, domain: u32, ros_args: &[&str]) -> Proc {
        let mut cmd = Command::new(node(name));
        cmd.arg("--ros-args").args(ros_args);
        with_overlay(&mut cmd);
        Proc::spawn(name, cmd, domain)
    }

    /// Runs a python script with the test overlay sourced.
    pub fn python_in_overlay(script: &str, domain: u32, args: &[&str]) -> Proc {
        let mut cmd = Proc::python_command(script, args);
        with_overlay(&mut cmd);
        Proc::spawn(script, cmd, domain)
    }

    /// Runs a python script with the ROS venv's interpreter.
    pub fn python(script: &str, domain: u32, args: &[&str]) -> Proc {
        let cmd = Proc::python_command(script, args);
        Proc::spawn(script, cmd, domain)
    }

    fn python_command(script: &str, args: &[&str]) -> Command {
        let py = std::env::var("STAMP_SYNC_ROS_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut cmd = Command::new(py);
        cmd.arg("-u")
            .arg(crate::repo().to_path_buf().join("tests").join(script))
            .args(args);
        cmd
    }

    /// Runs any command as a peer in `domain` (environment set up as for
    /// the examples).
    pub fn command(name: &str, cmd: Command, domain: u32) -> Proc {
        Proc::spawn(name, cmd, domain)
    }

    fn spawn(name: &str, mut cmd: Command, domain: u32) -> Proc {
        // Loopback, unless the command runs in a test host (`net`).
        let range_set = cmd
            .get_envs()
            .any(|(k, v)| k == "ROS_AUTOMATIC_DISCOVERY_RANGE" && v.is_some());
        if !range_set {
            cmd.env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST");
        }
        cmd.env("ROS_DOMAIN_ID", domain.to_string())
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
        self.wait_exit_code() == Some(0)
    }

    /// Waits (bounded) for the process to exit; returns its exit code
    /// (`None` if a signal ended it).
    pub fn wait_exit_code(&mut self) -> Option<i32> {
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
        self.child.wait().ok().and_then(|s| s.code())
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

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its resident set size in KiB, from `/proc/<pid>/status` (`VmRSS`).
    pub fn rss_kb(&self) -> Option<u64> {
        rss_kb(self.id())
    }

    /// Like [`wait_for`](Self::wait_for) but gives up after `within`
    /// (or when the process exits) and returns `None` instead of panicking.
    pub fn try_wait_for(
        &mut self,
        within: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((Src::Out, line)) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return Some(line);
                    }
                }
                Ok((Src::Err, _)) => {}
                Err(_) => return None,
            }
        }
    }
}

/// The resident set size of process `pid` in KiB (`VmRSS` of
/// `/proc/<pid>/status`).
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One `stats ...` line of a sync node (`rgbd_sync`, `sync_relay`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeStats {
    /// Milliseconds since the node started.
    pub t_ms: u64,
    /// Sets emitted.
    pub sets: u64,
    /// Sets with members missing.
    pub partial: u64,
    /// Stale-channel reports.
    pub stale: u64,
    /// Per channel: received, emitted, dropped, queued.
    pub channels: Vec<[u64; 4]>,
    /// Drops by reason (all channels).
    pub drops: Vec<(String, u64)>,
    /// Per channel, what the middleware reported lost (`sync_relay`; empty
    /// where the line has no `lost=`).
    pub lost: Vec<Option<u64>>,
}

impl NodeStats {
    /// Parses `stats t_ms=.. sets=.. stale=..
    /// ch0=received:..,emitted:..,dropped:..,queued:.. .. drops=reason:n,..`.
    pub fn parse(line: &str) -> NodeStats {
        let rest = line.strip_prefix("stats ").expect("a stats line");
        let mut s = NodeStats::default();
        for field in rest.split(' ') {
            let (k, v) = field.split_once('=').expect("key=value");
            match k {
                "t_ms" => s.t_ms = v.parse().unwrap(),
                "sets" => s.sets = v.parse().unwrap(),
                "partial" => s.partial = v.parse().unwrap(),
                "stale" => s.stale = v.parse().unwrap(),
                "lost" => {
                    s.lost = v.split(',').map(|n| n.parse().ok()).collect();
                }
                "drops" if v == "-" => {}
                "drops" => {
                    for d in v.split(',') {
                        let (r, n) = d.split_once(':').unwrap();
                        s.drops.push((r.to_string(), n.parse().unwrap()));
                    }
                }
                ch if ch.starts_with("ch") => {
                    let mut counts = [0; 4];
                    for (i, named) in v.split(',').enumerate() {
                        let (name, n) = named.split_once(':').expect("name:count");
                        let want = ["received", "emitted", "dropped", "queued"][i];
                        assert_eq!(name, want, "field {i} of {ch} in {line:?}");
                        counts[i] = n.parse().unwrap();
                    }
                    s.channels.push(counts);
                }
                other => panic!("unknown stats field {other:?} in {line:?}"),
            }
        }
        s
    }

    /// Messages received on every channel.
    pub fn received(&self) -> Vec<u64> {
        self.channels.iter().map(|c| c[0]).collect()
    }

    /// Drops for `reason` (0 if none).
    pub fn dropped_for(&self, reason: &str) -> u64 {
        self.drops
            .iter()
            .find(|(r, _)| r == reason)
            .map_or(0, |(_, n)| *n)
    }

    /// Channels whose counts do not add up: received != emitted + dropped + queued.
    pub fn unbalanced(&self) -> Vec<usize> {
        (0..self.channels.len())
            .filter(|&i| {
                let [r, e, d, q] = self.channels[i];
                r != e + d + q
            })
            .collect()
    }
}

/// The per-topic counts of `camera_publisher`'s final
/// `published <topic>=<n> ...` line.
pub fn published_counts(line: &str) -> Vec<(String, u64)> {
    line.strip_prefix("published")
        .expect("a published line")
        .split_whitespace()
        .map(|f| {
            let (t, n) = f.split_once('=').unwrap();
            (t.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// The count of `topic` in a `published_counts` list.
pub fn count_of(counts: &[(String, u64)], topic: &str) -> u64 {
    counts
        .iter()
        .find(|(t, _)| t == topic)
        .map_or_else(|| panic!("no count for {topic} in {counts:?}"), |(_, n)| *n)
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

/// For a test that creates an r2r context in its own process: a context
/// takes its ROS domain from the environment, which every test of a binary
/// shares. Called first in such a test: in the test binary's run it starts
/// the binary again for this one test (`test`, its path without the crate,
/// e.g. `ros_qos::feed_delivers`) with `ROS_DOMAIN_ID=domain`, asserts that
/// the child passed, and returns `false` (return then); in the child it
/// returns `true` (run the test).
pub fn isolated(test: &str, domain: u32) -> bool {
    if std::env::var(ISOLATED).is_ok_and(|t| t == test) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ISOLATED, test)
        .env("ROS_DOMAIN_ID", domain.to_string())
        .output()
        .expect("start the test binary again");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{test} in its own process: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    false
}
