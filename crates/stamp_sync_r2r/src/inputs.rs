//! Raw inputs, as the relay and the watch read them: a topic's type as
//! the graph reports it, and a set of raw subscriptions taken in the order
//! rmw received their messages.

use std::time::Duration as StdDuration;

use super::raw::{RawError, RawSubscription, SerializedMsg, Waiter};

/// What the graph says a topic's type is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicType {
    /// The topic is not on the graph.
    Missing,
    /// One type, `pkg/msg/Type`.
    One(String),
    /// Its endpoints disagree.
    Several(Vec<String>),
}

/// The type of `topic` (fully qualified) in `graph`, a list of topics with
/// their types ([`RawNode::topic_names_and_types`](super::raw::RawNode::topic_names_and_types)).
pub fn topic_type(graph: &[(String, Vec<String>)], topic: &str) -> TopicType {
    match graph.iter().find(|(name, _)| name == topic) {
        Some((_, types)) if types.len() == 1 => TopicType::One(types[0].clone()),
        Some((_, types)) if types.len() > 1 => TopicType::Several(types.clone()),
        _ => TopicType::Missing,
    }
}

/// One taken message: rmw's reception time (ns since the epoch, 0 if
/// unknown), its input and the message.
pub type Taken = (i64, usize, SerializedMsg);

/// Raw subscriptions by input number (an input may not be subscribed yet),
/// read in reception order.
#[derive(Debug, Default)]
pub struct Inputs {
    subs: Vec<Option<RawSubscription>>,
}

impl Inputs {
    /// `n` inputs, none subscribed.
    pub fn new(n: usize) -> Self {
        Inputs {
            subs: (0..n).map(|_| None).collect(),
        }
    }

    /// Input `i` reads from `sub` from now on.
    pub fn set(&mut self, i: usize, sub: RawSubscription) {
        if let Some(slot) = self.subs.get_mut(i) {
            *slot = Some(sub);
        }
    }

    /// Is input `i` subscribed?
    pub fn is_subscribed(&self, i: usize) -> bool {
        self.subs.get(i).is_some_and(Option::is_some)
    }

    /// The middleware's lost total of input `i` (see
    /// [`RawSubscription::lost`]); `None` if it is not subscribed or rmw
    /// reports no losses.
    pub fn lost(&self, i: usize) -> Result<Option<u64>, RawError> {
        match self.subs.get(i) {
            Some(Some(sub)) => sub.lost(),
            _ => Ok(None),
        }
    }

    /// [`lost`](Self::lost) of every input.
    pub fn lost_all(&self) -> Result<Vec<Option<u64>>, RawError> {
        (0..self.subs.len()).map(|i| self.lost(i)).collect()
    }

    /// Waits until a subscription has data, `waiter` is woken, or `timeout`
    /// passes.
    pub fn wait(&self, waiter: &mut Waiter, timeout: Option<StdDuration>) -> Result<(), RawError> {
        let refs: smallvec::SmallVec<[&RawSubscription; 9]> = self.subs.iter().flatten().collect();
        waiter.wait(&refs, timeout).map(|_| ())
    }

    /// Appends every waiting message of every input to `out`, then sorts
    /// `out` by reception time (stable: equal times keep each input's order).
    pub fn take_into(&mut self, out: &mut Vec<Taken>) -> Result<(), RawError> {
        for (i, sub) in self.subs.iter_mut().enumerate() {
            let Some(sub) = sub else { continue };
            while let Some(msg) = sub.take()? {
                out.push((msg.info().received_timestamp, i, msg));
            }
        }
        out.sort_by_key(|(t, _, _)| *t);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_from_the_graph() {
        let g = vec![
            ("/a".to_string(), vec!["std_msgs/msg/Header".to_string()]),
            (
                "/b".to_string(),
                vec!["x/msg/A".to_string(), "x/msg/B".to_string()],
            ),
            ("/c".to_string(), vec![]),
        ];
        assert_eq!(
            topic_type(&g, "/a"),
            TopicType::One("std_msgs/msg/Header".into())
        );
        assert_eq!(
            topic_type(&g, "/b"),
            TopicType::Several(vec!["x/msg/A".into(), "x/msg/B".into()])
        );
        assert_eq!(topic_type(&g, "/c"), TopicType::Missing);
        assert_eq!(topic_type(&g, "/d"), TopicType::Missing);
        let inputs = Inputs::new(2);
        assert!(!inputs.is_subscribed(0) && !inputs.is_subscribed(5));
    }
}
