//! Small cases pinned with the answers C++ message_filters gave for them.
//!
//! Each case was found by `crates/stamp_sync/tests/it/differential.rs`: we broke one rule of
//! stamp_sync on purpose (a "mutant", named in the comment), ran the
//! differential test against the C++ oracle (`oracle/stamp_oracle.cpp`,
//! ROS 1 message_filters 1.15.15 from Debian bookworm) and let its shrinker
//! minimise a trace on which the broken library and C++ disagree. The
//! expected output below is what the oracle printed for that trace (`stamp_oracle
//! --batch --timed`), so these tests keep checking those rules where the
//! oracle cannot be built.
//!
//! Expected lines are `K:STAMPS;IDS`: K is the index of the arrival whose
//! `add` emitted the set, STAMPS the set's stamps in channel order and IDS
//! the arrival indices of its members. An empty expectation means C++ emits
//! nothing for that trace.
//!
//! No case here fails today; a case that does fail when first pinned is
//! added with `#[ignore]` and a comment naming the suspected cause.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use stamp_sync_testkit::observe;

use stamp_sync::Duration;
use stamp_sync::trace::{PolicyConfig, Trace};

/// Parses the oracle's words (`approx N QUEUE [options]` / `exact N QUEUE`).
fn config_from_args(args: &str) -> (usize, PolicyConfig) {
    let w: Vec<&str> = args.split_whitespace().collect();
    let channels: usize = w[1].parse().unwrap();
    let queue_size: usize = w[2].parse().unwrap();
    if w[0] == "exact" {
        return (
            channels,
            PolicyConfig::Exact(stamp_sync::policy::ExactConfig { queue_size }),
        );
    }
    assert_eq!(w[0], "approx");
    let (mut age_penalty, mut max_interval, mut lower_bounds) = (0.1, None, Vec::new());
    let mut i = 3;
    while i < w.len() {
        let v = w[i + 1];
        match w[i] {
            "--age-penalty" => age_penalty = v.parse().unwrap(),
            "--max-interval-ns" => max_interval = Some(Duration::from_nanos(v.parse().unwrap())),
            "--lower-bound-ns" => {
                let (c, d) = v.split_once(':').unwrap();
                lower_bounds.push((c.parse().unwrap(), Duration::from_nanos(d.parse().unwrap())));
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    let config = PolicyConfig::Approximate(stamp_sync::policy::ApproximateConfig {
        queue_size,
        age_penalty,
        max_interval,
        lower_bounds,
        deadline: None,
    });
    (channels, config)
}

fn check(args: &str, trace: &str, cpp: &str) {
    let (channels, config) = config_from_args(args);
    let trace = Trace::parse(&format!("channel,stamp_ns\n{trace}"), channels - 1).unwrap();
    let got = observe::observe(channels, &config, &trace).unwrap();
    let got = observe::timed_text(&got.sets, &got.points, &got.members);
    assert_eq!(
        got,
        cpp,
        "{args}\ntrace:\n{}\nstamp_sync (left) differs from C++ message_filters (right)",
        trace.to_csv()
    );
}

/// Checks: `(end - cand_end) * (1 + age) >= start - cand_start` is `>=` (not `>`), and ROS 1 `Duration * double` rounds half away from zero (not floor): the tie is decided by the rounded product.
/// Mutants caught: better-tie, scale-round.
#[test]
fn tie_start_advance_equal_to_scaled_end_advance() {
    check(
        "approx 3 1 --age-penalty 0.1",
        "0,1700063303316087353\n1,1700063304240078713\n2,1700063304240079713\n0,1700063305080071858\n1,1700063306844056366\n",
        "",
    );
}

/// Checks: equal latest heads: the pivot is the highest channel index.
/// Mutants caught: end-tie.
#[test]
fn tie_latest_head_goes_to_highest_channel() {
    check(
        "approx 2 1 --age-penalty 0.1",
        "1,1700064249786890108\n1,1700064259499377341\n0,1700064259499377341\n",
        "",
    );
}

/// Checks: equal earliest heads: the start is the lowest channel index.
/// Mutants caught: start-tie.
#[test]
fn tie_earliest_head_goes_to_lowest_channel() {
    check(
        "approx 2 1 --age-penalty 0.1",
        "1,1700087424701000000\n1,1700087424701000000\n0,1700087424701000000\n1,1700087424691000000\n0,1700087424691000000\n",
        "",
    );
}

/// Checks: the virtual search publishes when `(vend - cand_end) * (1 + age) >= pivot_time - cand_start` holds with equality.
/// Mutants caught: virtual-tie.
#[test]
fn virtual_search_publishes_on_tie() {
    check(
        "approx 4 2 --age-penalty 0.0",
        "0,1700019044395797203\n2,1700019044395797203\n1,1700019044395797203\n3,1700019044419606726\n0,1700019044419606726\n2,1700019044443416249\n0,1700019044443416249\n",
        "6:1700019044419606726,1700019044395797203,1700019044395797203,1700019044419606726;4,2,1,3\n",
    );
}

/// Checks: an exhausted channel's virtual time is `max(last + lower_bound, pivot_time)`, and the virtual search gives up only on a strict `<`.
/// Mutants caught: virtual-pivot, virtual-giveup-tie.
#[test]
fn virtual_time_is_at_least_pivot_time() {
    check(
        "approx 3 1 --age-penalty 0.1 --lower-bound-ns 2:1000000000",
        "1,147523924468\n0,147523924470\n2,147523924468\n",
        "2:147523924470,147523924468,147523924468;1,0,2\n",
    );
}

/// Checks: after an overflow drop the channel is not eligible as pivot (`has_dropped_messages`), and overflow means more than `queue_size` messages held.
/// Mutants caught: dropped-flag, queue-plus-1.
#[test]
fn overflowed_channel_cannot_become_pivot() {
    check(
        "approx 3 2 --age-penalty 0.1",
        "0,1700063303316087353\n1,1700063304240078713\n2,1700063304240079713\n0,1700063305080071858\n0,1700063306844056365\n1,1700063306844056366\n",
        "",
    );
}

/// Checks: `has_dropped_messages` is cleared for every channel except the current end on each loop of `process()`.
/// Mutants caught: dropped-reset.
#[test]
fn dropped_flag_cleared_when_another_channel_is_end() {
    check(
        "approx 2 1 --age-penalty 0.1 --lower-bound-ns 1:5000000000",
        "0,1700089012952766465\n0,1700089012952769118\n1,1700089012952769118\n1,1700089012952771770\n0,1700089012952771771\n",
        "2:1700089012952769118,1700089012952769118;1,2\n4:1700089012952771771,1700089012952771770;4,3\n",
    );
}

/// Checks: a set spanning exactly `max_interval` is allowed (`end - start > max` deletes).
/// Mutants caught: maxint-tie.
#[test]
fn max_interval_is_strict() {
    check(
        "approx 2 1 --age-penalty 0.1 --max-interval-ns 0",
        "1,20811436154\n0,20811436154\n",
        "1:20811436154,20811436154;1,0\n",
    );
}

/// Checks: the inter-message lower bound is added to the last examined stamp in the virtual search.
/// Mutants caught: no-lb.
#[test]
fn lower_bound_shifts_virtual_time() {
    check(
        "approx 2 1 --age-penalty 0.1 --lower-bound-ns 1:940000",
        "0,1700059724757000002\n1,1700059724757000000\n",
        "1:1700059724757000002,1700059724757000000;0,1\n",
    );
}

/// Checks: the age penalty product is computed as ROS 1 does (`fromSec(toSec() * (1 + age))`), not as exact nanoseconds times a double.
/// Mutants caught: scale-float.
#[test]
fn age_penalty_product_rounds_like_ros1() {
    check(
        "approx 3 1 --age-penalty 1.5",
        "1,1700047110396928712\n0,1700047111794743725\n2,1700047111794744725\n1,1700047112353870730\n0,1700047114310812750\n",
        "4:1700047111794743725,1700047112353870730,1700047111794744725;1,3,2\n",
    );
}

/// Checks: ExactTime overflow drops the oldest-stamped partial set.
/// Mutants caught: exact-overflow-newest.
#[test]
fn exact_overflow_drops_oldest_stamp() {
    check(
        "exact 2 1",
        "1,1700047265887000000\n0,1700047265888000000\n1,1700047265888000000\n",
        "2:1700047265888000000,1700047265888000000;1,2\n",
    );
}

/// Checks: ExactTime: a second message with the same stamp on a channel replaces the first (the set holds the later one).
/// Mutants caught: exact-no-replace.
#[test]
fn exact_same_stamp_replaces_earlier_message() {
    check(
        "exact 2 1",
        "0,1700028182406054609\n0,1700028182406054609\n1,1700028182406054609\n",
        "2:1700028182406054609,1700028182406054609;1,2\n",
    );
}
