//! ARM's per-subscription request budgets, as token buckets: every response
//! reports what is left in `x-ms-ratelimit-remaining-subscription-reads` /
//! `-writes`, and an empty bucket answers 429 with `Retry-After`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One budget: `capacity` requests, refilled at `per_second`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Budget {
    pub capacity: f64,
    pub per_second: f64,
}

impl Budget {
    /// Azure's documented subscription defaults: 12,000 reads and 1,200 writes an hour.
    pub const READS: Budget = Budget {
        capacity: 12_000.0,
        per_second: 12_000.0 / 3600.0,
    };
    pub const WRITES: Budget = Budget {
        capacity: 1_200.0,
        per_second: 1_200.0 / 3600.0,
    };
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: u64,
}

#[derive(Debug)]
pub struct Limits {
    pub reads: Budget,
    pub writes: Budget,
    buckets: BTreeMap<(String, bool), Bucket>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            reads: Budget::READS,
            writes: Budget::WRITES,
            buckets: BTreeMap::new(),
        }
    }
}

/// The outcome of taking one token.
pub enum Take {
    /// Allowed; this many remain.
    Ok(u64),
    /// Throttled; retry after this many seconds.
    Throttled(u64),
}

impl Limits {
    pub fn set(&mut self, reads: Budget, writes: Budget) {
        self.reads = reads;
        self.writes = writes;
        self.buckets.clear();
    }

    pub fn take(&mut self, subscription: &str, write: bool, now_ms: u64) -> Take {
        let budget = if write { self.writes } else { self.reads };
        let b = self
            .buckets
            .entry((subscription.to_ascii_lowercase(), write))
            .or_insert(Bucket {
                tokens: budget.capacity,
                at_ms: now_ms,
            });
        let elapsed = now_ms.saturating_sub(b.at_ms) as f64 / 1000.0;
        b.tokens = (b.tokens + elapsed * budget.per_second).min(budget.capacity);
        b.at_ms = now_ms;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Take::Ok(b.tokens.floor() as u64)
        } else {
            let wait = if budget.per_second > 0.0 {
                ((1.0 - b.tokens) / budget.per_second).ceil() as u64
            } else {
                3600
            };
            Take::Throttled(wait.max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_drain_and_refill() {
        let mut l = Limits::default();
        l.set(
            Budget::READS,
            Budget {
                capacity: 2.0,
                per_second: 1.0,
            },
        );
        assert!(matches!(l.take("s", true, 0), Take::Ok(1)));
        assert!(matches!(l.take("s", true, 0), Take::Ok(0)));
        assert!(matches!(l.take("s", true, 0), Take::Throttled(1)));
        assert!(
            matches!(l.take("other", true, 0), Take::Ok(1)),
            "per subscription"
        );
        assert!(
            matches!(l.take("s", true, 1000), Take::Ok(0)),
            "refilled after a second"
        );
        assert!(
            matches!(l.take("s", false, 0), Take::Ok(_)),
            "reads are separate"
        );
    }
}
