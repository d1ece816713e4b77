fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bag = stamp_sync::bag::open(&args[1]).unwrap();
    println!("{:?} {}", bag.format(), bag.size_bytes());
    for t in bag.topics() {
        println!("  {:?}", t);
    }
    if args.len() > 2 {
        let names: Vec<&str> = args[2..].iter().map(|s| s.as_str()).collect();
        let t = std::time::Instant::now();
        let tr = bag
            .trace(&names, stamp_sync::bag::StampSource::Header)
            .unwrap();
        eprintln!("{} msgs in {:?}", tr.messages.len(), t.elapsed());
        print!("{}", tr.trace.to_csv());
    }
}
