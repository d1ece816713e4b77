//! Times a stamps-only scan of a bag: every topic's messages, header stamps
//! read where the topic has one. Prints MB/s of bag file.
//!
//! ```text
//! cargo run --release -p stamp_sync_bag --example bag_scan -- BAG [REPEAT]
//! ```
use std::error::Error;
use std::time::Instant;

use stamp_sync_bag::Bag;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: bag_scan BAG [REPEAT]")?;
    let repeat: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    for _ in 0..repeat {
        let t = Instant::now();
        let bag = Bag::open(&path)?;
        let all: Vec<usize> = (0..bag.topics().len()).collect();
        let msgs = bag.read(&all, &mut |_| {})?;
        let secs = t.elapsed().as_secs_f64();
        let mb = bag.size_bytes() as f64 / 1e6;
        let stamped = msgs.iter().filter(|m| m.header_stamp.is_some()).count();
        println!(
            "{}: {} {:.1} MB, {} messages ({} stamped) in {:.3} s = {:.0} MB/s, {:.1} M msgs/s",
            path,
            bag.format(),
            mb,
            msgs.len(),
            stamped,
            secs,
            mb / secs,
            msgs.len() as f64 / secs / 1e6
        );
    }
    Ok(())
}
