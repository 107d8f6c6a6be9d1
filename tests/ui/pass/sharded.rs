//! The sharded metric types, with and without `buckets`.
use promstatic::{metric, ShardedCounter, ShardedHistogram};

/// Frames rendered by every thread.
#[metric]
static FRAMES_TOTAL: ShardedCounter = ShardedCounter::new();

/// Frame time, observed by every render thread.
#[metric(buckets = [0.001, 0.01, 0.1])]
static FRAME_SECONDS: ShardedHistogram = ShardedHistogram::new();

/// Default buckets.
#[metric]
static WORK_SECONDS: ShardedHistogram = ShardedHistogram::new();

fn main() {
    FRAMES_TOTAL.inc();
    FRAME_SECONDS.observe(0.005);
    WORK_SECONDS.observe(0.2);
    // `buckets` set the type's bound count: three bounds, so a `ShardedHistogram<3>`.
    let _: &ShardedHistogram<3> = &FRAME_SECONDS;
}
