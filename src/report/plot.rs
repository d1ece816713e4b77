//! A timeline of a bag replay as SVG: one row per topic, a tick per
//! message at its stamp, a line through the members of each emitted set,
//! and a marker per dropped message, shaped and coloured by reason.

use std::fmt::Write as _;

use super::TimedReplay;
use stamp_sync::policy::DropReason;
use stamp_sync::trace::TraceMsg;
use stamp_sync_bag::BagTrace;

/// Plot time range, in seconds after the first stamp of the trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Start, seconds after the first stamp.
    pub start_s: f64,
    /// End, seconds after the first stamp.
    pub end_s: f64,
}

/// How to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Time range; `None` picks the span of the first `auto_sets` sets.
    pub window: Option<Window>,
    /// Sets shown when no window is given.
    pub auto_sets: usize,
    /// Most message ticks in view when no window is given.
    pub auto_messages: usize,
    /// Image width in px.
    pub width: f64,
    /// Draw each set as lines from its first member (the follower policy's
    /// driver message) to each other member, instead of one line through
    /// them.
    pub star: bool,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            window: None,
            auto_sets: 25,
            auto_messages: 120,
            width: 1400.0,
            star: false,
        }
    }
}

/// A rendered plot.
#[derive(Debug, Clone)]
pub struct Plot {
    /// The SVG document.
    pub svg: String,
    /// The window drawn.
    pub window: Window,
    /// Seconds from the first to the last stamp of the trace.
    pub span_s: f64,
    /// Sets with at least one member in the window.
    pub sets_shown: usize,
}

struct Style {
    reason: DropReason,
    color: &'static str,
    shape: Shape,
    label: &'static str,
}

#[derive(Clone, Copy)]
enum Shape {
    Cross,
    Circle,
    Triangle,
    Diamond,
    Square,
    Star,
}

const STYLES: [Style; 9] = [
    Style {
        reason: DropReason::QueueOverflow,
        color: "#d62728",
        shape: Shape::Cross,
        label: "dropped: queue overflow",
    },
    Style {
        reason: DropReason::NotChosen,
        color: "#ff7f0e",
        shape: Shape::Circle,
        label: "dropped: not chosen (a better set used newer messages)",
    },
    Style {
        reason: DropReason::MaxInterval,
        color: "#9467bd",
        shape: Shape::Triangle,
        label: "dropped: outside max interval",
    },
    Style {
        reason: DropReason::AfterOverflow,
        color: "#8c564b",
        shape: Shape::Diamond,
        label: "dropped: after an overflow",
    },
    Style {
        reason: DropReason::OlderThanLastSet,
        color: "#7f7f7f",
        shape: Shape::Square,
        label: "dropped: older than the last set",
    },
    Style {
        reason: DropReason::Replaced,
        color: "#17becf",
        shape: Shape::Star,
        label: "dropped: replaced by same stamp",
    },
    Style {
        reason: DropReason::NoMatch,
        color: "#bcbd22",
        shape: Shape::Square,
        label: "dropped: no match",
    },
    Style {
        reason: DropReason::Reset,
        color: "#e377c2",
        shape: Shape::Diamond,
        label: "dropped: reset",
    },
    Style {
        reason: DropReason::DroppedOut,
        color: "#a33",
        shape: Shape::Cross,
        label: "dropped: its channel was out",
    },
];

