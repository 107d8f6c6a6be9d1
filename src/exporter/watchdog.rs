//! The watchdog's arithmetic: when a connection's current [`Phase`] runs out of time.
//!
//! The watchdog itself is the timer that [`serve`](super::connection::serve) polls together
//! with the connection; this module says which limit applies to which phase, and adds
//! durations without overflowing when a limit means "no limit".

use std::time::Duration;

use tokio::time::Instant;

use super::builder::Limits;
use super::slots::{Phase, SlotRef};

/// When the current phase of the connection in `slot` runs out of time.
pub(crate) fn deadline(slot: &SlotRef, limits: &Limits) -> Instant {
    let current = slot.slot();
    let allowed = match current.phase() {
        Phase::Idle => limits.idle,
        Phase::ReadingHead => limits.header_read,
        Phase::Responding => limits.response,
    };
    later(later(slot.slots().epoch(), current.since()), allowed)
}

/// `instant + duration`, saturating instead of panicking when a limit is set to something
/// like `Duration::MAX` ("no limit"): a century from now is never reached.
pub(crate) fn later(instant: Instant, duration: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    instant
        .checked_add(duration.min(CENTURY))
        .unwrap_or(instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_limits_do_not_overflow() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now + Duration::from_secs(1_000_000));
        assert_eq!(later(now, Duration::ZERO), now);
    }
}
