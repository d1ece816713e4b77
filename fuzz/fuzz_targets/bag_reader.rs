#![no_main]
//! Bag readers on mutated bytes: the first byte picks the file extension
//! (the readers detect the format by extension and magic), the rest is the
//! file. Open, read every topic, build traces: errors are fine, panics are
//! not. Seed the corpus with the small bags of tests/data/bags/small.
use std::io::Write;

use libfuzzer_sys::fuzz_target;
use stamp_sync_bag::{Bag, StampSource};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let ext = ["bag", "mcap", "db3"][kind as usize % 3];
    let Ok(mut f) = tempfile::Builder::new()
        .suffix(&format!(".{ext}"))
        .tempfile()
    else {
        return;
    };
    if f.write_all(bytes).and_then(|_| f.flush()).is_err() {
        return;
    }
    let Ok(bag) = Bag::open(f.path()) else { return };
    let all: Vec<usize> = (0..bag.topics().len()).collect();
    let _ = bag.read(&all, &mut |_| {});
    let names: Vec<String> = bag.topics().iter().map(|t| t.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let _ = bag.trace(&names, StampSource::Header);
    let _ = bag.trace(&names, StampSource::Arrival);
});
