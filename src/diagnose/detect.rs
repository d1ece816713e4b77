//! The detectors, one job each. Each looks at the diagnosis as it stands
//! (`&self`) and returns the problems it finds, whatever the others find:
//! they run in any order. Only the queue-overflow check depends on the
//! others, and that is its input: it is told what they found (a stale or
//! missing topic explains the overflow it causes).

use super::{Code, Diagnosis, Problem, node_name, secs};
use crate::advice;
use stamp_sync::policy::{DropReason, PolicyKind};
use stamp_sync::time::{Duration, Stamp};
use stamp_sync::trace::Trace;

impl Diagnosis {
    pub(super) fn graph_problems(&self, now: Stamp, out: &mut Vec<Problem>) {
        let settled = now.since(self.start) >= self.th.graph_grace;
        for t in &self.topics {
            let Some(g) = &t.graph else { continue };
            if g.has_header == Some(false) {
                let ty = g.type_name.as_deref().unwrap_or("its type");
                out.push(Problem {
                    code: Code::NoHeader,
                    topics: vec![t.name.clone()],
                    message: format!(
                        "{} is {ty}, whose first field is not a std_msgs/Header: there is no stamp to synchronize on",
                        t.name
                    ),
                    advice: advice::no_header_line(),
                });
            }
            let silent = t
                .last_arrival()
                .is_none_or(|a| now.since(a) > self.th.silent_unknown);
            if g.publishers.is_empty() && settled && silent {
                out.push(Problem {
                    code: Code::NoPublisher,
                    topics: vec![t.name.clone()],
                    message: format!(
                        "{}: no publisher ({} on the graph)",
                        t.name,
                        if g.type_name.is_some() {
                            "the topic is"
                        } else {
                            "nothing of that name is"
                        }
                    ),
                    advice: advice::no_publisher_line(&t.name),
                });
            }
            // Discovery names a node after its endpoints (up to a
            // heartbeat later): wait a little for the name.
            let named_wait = t
                .publishers_since
                .is_some_and(|since| now.since(since) >= self.th.name_wait);
            let bad: Vec<String> = g
                .publishers
                .iter()
                .filter(|p| !p.never_matches.is_empty() && (named_wait || !p.node.is_empty()))
                .map(|p| {
                    let never: Vec<String> = p
                        .never_matches
                        .iter()
                        .map(|(q, why)| {
                            format!("a {} subscriber never matches it ({why})", q.as_str())
                        })
                        .collect();
                    format!(
                        "publisher {} offers {}: {}",
                        node_name(&p.node),
                        p.qos,
                        never.join("; ")
                    )
                })
                .collect();
            if !bad.is_empty() {
                out.push(Problem {
                    code: Code::QosIncompatible,
                    topics: vec![t.name.clone()],
                    message: format!("{}: {}", t.name, bad.join("; ")),
                    advice: advice::qos_line(),
                });
            }
        }
    }

    pub(super) fn stale(&self, now: Stamp, out: &mut Vec<Problem>) {
        let th = &self.th;
        for (ch, t) in self.topics.iter().enumerate() {
            let others_flow = self
                .topics
                .iter()
                .enumerate()
                .any(|(o, ot)| o != ch && ot.flows(now, th));
            if !others_flow {
                continue;
            }
            let message = match t.last_arrival() {
                Some(last) => {
                    let silent = now.since(last);
                    if silent <= t.stale_after(th) {
                        continue;
                    }
                    match t.period() {
                        Some(p) => format!(
                            "{}: silent for {} (more than {} periods of {}) while the others flow",
                            t.name,
                            secs(silent),
                            th.stale_periods,
                            secs(p)
                        ),
                        None => format!(
                            "{}: silent for {} after {} message(s) while the others flow",
                            t.name,
                            secs(silent),
                            t.received
                        ),
                    }
                }
                None => {
                    let publishers = t.publishers().unwrap_or(0);
                    let headerless = t
                        .graph
                        .as_ref()
                        .is_some_and(|g| g.has_header == Some(false));
                    let Some(since) = t.publishers_since else {
                        continue;
                    };
                    let waited = now.since(since);
                    if publishers == 0 || headerless || waited <= th.first_message {
                        continue;
                    }
                    format!(
                        "{}: no message in {} since the graph showed its {publishers} publisher(s), while the others flow",
                        t.name,
                        secs(waited)
                    )
                }
            };
            out.push(Problem {
                code: Code::Stale,
                topics: vec![t.name.clone()],
                message,
                advice: advice::stale_line(&t.name),
            });
        }
    }