const SET_COLORS: [&str; 2] = ["#1f77b4", "#2ca02c"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn marker(svg: &mut String, shape: Shape, x: f64, y: f64, color: &str, r: f64) {
    let _ = match shape {
        Shape::Cross => write!(
            svg,
            r#"<path d="M{:.1},{:.1}L{:.1},{:.1}M{:.1},{:.1}L{:.1},{:.1}" stroke="{color}" stroke-width="2.5"/>"#,
            x - r,
            y - r,
            x + r,
            y + r,
            x - r,
            y + r,
            x + r,
            y - r
        ),
        Shape::Circle => write!(
            svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="none" stroke="{color}" stroke-width="2.5"/>"#
        ),
        Shape::Triangle => write!(
            svg,
            r#"<path d="M{x:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z" fill="{color}"/>"#,
            y - r,
            x + r,
            y + r,
            x - r,
            y + r
        ),
        Shape::Diamond => write!(
            svg,
            r#"<path d="M{x:.1},{:.1}L{:.1},{y:.1}L{x:.1},{:.1}L{:.1},{y:.1}Z" fill="{color}"/>"#,
            y - r,
            x + r,
            y + r,
            x - r
        ),
        Shape::Square => write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"/>"#,
            x - r * 0.8,
            y - r * 0.8,
            r * 1.6,
            r * 1.6
        ),
        Shape::Star => write!(
            svg,
            r#"<path d="M{x:.1},{:.1}L{x:.1},{:.1}M{:.1},{y:.1}L{:.1},{y:.1}M{:.1},{:.1}L{:.1},{:.1}M{:.1},{:.1}L{:.1},{:.1}" stroke="{color}" stroke-width="2"/>"#,
            y - r,
            y + r,
            x - r,
            x + r,
            x - r * 0.7,
            y - r * 0.7,
            x + r * 0.7,
            y + r * 0.7,
            x - r * 0.7,
            y + r * 0.7,
            x + r * 0.7,
            y - r * 0.7
        ),
    };
}

/// A step of 1, 2 or 5 times a power of ten giving about `n` ticks over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(1e-9);
    let p = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if p * m >= raw {
            return p * m;
        }
    }
    p * 10.0
}

/// The first sets (at most `opts.auto_sets`, fewer if that would put more
/// than `opts.auto_messages` ticks in view), or the whole trace if it is short.
fn auto_window(bt: &BagTrace, timed: &TimedReplay, opts: &PlotOptions, span_s: f64) -> Window {
    let msgs = &bt.trace.messages;
    let t0 = msgs.iter().map(|m| m.stamp).min().unwrap_or_default();
    let secs = |s: stamp_sync::time::Stamp| s.since(t0).as_nanos() as f64 / 1e9;
    let mut stamps: Vec<f64> = msgs.iter().map(|m| secs(m.stamp)).collect();
    stamps.sort_by(f64::total_cmp);
    let in_view = |end: f64| stamps.partition_point(|&t| t <= end);
    let pad = |a: f64, b: f64| {
        let p = ((b - a) * 0.015).max(1e-4);
        Window {
            start_s: a - p,
            end_s: b + p,
        }
    };
    if msgs.len() <= opts.auto_messages {
        return pad(0.0, span_s);
    }
    let sets = timed.replay.emitted();
    let set_end = |k: usize| {
        sets[..k]
            .iter()
            .flat_map(|s| s.iter().flatten().map(|m| secs(m.stamp)))
            .fold(0.0f64, f64::max)
    };
    let mut k = opts.auto_sets.min(sets.len());
    while k > 3 && in_view(set_end(k)) > opts.auto_messages {
        k -= 1;
    }
    if k > 0 {
        let end = set_end(k);
        // With few sets, still show enough ticks to see why.
        let end = end.max(stamps[opts.auto_messages.min(stamps.len()) / 2]);
        pad(0.0, end)
    } else {
        pad(0.0, stamps[opts.auto_messages.min(stamps.len() - 1)])
    }
}

