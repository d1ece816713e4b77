//! Writes a large MCAP for timing `bag_scan`: the messages of SRC repeated
//! COPIES times, each copy shifted in log time after the previous one.
//!
//! ```text
//! cargo run --release -p stamp_sync_bag --example mcap_synth -- SRC.mcap OUT.mcap COPIES zstd|lz4|none
//! ```
use std::collections::HashMap;
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, out, copies, compression] = args.as_slice() else {
        return Err("usage: mcap_synth SRC.mcap OUT.mcap COPIES zstd|lz4|none".into());
    };
    let copies: u64 = copies.parse()?;
    let compression = match compression.as_str() {
        "zstd" => Some(mcap::Compression::Zstd),
        "lz4" => Some(mcap::Compression::Lz4),
        _ => None,
    };
    let src = std::fs::read(src)?;
    let messages: Vec<mcap::Message<'static>> =
        mcap::MessageStream::new(&src)?.collect::<Result<_, _>>()?;
    let first = messages.iter().map(|m| m.log_time).min().unwrap_or(0);
    let last = messages.iter().map(|m| m.log_time).max().unwrap_or(0);
    let span = last - first + 1_000_000_000;
    let mut w = mcap::WriteOptions::new()
        .compression(compression)
        .profile("ros2")
        .create(std::io::BufWriter::new(std::fs::File::create(out)?))?;
    let mut ids = HashMap::new();
    for k in 0..copies {
        for m in &messages {
            let id = match ids.get(&m.channel.id) {
                Some(&id) => id,
                None => {
                    let schema = m.channel.schema.as_ref().ok_or("channel without schema")?;
                    let sid = w.add_schema(&schema.name, &schema.encoding, &schema.data)?;
                    let id = w.add_channel(
                        sid,
                        &m.channel.topic,
                        &m.channel.message_encoding,
                        &m.channel.metadata,
                    )?;
                    ids.insert(m.channel.id, id);
                    id
                }
            };
            let header = mcap::records::MessageHeader {
                channel_id: id,
                sequence: m.sequence,
                log_time: m.log_time + k * span,
                publish_time: m.publish_time + k * span,
            };
            w.write_to_known_channel(&header, &m.data)?;
        }
    }
    w.finish()?;
    Ok(())
}
