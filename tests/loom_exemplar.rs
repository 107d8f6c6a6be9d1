//! A `loom` model of the exemplar slot's sequence lock (`src/exemplar.rs`), run on the real
//! slot code: under `--cfg promstatic_loom` the slot is built on loom's atomics and fences.
//!
//! Run: `RUSTFLAGS="--cfg promstatic_loom" cargo test --release --no-default-features --test loom_exemplar`
//! (with `CARGO_TARGET_DIR=target/loom` to keep the normal build's artefacts).
//!
//! Each writer stores a self-checking exemplar: its value and its label bytes are derived from
//! one number, and the labels fill both label words of the (two-word) slot, so a copy mixing
//! two writers' stores is recognisable. loom explores every interleaving and every value the
//! memory model lets each load return; the reader checks that any exemplar it gets is exactly
//! one writer's. The same models with the claim or the field accesses `Relaxed` (a test-only switch,
//! `promstatic::exemplar::weaken`) must fail, which shows that the check can fail.
#![cfg(promstatic_loom)]

use loom::sync::Arc;
use loom::thread;
use promstatic::exemplar::{EncodedLabels, ExemplarSlot, Snapshot, Stored, weaken};

/// Two words of label data: 16 bytes, exactly one pair of a 1-byte name and a 13-byte value.
const WORDS: usize = 2;

fn labels(writer: u8) -> EncodedLabels<WORDS> {
    let name = ((b'a' + writer) as char).to_string();
    let value = ((b'0' + writer) as char).to_string().repeat(13);
    EncodedLabels::new(&[(name.as_str(), value.as_str())]).expect("valid labels")
}

fn check(snapshot: &Snapshot<WORDS>) {
    let writer = snapshot.value() as u8;
    let pairs: Vec<(String, String)> = snapshot
        .labels()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let name = ((b'a' + writer) as char).to_string();
    let value = ((b'0' + writer) as char).to_string().repeat(13);
    assert_eq!(pairs, [(name, value)], "torn exemplar: {snapshot:?}");
    assert_eq!(snapshot.timestamp_nanos(), Some(u64::from(writer) * 1000));
}

fn store(slot: &ExemplarSlot<WORDS>, writer: u8) -> Stored {
    slot.store_at(f64::from(writer), u64::from(writer) * 1000, &labels(writer))
}

/// One exemplar is in the slot; a writer replaces it while a scrape reads.
fn replace_while_reading() {
    loom::model(|| {
        let slot = Arc::new(ExemplarSlot::<WORDS>::new());
        assert_eq!(store(&slot, 1), Stored::Stored);
        let writer = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || assert_eq!(store(&slot, 2), Stored::Stored))
        };
        if let Some(snapshot) = slot.read() {
            check(&snapshot);
        }
        writer.join().expect("writer");
        // After the writer is joined, its exemplar is the one read.
        let last = slot.read().expect("a stable slot is read");
        check(&last);
        assert_eq!(last.value(), 2.0);
    });
}

/// Two writers race for an empty slot while a scrape reads: at least one stores, a loser
/// skips, and no read is torn.
fn two_writers_and_a_reader() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let slot = Arc::new(ExemplarSlot::<WORDS>::new());
        let writers: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|writer| {
                let slot = Arc::clone(&slot);
                thread::spawn(move || store(&slot, writer))
            })
            .collect();
        if let Some(snapshot) = slot.read() {
            check(&snapshot);
        }
        let outcomes: Vec<Stored> = writers
            .into_iter()
            .map(|writer| writer.join().expect("writer"))
            .collect();
        assert!(outcomes.contains(&Stored::Stored), "{outcomes:?}");
        let last = slot.read().expect("a stable slot is read");
        check(&last);
    });
}

#[test]
fn slot_protocol() {
    // One test function: the weakening switch is process-wide.
    weaken::set(weaken::NONE);
    eprintln!("model: replace while reading");
    replace_while_reading();
    eprintln!("model: two writers and a reader");
    two_writers_and_a_reader();
    // Each weakening must let the model find a torn exemplar.
    for (mode, model, what) in [
        (
            weaken::ORDERINGS,
            replace_while_reading as fn(),
            "relaxed field accesses",
        ),
        (
            weaken::CLAIM,
            two_writers_and_a_reader as fn(),
            "a relaxed claim",
        ),
    ] {
        eprintln!("model: {what} (must fail)");
        weaken::set(mode);
        let weakened = std::panic::catch_unwind(model);
        weaken::set(weaken::NONE);
        assert!(
            weakened.is_err(),
            "with {what} the model must find a torn exemplar"
        );
    }
}