/// Draws the replay `timed` of `bt` (topic `names` in channel order).
pub fn render(
    bt: &BagTrace,
    names: &[String],
    timed: &TimedReplay,
    policy: &dyn std::fmt::Display,
    opts: &PlotOptions,
) -> Plot {
    let msgs = &bt.trace.messages;
    let t0 = msgs.iter().map(|m| m.stamp).min().unwrap_or_default();
    let t_last = msgs.iter().map(|m| m.stamp).max().unwrap_or_default();
    let secs = |s: stamp_sync::time::Stamp| s.since(t0).as_nanos() as f64 / 1e9;
    let span_s = secs(t_last);
    // Every emitted set, full or with members missing (drop-out).
    let sets: Vec<Vec<TraceMsg>> = (timed.replay.emitted().into_iter())
        .map(|s| s.into_iter().flatten().collect())
        .collect();
    let window = opts
        .window
        .unwrap_or_else(|| auto_window(bt, timed, opts, span_s));
    let channels = names.len().max(1);
    // Room for the name (bold, 14) and the count under it (11).
    let left = 40.0 + names.iter().map(|n| n.len()).max().unwrap_or(4).max(14) as f64 * 7.5;
    let right = 30.0;
    let top = 60.0;
    let row_h = 80.0;
    let plot_w = (opts.width - left - right).max(100.0);
    let rows_h = row_h * channels as f64;
    let axis_y = top + rows_h + 10.0;
    let x_of = |t: f64| left + (t - window.start_s) / (window.end_s - window.start_s) * plot_w;
    let y_of = |ch: usize| top + row_h * (ch as f64 + 0.5);
    let in_win = |t: f64| t >= window.start_s && t <= window.end_s;

    // What happened to each message: set number or drop reason.
    let mut fate: Vec<Option<Result<usize, DropReason>>> = vec![None; msgs.len()];
    for (k, set) in sets.iter().enumerate() {
        for m in set {
            if let Some(f) = fate.get_mut(m.index) {
                *f = Some(Ok(k));
            }
        }
    }
    for d in &timed.replay.drops {
        if let Some(f) = fate.get_mut(d.message.index) {
            *f = Some(Err(d.reason));
        }
    }

    // Markers shrink when ticks are dense, so neighbours stay apart.
    let densest = (0..channels)
        .map(|ch| {
            msgs.iter()
                .filter(|m| m.channel == ch && in_win(secs(m.stamp)))
                .count()
        })
        .max()
        .unwrap_or(1)
        .max(1);
    let radius = (plot_w / densest as f64 * 0.4).clamp(2.5, 6.0);
    let mut used_reasons: Vec<DropReason> = Vec::new();
    let mut body = String::new();
    let mut rows = String::new();
    // Rows.
    for (ch, name) in names.iter().enumerate() {
        let y = y_of(ch);
        let n_in = msgs
            .iter()
            .filter(|m| m.channel == ch && in_win(secs(m.stamp)))
            .count();
        let _ = write!(
            rows,
            r##"<rect x="{left:.1}" y="{:.1}" width="{plot_w:.1}" height="{:.1}" fill="{}"/><line x1="{left:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#bbb"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="14" font-weight="bold">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#666">ch {ch}, {n_in} msgs here</text>"##,
            y - row_h / 2.0,
            row_h,
            if ch % 2 == 0 { "#f7f7f7" } else { "#ffffff" },
            left + plot_w,
            left - 10.0,
            y + 4.0,
            esc(name),
            left - 10.0,
            y + 20.0,
        );
    }
    // Channels out (drop-out): the row shaded from going out to rejoining.
    let mut outs = 0;
    for (ch, _) in names.iter().enumerate() {
        let mut from: Option<f64> = None;
        let changes = timed.replay.changes.iter().filter(|(_, o)| o.channel == ch);
        let mut spans: Vec<(f64, f64)> = Vec::new();
        for (out, o) in changes {
            match (*out, from) {
                (true, None) => from = Some(secs(o.at)),
                (false, Some(a)) => {
                    spans.push((a, secs(o.at)));
                    from = None;
                }
                _ => {}
            }
        }
        spans.extend(from.map(|a| (a, span_s)));
        let y = y_of(ch);
        for (a, b) in spans {
            let (xa, xb) = (x_of(a.max(window.start_s)), x_of(b.min(window.end_s)));
            if xb <= xa {
                continue;
            }
            outs += 1;
            let _ = write!(
                rows,
                r##"<rect x="{xa:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#f4c7c3" fill-opacity="0.6"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#a33">out</text>"##,
                y - row_h / 2.0 + 4.0,
                xb - xa,
                row_h - 8.0,
                xa + 4.0,
                y - row_h / 2.0 + 16.0,
            );
        }
    }
    // Set lines under the ticks.
    let mut sets_shown = 0;
    let mut last_label_x = f64::NEG_INFINITY;
    for (k, set) in sets.iter().enumerate() {
        if !set.iter().any(|m| in_win(secs(m.stamp))) {
            continue;
        }
        sets_shown += 1;
        let color = SET_COLORS[k % SET_COLORS.len()];
        let dash = if !opts.star && set.len() < channels {
            r#" stroke-dasharray="6,3""#
        } else {
            ""
        };
        let mut d = String::new();
        let hub = set.first().map(|m| (x_of(secs(m.stamp)), y_of(m.channel)));
        for (i, m) in set.iter().enumerate() {
            let (x, y) = (x_of(secs(m.stamp)), y_of(m.channel));
            match hub {
                Some((hx, hy)) if opts.star && i > 0 => {
                    let _ = write!(d, "M{hx:.1},{hy:.1}L{x:.1},{y:.1}");
                }
                _ => {
                    let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
                }
            }
        }
        let _ = write!(
            body,
            r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="2.5" stroke-opacity="0.8"{dash}/>"#
        );
        // Set number above the first row.
        let first = set
            .iter()
            .map(|m| x_of(secs(m.stamp)))
            .fold(f64::INFINITY, f64::min);
        if first - last_label_x >= 18.0 {
            last_label_x = first;
            let _ = write!(
                body,
                r#"<text x="{first:.1}" y="{:.1}" font-size="10" fill="{color}" text-anchor="middle">{}</text>"#,
                top - 4.0,
                k + 1
            );
        }
    }
    // Ticks and drop markers.
    for (i, m) in msgs.iter().enumerate() {
        let t = secs(m.stamp);
        if !in_win(t) {
            continue;
        }
        let x = x_of(t);
        let y = y_of(m.channel);
        match fate.get(i).copied().flatten() {
            Some(Ok(k)) => {
                let color = SET_COLORS[k % SET_COLORS.len()];
                let _ = write!(
                    body,
                    r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{color}" stroke-width="3"/>"#,
                    y - 14.0,
                    y + 14.0
                );
            }
            Some(Err(reason)) => {
                let _ = write!(
                    body,
                    r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999" stroke-width="1.5"/>"##,
                    y - 10.0,
                    y + 10.0
                );
                if let Some(st) = STYLES.iter().find(|s| s.reason == reason) {
                    marker(&mut body, st.shape, x, y - 22.0, st.color, radius);
                    if !used_reasons.contains(&reason) {
                        used_reasons.push(reason);
                    }
                }
            }
            None => {
                // Still queued at the end of the bag.
                let _ = write!(
                    body,
                    r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999" stroke-width="1.5" stroke-dasharray="3,2"/>"##,
                    y - 10.0,
                    y + 10.0
                );
            }
        }
    }
    // Time axis.
    let step = nice_step(window.end_s - window.start_s, 10.0);
    let mut axis = format!(
        r#"<line x1="{left:.1}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="black"/>"#,
        left + plot_w
    );
    let mut t = (window.start_s / step).ceil() * step;
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    while t <= window.end_s + step * 1e-6 {
        if t.abs() < step * 1e-6 {
            t = 0.0; // no "-0.0"
        }
        let x = x_of(t);
        let _ = write!(
            axis,
            r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{:.1}" stroke="#ddd" stroke-width="1"/><text x="{x:.1}" y="{:.1}" font-size="12" text-anchor="middle">{t:.decimals$}</text>"##,
            axis_y + 5.0,
            axis_y + 20.0
        );
        t += step;
    }
    let _ = write!(
        axis,
        r#"<text x="{:.1}" y="{:.1}" font-size="13" text-anchor="middle">header stamp, seconds after {} (first stamp of the trace)</text>"#,
        left + plot_w / 2.0,
        axis_y + 40.0,
        t0
    );
    // Legend.
    let mut legend = String::new();
    let mut ly = axis_y + 70.0;
    let lx = left;
    let _ = write!(
        legend,
        r#"<line x1="{lx:.1}" y1="{:.1}" x2="{lx:.1}" y2="{:.1}" stroke="{}" stroke-width="3"/><path d="M{:.1},{:.1}L{:.1},{:.1}" stroke="{}" stroke-width="2.5"/><text x="{:.1}" y="{:.1}" font-size="13">matched set: its members' ticks joined by a line (colours alternate)</text>"#,
        ly - 8.0,
        ly + 8.0,
        SET_COLORS[0],
        lx + 12.0,
        ly - 8.0,
        lx + 12.0,
        ly + 8.0,
        SET_COLORS[1],
        lx + 30.0,
        ly + 4.0
    );
    ly += 24.0;
    let _ = write!(
        legend,
        r##"<line x1="{lx:.1}" y1="{:.1}" x2="{lx:.1}" y2="{:.1}" stroke="#999" stroke-width="1.5" stroke-dasharray="3,2"/><text x="{:.1}" y="{:.1}" font-size="13">grey tick: message not in a set (dashed: still queued when the bag ended)</text>"##,
        ly - 8.0,
        ly + 8.0,
        lx + 30.0,
        ly + 4.0
    );
    if outs > 0 {
        ly += 24.0;
        let _ = write!(
            legend,
            r##"<rect x="{:.1}" y="{:.1}" width="12" height="16" fill="#f4c7c3"/><path d="M{:.1},{:.1}L{:.1},{:.1}" stroke="{}" stroke-width="2.5" stroke-dasharray="6,3"/><text x="{:.1}" y="{:.1}" font-size="13">channel out (drop-out): the sets go on without it, dashed</text>"##,
            lx - 6.0,
            ly - 8.0,
            lx + 12.0,
            ly - 8.0,
            lx + 12.0,
            ly + 8.0,
            SET_COLORS[0],
            lx + 30.0,
            ly + 4.0
        );
    }
    for st in STYLES.iter().filter(|s| used_reasons.contains(&s.reason)) {
        ly += 24.0;
        marker(&mut legend, st.shape, lx + 6.0, ly, st.color, 6.0);
        let _ = write!(
            legend,
            r#"<text x="{:.1}" y="{:.1}" font-size="13">{}</text>"#,
            lx + 30.0,
            ly + 4.0,
            esc(st.label)
        );
    }
    let height = ly + 30.0;
    let policy = policy.to_string();
    let title = format!(
        "{policy}: {} of {} sets shown, stamps {:.3} s to {:.3} s of {:.3} s",
        sets_shown,
        sets.len(),
        window.start_s,
        window.end_s,
        span_s
    );
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{height:.0}" viewBox="0 0 {w:.0} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif"><rect width="100%" height="100%" fill="white"/><text x="{left:.1}" y="24" font-size="16" font-weight="bold">{}</text><defs><clipPath id="plot"><rect x="{left:.1}" y="{:.1}" width="{plot_w:.1}" height="{:.1}"/></clipPath></defs>{rows}{axis}<g clip-path="url(#plot)">{body}</g>{legend}</svg>"#,
        esc(&title),
        top - 20.0,
        rows_h + 20.0,
        w = opts.width,
    );
    svg.push('\n');
    Plot {
        svg,
        window,
        span_s,
        sets_shown,
    }
}
