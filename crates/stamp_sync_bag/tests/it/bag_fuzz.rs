//! The readers and the stamp extraction never panic, whatever the bytes:
//! a deterministic mutation loop over small seed bags of every format, and
//! random buffers for the stamp and definition parsers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

use stamp_sync_testkit::data as common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{McapIds, data, mcap_copy};
use stamp_sync_bag::{Bag, StampSource};
use stamp_sync_wire::schema::{DefinitionFormat, first_field_is_header};
use stamp_sync_wire::stamp::{cdr_header_stamp, ros1_header_stamp};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            break;
        }
        match rng.below(6) {
            // Flip a few bytes.
            0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(b.len());
                    b[i] ^= 1 << rng.below(8);
                }
            }
            // Overwrite a little-endian u32 with an interesting value.
            1 => {
                let i = rng.below(b.len().saturating_sub(4));
                let v: u32 = [
                    0,
                    1,
                    0x7fff_ffff,
                    0xffff_ffff,
                    b.len() as u32,
                    rng.next() as u32,
                ][rng.below(6)];
                let end = (i + 4).min(b.len());
                b[i..end].copy_from_slice(&v.to_le_bytes()[..end - i]);
            }
            // Truncate.
            2 => b.truncate(rng.below(b.len())),
            // Delete a range.
            3 => {
                let i = rng.below(b.len());
                let n = rng.below(64).min(b.len() - i);
                b.drain(i..i + n);
            }
            // Duplicate a range.
            4 => {
                let i = rng.below(b.len());
                let n = rng.below(256).min(b.len() - i);
                let chunk = b[i..i + n].to_vec();
                let at = rng.below(b.len());
                b.splice(at..at, chunk);
            }
            // Random bytes over a range.
            _ => {
                let i = rng.below(b.len());
                let n = rng.below(32).min(b.len() - i);
                for x in &mut b[i..i + n] {
                    *x = rng.next() as u8;
                }
            }
        }
    }
    b
}

/// Opens and fully reads a bag; errors are fine, panics are not.
fn exercise(path: &std::path::Path) {
    let Ok(bag) = Bag::open(path) else {
        return;
    };
    let all: Vec<usize> = (0..bag.topics().len()).collect();
    let _ = bag.read(&all, &mut |_| {});
    let names: Vec<String> = bag.topics().iter().map(|t| t.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let _ = bag.trace(&names, StampSource::Header);
    let _ = bag.trace(&names, StampSource::Arrival);
}

/// Small MCAPs written with the mcap crate from the first Husky messages:
/// zstd and lz4 chunks of a few KiB.
fn small_mcaps() -> Vec<(String, Vec<u8>)> {
    let src = std::fs::read(data("bags/ros2/rl_husky_mcap/rl_husky_mcap.mcap")).unwrap();
    let mut out = Vec::new();
    for (name, compression) in [
        ("zstd", Some(mcap::Compression::Zstd)),
        ("lz4", Some(mcap::Compression::Lz4)),
    ] {
        let mut cursor = std::io::Cursor::new(Vec::new());
        {
            let mut w = mcap::WriteOptions::new()
                .compression(compression)
                .profile("ros2")
                .chunk_size(Some(4096))
                .create(&mut cursor)
                .unwrap();
            let mut ids = McapIds::new();
            for msg in mcap::MessageStream::new(&src).unwrap().take(60) {
                mcap_copy(&mut w, &mut ids, &msg.unwrap());
            }
            w.finish().unwrap();
        }
        out.push((format!("small_{name}.mcap"), cursor.into_inner()));
    }
    out
}

#[test]
fn mutated_bags_never_panic() {
    let mut seeds: Vec<(String, Vec<u8>)> = [
        "small_none.bag",
        "small_bz2.bag",
        "small_lz4.bag",
        "small.db3",
    ]
    .iter()
    .map(|n| {
        (
            n.to_string(),
            std::fs::read(data(&format!("bags/small/{n}"))).unwrap(),
        )
    })
    .collect();
    seeds.extend(small_mcaps());
    // The seeds themselves are good bags, so the loop reaches deep code.
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in &seeds {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let bag = Bag::open(&p).unwrap();
        let n: u64 = bag.topics().iter().map(|t| t.count).sum();
        assert!(n >= 40, "{name}: {n} messages");
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut errors = 0usize;
    let iterations_per_seed = 500;
    for (name, bytes) in &seeds {
        let path = dir.path().join(format!("m_{name}"));
        for i in 0..iterations_per_seed {
            let m = mutate(&mut rng, bytes);
            std::fs::write(&path, &m).unwrap();
            let r = catch_unwind(AssertUnwindSafe(|| exercise(&path)));
            assert!(
                r.is_ok(),
                "{name}: iteration {i} panicked (mutated file kept at {})",
                path.display()
            );
            if Bag::open(&path).is_err() {
                errors += 1;
            }
        }
    }
    // The mutations do reach the error paths.
    assert!(errors > 100, "only {errors} mutated bags were rejected");
}

#[test]
fn random_bytes_never_panic_the_stamp_extraction() {
    let mut rng = Rng(42);
    for _ in 0..100_000 {
        let len = rng.below(24);
        let buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let a = cdr_header_stamp(&buf);
        let b = ros1_header_stamp(&buf);
        if len < 12 {
            assert!(a.is_err() && b.is_err());
        } else {
            assert!(b.is_ok());
        }
    }
}

#[test]
fn random_text_never_panics_the_definition_parser() {
    let mut rng = Rng(7);
    let pieces = [
        "std_msgs/Header",
        "Header",
        " header",
        "\n",
        "=",
        "#",
        "===\n",
        "MSG: x\n",
        "uint8 A=1\n",
        "struct",
        " Imu",
        " {",
        "}",
        ";",
        "@verbatim(",
        ")",
        "std_msgs::msg::Header",
        "//",
        "é",
        "[]",
        " ",
    ];
    for _ in 0..20_000 {
        let n = rng.below(12);
        let text: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
        for f in [
            DefinitionFormat::Ros2Msg,
            DefinitionFormat::Ros1Msg,
            DefinitionFormat::Ros2Idl,
        ] {
            let _ = first_field_is_header(&text, f, "sensor_msgs/msg/Imu");
        }
    }
}
