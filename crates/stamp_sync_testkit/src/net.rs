//! Test hosts on one machine: a network namespace per host, each with a
//! TAP interface on a hub that this process runs, which delays, jitters,
//! drops and partitions frames per host link, as `tc netem` would (this
//! kernel has no `sch_netem`, so the link is emulated in user space).
//!
//! ```no_run
//! use stamp_sync_testkit::net::{Link, Net};
//! use std::time::Duration;
//!
//! let net = Net::new(&["a", "b"]).unwrap(); // as root
//! net.set("a", Link { delay: Duration::from_millis(20), loss: 0.02, ..Link::default() });
//! let mut cmd = net.command("b", "ip"); // `ip netns exec <b> ip ...`
//! cmd.args(["addr"]);
//! net.set_up("a", false); // a partition
//! ```
//!
//! Hosts are 10.77.0.1, .2, ... on one /24 with a multicast route, so Fast
//! DDS discovers across them with `ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET`.
//! Processes started with [`Net::command`] get that, and
//! `FASTDDS_BUILTIN_TRANSPORTS=UDPv4`: the namespaces share `/dev/shm`, so
//! Fast DDS's shared-memory transport would bypass the link.
//!
//! Everything is torn down on drop, also when a test panics; namespaces
//! left by a killed process are removed by the next [`Net::new`].

use std::collections::{BinaryHeap, HashMap};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The impairment of one host's link, applied to every frame it sends
/// and to every frame it receives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Added one way.
    pub delay: Duration,
    /// Uniform in `[-jitter, +jitter]` around `delay` (reorders frames,
    /// as netem's jitter does).
    pub jitter: Duration,
    /// Probability that a frame is lost, each way.
    pub loss: f64,
    /// Down: every frame to or from the host is dropped.
    pub up: bool,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            up: true,
        }
    }
}

/// Frames per host link, as counted by the hub.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Frames the host sent.
    pub sent: u64,
    /// Frames delivered to the host.
    pub delivered: u64,
    /// Frames lost on this link (by `loss`).
    pub lost: u64,
    /// Frames dropped because this link was down.
    pub down: u64,
}

/// The hosts and their hub; see the [module docs](self).
pub struct Net {
    prefix: String,
    hosts: Vec<String>,
    state: Arc<Mutex<Hub>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Hub {
    links: Vec<Link>,
    counts: Vec<LinkCounts>,
}

const MAGIC_PREFIX: &str = "ssnet";

impl Net {
    /// Hosts named `names` (namespaces `ssnet<pid>-<name>`), joined by the
    /// hub. Needs root; an error says why it could not.
    pub fn new(names: &[&str]) -> io::Result<Net> {
        clean_stale();
        static NETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let k = NETS.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{MAGIC_PREFIX}{}-{k}-", std::process::id());
        let mut net = Net {
            prefix,
            hosts: names.iter().map(|n| n.to_string()).collect(),
            state: Arc::new(Mutex::new(Hub {
                links: vec![Link::default(); names.len()],
                counts: vec![LinkCounts::default(); names.len()],
            })),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        let mut taps = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let ns = net.namespace(name);
            ip(&["netns", "add", &ns])?;
            let dev = format!("st{}_{k}_{i}", std::process::id() % 100_000);
            let tap = open_tap(&dev)?;
            let addr = format!("10.77.0.{}/24", i + 1);
            ip(&["link", "set", &dev, "netns", &ns])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&["-n", &ns, "link", "set", &dev, "name", "eth0"])?;
            ip(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "route", "add", "224.0.0.0/4", "dev", "eth0"])?;
            taps.push(tap);
        }
        let (state, stop) = (net.state.clone(), net.stop.clone());
        net.thread = Some(std::thread::spawn(move || run_hub(taps, state, stop)));
        Ok(net)
    }

    /// The namespace of host `name`.
    pub fn namespace(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Host `name`'s address.
    pub fn address(&self, name: &str) -> String {
        format!("10.77.0.{}", self.index(name) + 1)
    }

    fn index(&self, name: &str) -> usize {
        self.hosts
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no host {name:?} in {:?}", self.hosts))
    }

    /// `program` run in host `name` (`ip netns exec`), discovering over
    /// the hosts' subnet on UDP only.
    pub fn command(&self, name: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespace(name)])
            .arg(program)
            .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "SUBNET")
            .env("FASTDDS_BUILTIN_TRANSPORTS", "UDPv4");
        cmd
    }

    /// Sets host `name`'s link.
    pub fn set(&self, name: &str, link: Link) {
        let i = self.index(name);
        self.state.lock().unwrap().links[i] = link;
    }

    /// Host `name`'s link.
    pub fn link(&self, name: &str) -> Link {
        let i = self.index(name);
        self.state.lock().unwrap().links[i]
    }

    /// Takes host `name`'s link down (a partition) or up again.
    pub fn set_up(&self, name: &str, up: bool) {
        let i = self.index(name);
        self.state.lock().unwrap().links[i].up = up;
    }

    /// The hub's counts of host `name`'s link.
    pub fn counts(&self, name: &str) -> LinkCounts {
        let i = self.index(name);
        self.state.lock().unwrap().counts[i]
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for h in &self.hosts {
            let _ = ip(&["netns", "del", &format!("{}{h}", self.prefix)]);
        }
    }
}

