//! The reference traces against the sets C++ message_filters emitted for
//! them, through the library API (every front end) and through the CLI.

use stamp_sync_testkit::frontends as support;

use std::path::PathBuf;

use stamp_sync::Duration;
use stamp_sync::trace::{PolicyConfig, Trace, replay};

fn data() -> PathBuf {
    stamp_sync_testkit::repo().join("tests/data/traces")
}

/// `jitter3.approx-q10-age0.5-max20ms.expected.csv` -> ("jitter3", config, CLI args).
fn decode(file: &str) -> (String, PolicyConfig, Vec<String>) {
    let stem = file.strip_suffix(".expected.csv").unwrap();
    let (trace, spec) = stem.split_once('.').unwrap();
    let mut parts = spec.split('-');
    let policy = parts.next().unwrap();
    let q: usize = parts
        .next()
        .unwrap()
        .strip_prefix('q')
        .unwrap()
        .parse()
        .unwrap();
    let mut args = vec!["--queue-size".to_string(), q.to_string()];
    if policy == "exact" {
        args.splice(0..0, ["--policy".into(), "exact".into()]);
        return (
            trace.into(),
            PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size: q }),
            args,
        );
    }
    args.splice(0..0, ["--policy".into(), "approximate".into()]);
    let (mut age, mut max, mut lb) = (0.1, None, None);
    for p in parts {
        if let Some(a) = p.strip_prefix("age") {
            age = a.parse().unwrap();
            args.extend(["--age-penalty".into(), a.into()]);
        } else if let Some(m) = p.strip_prefix("max") {
            max = Some(m.parse::<Duration>().unwrap());
            args.extend(["--max-interval".into(), m.into()]);
        } else if let Some(b) = p.strip_prefix("lb") {
            lb = Some(b.parse::<Duration>().unwrap());
        } else {
            panic!("unknown part {p} in {file}");
        }
    }
    let text = std::fs::read_to_string(data().join(format!("{trace}.csv"))).unwrap();
    let n = Trace::parse(&text, 8).unwrap().channels();
    let lower_bounds: Vec<(usize, Duration)> = lb
        .map(|d| (0..n).map(|c| (c, d)).collect())
        .unwrap_or_default();
    for (c, d) in &lower_bounds {
        args.extend(["--lower-bound".into(), format!("{c}={d}")]);
    }
    let config = PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
        queue_size: q,
        age_penalty: age,
        max_interval: max,
        lower_bounds,
        deadline: None,
    });
    (trace.into(), config, args)
}

fn expected_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".expected.csv"))
        .collect();
    v.sort();
    v
}

#[test]
fn library_reproduces_every_reference_trace() {
    let files = expected_files();
    assert!(
        files.len() >= 22,
        "reference traces missing: {}",
        files.len()
    );
    for f in &files {
        let (name, config, _) = decode(f);
        let text = std::fs::read_to_string(data().join(format!("{name}.csv"))).unwrap();
        let trace = Trace::parse(&text, 8).unwrap();
        let want = std::fs::read_to_string(data().join(f)).unwrap();
        let r = replay(&trace, trace.channels(), &config).unwrap();
        assert_eq!(r.sets_csv(), want, "{f}: bare policy");
        // Every message is accounted for.
        let s = &r.stats;
        let emitted: u64 = s.channels.iter().map(|c| c.emitted).sum();
        let queued: usize = r.queued.iter().sum();
        assert_eq!(
            emitted + s.dropped_total() + queued as u64,
            trace.messages.len() as u64,
            "{f}"
        );
        let rows = support::parse_rows(&want);
        assert_eq!(
            support::typed(&trace, trace.channels(), &config),
            rows,
            "{f}: Synchronizer"
        );
        assert_eq!(
            support::shared(&trace, trace.channels(), &config),
            rows,
            "{f}: SharedSynchronizer"
        );
    }
    eprintln!("{} reference traces reproduced", files.len());
}

#[test]
fn cli_reproduces_every_reference_trace() {
    for f in expected_files() {
        let (name, _, args) = decode(&f);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stamp-sync"))
            .arg("match")
            .arg(data().join(format!("{name}.csv")))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = std::fs::read(data().join(&f)).unwrap();
        assert!(
            out.stdout == want,
            "{f}: CLI output differs ({} vs {} bytes)",
            out.stdout.len(),
            want.len()
        );
    }
}