    /// `--policy follow`: the head driver message waits on followers whose
    /// stamps trail the newest stamp by more than `stale_min` (unless they
    /// are already stale).
    pub(super) fn follower_behind(&self, out: &mut Vec<Problem>) {
        let Some((t, behind)) = self.follow.as_ref().and_then(|f| f.policy().waiting_on()) else {
            return;
        };
        let Some(newest) = self.topics.iter().filter_map(|t| t.last_stamp).max() else {
            return;
        };
        if newest.since(t) <= self.th.stale_min {
            return;
        }
        for ch in behind {
            let Some(topic) = self.topics.get(ch) else {
                continue;
            };
            let known = out
                .iter()
                .any(|p| p.code == Code::Stale && p.topics == [topic.name.clone()]);
            if known {
                continue;
            }
            let last = topic
                .last_stamp
                .map_or("none".to_string(), |s| s.to_string());
            out.push(Problem {
                code: Code::Stale,
                topics: vec![topic.name.clone()],
                message: format!(
                    "{}: the driver message at {t} waits for it ({} behind the newest stamp; its last stamp {last})",
                    topic.name,
                    secs(newest.since(t)),
                ),
                advice: advice::follower_behind_line(&topic.name),
            });
        }
    }

    pub(super) fn sets_within(&self, now: Stamp) -> usize {
        let from = now - self.th.window;
        self.set_times.iter().filter(|t| **t >= from).count()
    }

    pub(super) fn never_equal(&self, now: Stamp, out: &mut Vec<Problem>) {
        if self.follow.is_some()
            || self.config.kind() != PolicyKind::Exact
            || self.sets_within(now) > 0
        {
            return;
        }
        let stamps: Vec<Vec<i64>> = self
            .topics
            .iter()
            .map(|t| {
                let mut s = t.stamps(now, self.th.window);
                s.sort_unstable();
                s
            })
            .collect();
        for i in 0..stamps.len() {
            for j in i + 1..stamps.len() {
                let (a, b) = (&stamps[i], &stamps[j]);
                if a.len() < self.th.min_stamps || b.len() < self.th.min_stamps {
                    continue;
                }
                if a.iter().any(|x| b.binary_search(x).is_ok()) {
                    continue;
                }
                // From the topic with fewer stamps: each finds its nearest.
                let (few, many) = if a.len() <= b.len() { (a, b) } else { (b, a) };
                let mut d: Vec<i64> = advice::nearest_offsets(few, many)
                    .into_iter()
                    .map(i64::abs)
                    .collect();
                let typical = advice::Summary::of(&mut d).map(|s| s.median_ns);
                out.push(Problem {
                    code: Code::NeverEqual,
                    topics: vec![self.topics[i].name.clone(), self.topics[j].name.clone()],
                    message: format!(
                        "ExactTime: the stamps of {} and {} never coincide ({} and {} recent stamps, none in common; nearest {} apart, median)",
                        self.topics[i].name,
                        self.topics[j].name,
                        a.len(),
                        b.len(),
                        typical.map_or("-".into(), advice::human_duration)
                    ),
                    advice: advice::exact_nothing_line(typical),
                });
            }
        }
    }