/// Whether this machine can make the hosts (root, `ip netns`, TAP):
/// probed once per process, so tests running in parallel share the answer.
pub fn available() -> Result<(), String> {
    static PROBE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    PROBE
        .get_or_init(|| {
            let probe = format!("{MAGIC_PREFIX}probe{}", std::process::id());
            ip(&["netns", "add", &probe]).map_err(|e| format!("ip netns add: {e}"))?;
            let _ = ip(&["netns", "del", &probe]);
            open_tap(&format!("ssprobe{}", std::process::id() % 100_000))
                .map(drop)
                .map_err(|e| format!("a TAP interface (/dev/net/tun): {e}"))
        })
        .clone()
}

/// `ip ARGS`, an error with its stderr if it fails.
fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Removes namespaces of this module whose process is gone.
fn clean_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(MAGIC_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if pid
            .parse::<u32>()
            .is_ok_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// A TAP interface `name` (no packet information), non-blocking; it goes
/// away with the descriptor.
fn open_tap(name: &str) -> io::Result<OwnedFd> {
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    let path = CString::new("/dev/net/tun").map_err(io::Error::other)?;
    // SAFETY: plain system calls on a descriptor this function owns; the
    // request struct outlives the ioctl.
    unsafe {
        let fd = libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
            _pad: [0; 22],
        };
        let n = name.len().min(libc::IFNAMSIZ - 1);
        req.name[..n].copy_from_slice(&name.as_bytes()[..n]);
        if libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    }
}

/// A frame due at `at` on port `to`; ordered by `at`, then by `seq`.
struct Due {
    at: Instant,
    seq: u64,
    to: usize,
    frame: Vec<u8>,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    // Reversed: `BinaryHeap` pops the earliest.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// The hub: a learning switch with per-port impairments, until `stop`.
fn run_hub(taps: Vec<OwnedFd>, state: Arc<Mutex<Hub>>, stop: Arc<AtomicBool>) {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        // splitmix64
        rng = rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut macs: HashMap<[u8; 6], usize> = HashMap::new();
    let mut due: BinaryHeap<Due> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut buf = vec![0u8; 65_536];
    let mut polls: Vec<libc::pollfd> = taps
        .iter()
        .map(|t| libc::pollfd {
            fd: t.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let wait = due
            .peek()
            .map_or(Duration::from_millis(50), |d| {
                d.at.saturating_duration_since(now)
            })
            .min(Duration::from_millis(50));
        // SAFETY: `polls` holds descriptors owned by `taps`.
        unsafe {
            libc::poll(
                polls.as_mut_ptr(),
                polls.len() as libc::nfds_t,
                wait.as_millis() as i32,
            );
        }
        let now = Instant::now();
        let mut hub = state.lock().unwrap();
        for (from, poll) in polls.iter().enumerate() {
            if poll.revents & libc::POLLIN == 0 {
                continue;
            }
            loop {
                // SAFETY: reads into `buf`, within its length.
                let n = unsafe { libc::read(poll.fd, buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 {
                    break;
                }
                let frame = &buf[..n as usize];
                if frame.len() < 14 {
                    continue;
                }
                hub.counts[from].sent += 1;
                let (dst, src) = (&frame[0..6], &frame[6..12]);
                macs.insert(src.try_into().unwrap(), from);
                let targets: Vec<usize> = match macs.get(dst) {
                    Some(&to) if dst[0] & 1 == 0 => vec![to],
                    _ => (0..taps.len()).filter(|&t| t != from).collect(),
                };
                for to in targets {
                    if to == from {
                        continue;
                    }
                    let (a, b) = (hub.links[from], hub.links[to]);
                    if !a.up {
                        hub.counts[from].down += 1;
                        continue;
                    }
                    if !b.up {
                        hub.counts[to].down += 1;
                        continue;
                    }
                    if uniform() < a.loss {
                        hub.counts[from].lost += 1;
                        continue;
                    }
                    if uniform() < b.loss {
                        hub.counts[to].lost += 1;
                        continue;
                    }
                    let mut delay = 0.0;
                    for l in [a, b] {
                        delay += l.delay.as_secs_f64()
                            + l.jitter.as_secs_f64() * (2.0 * uniform() - 1.0);
                    }
                    seq += 1;
                    due.push(Due {
                        at: now + Duration::from_secs_f64(delay.max(0.0)),
                        seq,
                        to,
                        frame: frame.to_vec(),
                    });
                }
            }
        }
        let now = Instant::now();
        while due.peek().is_some_and(|d| d.at <= now) {
            let d = due.pop().unwrap();
            // A link taken down drops what was still on the wire to it.
            if !hub.links[d.to].up {
                hub.counts[d.to].down += 1;
                continue;
            }
            // SAFETY: writes the frame from its own buffer.
            let n = unsafe {
                libc::write(
                    taps[d.to].as_raw_fd(),
                    d.frame.as_ptr().cast(),
                    d.frame.len(),
                )
            };
            if n > 0 {
                hub.counts[d.to].delivered += 1;
            }
        }
    }
}
