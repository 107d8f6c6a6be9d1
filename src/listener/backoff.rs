//! Retry schedule: exponential backoff with equal jitter, inside a total budget.
//!
//! The first attempt runs at once. Retry `n` (counting from 1) waits for a delay drawn
//! uniformly from `[d / 2, d]`, where `d = min(cap, base × 2^(n-1))`: "equal jitter" keeps at
//! least half of the exponential delay (so retries do back off) while spreading instances that
//! restarted together. The last delay is shortened so that the final attempt lands on the
//! budget instead of past it.
//!
//! Time is passed in, never read here, so the schedule is tested without sleeping.

use std::time::Duration;

/// First retry delay before jitter.
pub(crate) const BASE: Duration = Duration::from_millis(50);
/// Longest delay between two attempts.
pub(crate) const CAP: Duration = Duration::from_secs(1);

/// The retry schedule of one bind.
#[derive(Debug)]
pub(crate) struct Backoff {
    budget: Duration,
    retries: u32,
    rng: SplitMix64,
}

impl Backoff {
    pub(crate) fn new(budget: Duration, seed: u64) -> Self {
        Self {
            budget,
            retries: 0,
            rng: SplitMix64(seed),
        }
    }

    /// Raises the budget to at least `budget` (a holder that is verifiably exiting).
    pub(crate) fn extend_to(&mut self, budget: Duration) {
        self.budget = self.budget.max(budget);
    }

    #[cfg(test)]
    pub(crate) fn budget(&self) -> Duration {
        self.budget
    }

    /// The delay before the next attempt, or `None` when the budget is spent.
    /// `elapsed` is the time since the first attempt started.
    pub(crate) fn next_delay(&mut self, elapsed: Duration) -> Option<Duration> {
        let remaining = self
            .budget
            .checked_sub(elapsed)
            .filter(|left| !left.is_zero())?;
        let ceiling = exponential(self.retries);
        self.retries = self.retries.saturating_add(1);
        let half = ceiling / 2;
        // `half` is at most 500 ms, so its nanoseconds fit in a u64 with room to spare.
        let half_nanos = half.as_nanos() as u64;
        let jitter = Duration::from_nanos(self.rng.next() % (half_nanos + 1));
        Some((half + jitter).min(remaining))
    }
}

/// `min(CAP, BASE × 2^retries)` without overflow.
fn exponential(retries: u32) -> Duration {
    let factor = 1u32.checked_shl(retries.min(31)).unwrap_or(u32::MAX);
    BASE.checked_mul(factor).map_or(CAP, |delay| delay.min(CAP))
}

/// A tiny non-cryptographic generator (SplitMix64): jitter needs spread, not secrecy, and a
/// `rand` dependency for eight lines is not worth it.
#[derive(Debug)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A seed that differs between processes and between calls: two instances restarted at the
/// same moment must not draw the same jitter.
pub(crate) fn seed() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    let local = 0u8;
    let stack = &local as *const u8 as u64;
    nanos ^ (u64::from(std::process::id()) << 32) ^ stack.rotate_left(17)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn delays_grow_exponentially_with_equal_jitter_up_to_the_cap() {
        for seed in 0..200 {
            let mut backoff = Backoff::new(Duration::from_secs(3600), seed);
            for retry in 0..12u32 {
                let ceiling = (ms(50) * 2u32.pow(retry)).min(ms(1000));
                let delay = backoff.next_delay(Duration::ZERO).unwrap();
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "retry {retry}: {delay:?} vs {ceiling:?}"
                );
            }
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let draws: std::collections::BTreeSet<_> = (0..50)
            .map(|seed| {
                Backoff::new(ms(10_000), seed)
                    .next_delay(Duration::ZERO)
                    .unwrap()
            })
            .collect();
        assert!(draws.len() > 40, "{draws:?}");
    }

    #[test]
    fn schedule_stays_inside_the_budget_and_ends() {
        for seed in 0..100 {
            let budget = ms(10_000);
            let mut backoff = Backoff::new(budget, seed);
            let mut now = Duration::ZERO;
            let mut attempts = 1;
            while let Some(delay) = backoff.next_delay(now) {
                now += delay;
                attempts += 1;
                assert!(now <= budget);
            }
            assert_eq!(now, budget, "the last attempt lands on the budget");
            // 50..1000 ms steps: at least 10 attempts fit in 10 s, and fewer than 10 s / 25 ms.
            assert!((10..400).contains(&attempts), "{attempts}");
        }
    }

    #[test]
    fn budget_can_be_extended_for_a_dying_holder() {
        let mut backoff = Backoff::new(ms(3000), 7);
        assert_eq!(backoff.next_delay(ms(3000)), None);
        backoff.extend_to(ms(30_000));
        assert!(backoff.next_delay(ms(3000)).is_some());
        backoff.extend_to(ms(1000));
        assert_eq!(backoff.budget(), ms(30_000), "extending never shrinks");
    }

    #[test]
    fn exponential_saturates() {
        assert_eq!(exponential(0), ms(50));
        assert_eq!(exponential(4), ms(800));
        assert_eq!(exponential(5), ms(1000));
        assert_eq!(exponential(u32::MAX), ms(1000));
    }
}