    pub(super) fn clock_mismatch(&self, now: Stamp, out: &mut Vec<Problem>) {
        let tol = self.th.clock_tolerance.as_nanos();
        let ages: Vec<Option<i64>> = self
            .topics
            .iter()
            .map(|t| t.age(now, self.th.window, 3))
            .collect();
        // The reference: the topic stamped nearest to its arrival (the
        // system clock the watch runs on); it stays the same as more
        // topics deliver.
        let close = |a: i64, b: i64| a.abs_diff(b) <= tol.unsigned_abs();
        let Some((reference, ref_age)) = ages
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.map(|a| (i, a)))
            .min_by_key(|&(i, a)| (a.unsigned_abs(), i))
        else {
            return;
        };
        for (ch, age) in ages.iter().enumerate() {
            let Some(age) = *age else { continue };
            if ch == reference || close(age, ref_age) {
                continue;
            }
            let (t, r) = (&self.topics[ch].name, &self.topics[reference].name);
            let offset = ref_age.saturating_sub(age); // this topic's stamps minus the reference's
            let dir = if offset < 0 { "behind" } else { "ahead of" };
            out.push(Problem {
                code: Code::ClockMismatch,
                topics: vec![t.clone(), r.clone()],
                message: format!(
                    "{t}: stamps {} {dir} {r}'s (stamp age at arrival {} against {}): not the same clock",
                    advice::human_duration(offset.saturating_abs()),
                    advice::human_duration(age),
                    advice::human_duration(ref_age),
                ),
                advice: advice::clock_line(ch, offset),
            });
        }
    }

    pub(super) fn message_lost(&self, now: Stamp, out: &mut Vec<Problem>) {
        let w = self.th.window;
        for t in &self.topics {
            let Some((lost, last)) = t.lost_since(now - w) else {
                continue;
            };
            if now.since(last) > self.th.recent {
                continue;
            }
            let total = t.lost_total().unwrap_or(lost);
            let sent = total + t.received;
            let pct = total as f64 * 100.0 / sent as f64;
            out.push(Problem {
                code: Code::MessageLost,
                topics: vec![t.name.clone()],
                message: format!(
                    "{}: the middleware lost {lost} message(s) on the way in the last {}; {total} of {sent} ({pct:.1} %) since watching began",
                    t.name,
                    secs(w),
                ),
                advice: advice::message_lost_line(),
            });
        }
    }

    pub(super) fn out_of_order(&self, now: Stamp, out: &mut Vec<Problem>) {
        for t in &self.topics {
            let Some(last) = t.last_backwards else {
                continue;
            };
            if now.since(last) > self.th.recent {
                continue;
            }
            out.push(Problem {
                code: Code::OutOfOrder,
                topics: vec![t.name.clone()],
                message: format!(
                    "{}: stamps went backwards {} time(s) (by up to {}), the last {} ago",
                    t.name,
                    t.backwards,
                    secs(t.backwards_max),
                    secs(now.since(last))
                ),
                advice: advice::out_of_order_line(),
            });
        }
    }

    /// Topics out (option `drop_out_after` of the watch's policy).
    pub(super) fn dropped_out(&self, out: &mut Vec<Problem>) {
        let stats = self.stats();
        for (t, c) in self.topics.iter().zip(&stats.channels) {
            let Some(since) = c.out_since else {
                continue;
            };
            out.push(Problem {
                code: Code::DroppedOut,
                topics: vec![t.name.clone()],
                message: format!(
                    "{}: out since stamp {since}; {} sets went out without it",
                    t.name, c.sets_without
                ),
                advice: advice::dropped_out_line(),
            });
        }
    }

    /// Overflow drops per channel so far.
    pub(super) fn overflow_counts(&self) -> Vec<u64> {
        self.stats()
            .channels
            .iter()
            .map(|c| {
                c.dropped_for(DropReason::QueueOverflow) + c.dropped_for(DropReason::AfterOverflow)
            })
            .collect()
    }

    /// Overflow drops that the problems `found` in the same check (and the
    /// recent ones) do not explain.
    pub(super) fn queue_overflow(&mut self, now: Stamp, found: &[Problem]) -> Option<Problem> {
        let counts = self.overflow_counts();
        let delta: Vec<u64> = counts
            .iter()
            .zip(&self.overflow_prev)
            .map(|(c, p)| c.saturating_sub(*p))
            .collect();
        self.overflow_prev = counts;
        // A silent, missing, never-equal or other-clock topic makes the
        // others' queues overflow (while it lasts, and while the queues
        // drain after it): that is its problem, not the queue size's.
        // Overflow waits `stale_min` for such a cause to show.
        let causes = |c: Code| {
            matches!(
                c,
                Code::Stale | Code::NoPublisher | Code::NeverEqual | Code::ClockMismatch
            )
        };
        let explained = found.iter().any(|p| causes(p.code))
            || self
                .log
                .iter()
                .any(|s| causes(s.problem.code) && now.since(s.last) <= self.th.recent);
        if explained {
            self.overflow_pending.clear();
        } else {
            if delta.iter().any(|d| *d > 0) {
                self.overflow_pending.push_back((now, delta));
            }
            while let Some((t, _)) = self.overflow_pending.front() {
                if now.since(*t) < self.th.stale_min {
                    break;
                }
                if let Some(e) = self.overflow_pending.pop_front() {
                    self.overflow_confirmed += e.1.iter().sum::<u64>();
                    self.overflow_events.push_back(e);
                }
            }
        }
        while let Some((t, _)) = self.overflow_events.front() {
            if now.since(*t) <= self.th.recent {
                break;
            }
            self.overflow_events.pop_front();
        }
        if self.overflow_events.is_empty() {
            return None;
        }
        let mut per = vec![0u64; self.topics.len()];
        for (_, d) in &self.overflow_events {
            for (p, n) in per.iter_mut().zip(d) {
                *p += n;
            }
        }
        let topics: Vec<String> = per
            .iter()
            .zip(&self.topics)
            .filter(|(n, _)| **n > 0)
            .map(|(_, t)| t.name.clone())
            .collect();
        let recent: u64 = per.iter().sum();
        let stale = self
            .min_queue
            .is_none_or(|(at, _, _)| now.since(at) >= Duration::from_secs(2));
        if stale {
            let q = self.min_queue_now();
            self.min_queue = Some((now, self.fed, q));
        }
        let min_q = self.min_queue.and_then(|(_, _, q)| q);
        let size = self.queue_size().map_or("-".to_string(), |q| q.to_string());
        Some(Problem {
            code: Code::QueueOverflow,
            topics: topics.clone(),
            message: format!(
                "{}: {recent} message(s) dropped in the last {} because the queue (size {size}) overflowed",
                topics.join(", "),
                secs(self.th.recent)
            ),
            advice: advice::queue_line(
                usize::try_from(self.overflow_confirmed).unwrap_or(usize::MAX),
                min_q,
                self.queue_size(),
                self.search_limit(),
                "on the arrivals seen",
            ),
        })
    }

    pub(super) fn search_limit(&self) -> usize {
        self.history.len().clamp(1, 4096)
    }

    /// The advisor's smallest queue size without overflow on the history.
    pub(super) fn min_queue_now(&self) -> Option<usize> {
        if self.follow.is_some() {
            return None;
        }
        let trace = Trace::from_pairs(self.history.iter().map(|m| (m.channel, m.stamp)));
        advice::min_queue_without_overflow(
            &trace,
            self.topics.len(),
            &self.config,
            self.search_limit(),
        )
    }
}
