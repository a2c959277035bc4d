//! Per-API-key rolling-window rate limits, as the vendor applies them
//! (100 requests / 5 s and 1000 / 3 min by default there; off by default here).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    windows: Vec<(Duration, u32)>,
    hits: Mutex<HashMap<i64, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(per_5s: u32, per_3min: u32) -> Self {
        let mut windows = Vec::new();
        if per_5s > 0 {
            windows.push((Duration::from_secs(5), per_5s));
        }
        if per_3min > 0 {
            windows.push((Duration::from_secs(180), per_3min));
        }
        RateLimiter {
            windows,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Records a request of `key_id` at `now`; false when over a limit
    /// (the refused request is not counted).
    pub fn check(&self, key_id: i64, now: Instant) -> bool {
        if self.windows.is_empty() {
            return true;
        }
        let longest = self.windows.iter().map(|w| w.0).max().unwrap_or_default();
        let mut map = match self.hits.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let q = map.entry(key_id).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) > longest) {
            q.pop_front();
        }
        for (window, max) in &self.windows {
            let n = q
                .iter()
                .filter(|t| now.duration_since(**t) <= *window)
                .count();
            if n >= *max as usize {
                return false;
            }
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_window() {
        let r = RateLimiter::new(3, 5);
        let t0 = Instant::now();
        assert!(r.check(1, t0));
        assert!(r.check(1, t0));
        assert!(r.check(1, t0));
        assert!(!r.check(1, t0));
        assert!(r.check(2, t0), "keys are independent");
        let t1 = t0 + Duration::from_secs(6);
        assert!(r.check(1, t1));
        assert!(r.check(1, t1));
        assert!(!r.check(1, t1), "3-minute window: 5 used");
        let off = RateLimiter::new(0, 0);
        for _ in 0..1000 {
            assert!(off.check(1, t0));
        }
    }
}
