//! A progress bar on stderr while a long bag is read, for a person
//! watching (never in a pipe or for short reads).

use std::io::IsTerminal as _;

use stamp_sync_bag::Progress;

/// Runs `read` with a progress callback that drives a bar, if `total`
/// messages are many and stderr is a terminal.
pub fn with_progress<T>(total: u64, read: impl FnOnce(&mut dyn FnMut(Progress)) -> T) -> T {
    let bar = (total >= 200_000 && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} reading {wide_bar} {human_pos}/{human_len} messages, {eta} left",
        ) {
            pb.set_style(style);
        }
        pb
    });
    let out = read(&mut |p: Progress| {
        if let Some(pb) = &bar {
            pb.set_length(p.total);
            pb.set_position(p.done);
        }
    });
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    out
}
