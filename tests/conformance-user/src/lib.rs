//! A stand-in for a user's crate: a job runner with a few metrics of every kind, and the code
//! that updates them. Its tests (`tests/properties.rs`) property-test the expositions of these
//! metrics through promstatic's public conformance kit only, as a user would.

use promstatic::{CounterFamily, FloatGauge, Gauge, Histogram, LabelValue, metric};

/// How a job ended.
#[derive(LabelValue, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It finished.
    Done,
    /// It failed and will not run again.
    Failed,
    /// It failed and was queued again; a value with a quote and a backslash, to be escaped.
    #[label(rename = "retried \"later\" \\ soon")]
    Retried,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 3] = [Outcome::Done, Outcome::Failed, Outcome::Retried];

    /// The label value as it appears (unescaped) in an exposition.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failed => "failed",
            Outcome::Retried => "retried \"later\" \\ soon",
        }
    }
}

/// Jobs finished, by outcome.
#[metric(labels(outcome: Outcome))]
pub static USER_JOBS_TOTAL: CounterFamily = CounterFamily::new();

/// Jobs waiting to run.
#[metric]
pub static USER_QUEUE_DEPTH: Gauge = Gauge::new();

/// Time to run one job, in seconds.
#[metric(buckets = [0.005, 0.05, 0.5, 5.0])]
pub static USER_JOB_SECONDS: Histogram = Histogram::new();

/// Share of workers busy: a "ratio" in [0, 1], or whatever a buggy caller sets.
#[metric]
pub static USER_WORKERS_BUSY_RATIO: FloatGauge = FloatGauge::new();

/// Records one finished job.
pub fn job_finished(outcome: Outcome, seconds: f64) {
    USER_JOBS_TOTAL.with(outcome).inc();
    USER_JOB_SECONDS.observe(seconds);
}

/// Records the queue and the workers.
pub fn load(queued: i64, busy_ratio: f64) {
    USER_QUEUE_DEPTH.set(queued);
    USER_WORKERS_BUSY_RATIO.set(busy_ratio);
}
