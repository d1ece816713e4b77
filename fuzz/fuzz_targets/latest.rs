#![no_main]
//! LatestTime, 2..=9 channels, random options (re-emits held messages by
//! design: the harness checks only the held message is re-emitted).
use libfuzzer_sys::fuzz_target;
use stamp_sync::policy::PolicyKind;
use stamp_sync_fuzz::{Input, run_kind};

fuzz_target!(|input: Input| run_kind(&input, PolicyKind::Latest, input.n(2, 9)));
