//! A `loom` model of the dynamic families' insert and publish protocol (see
//! `src/dynamic/index.rs`), run on the real `SeriesIndex` code: under `--cfg promstatic_loom`
//! the index takes its atomics and its key bytes from `loom` (`src/sync.rs`).
//!
//! Run: `RUSTFLAGS="--cfg promstatic_loom" cargo test --release --test loom_dynamic`
//!
//! loom runs every interleaving and every value the memory model lets each load see. The key
//! bytes are loom cells, so a read of key bytes that is not ordered after their write (a
//! missing `Release`/`Acquire` pair) fails the model as a data race, on top of the checks
//! below: exactly one series per label set, the right bytes under it, and a scrape that only
//! ever sees complete, published series.
//!
//! The models with three threads (two inserters and a scrape) bound loom's search to three
//! preemptions per execution, the usual bound (most concurrency bugs need two or fewer);
//! `LOOM_MAX_PREEMPTIONS` overrides it. Weakening the entry's publishing compare-exchange
//! to `Relaxed` makes `two_threads_inserting_the_same_new_key_make_one_series` fail, which
//! shows that the model can fail.
#![cfg(promstatic_loom)]

use loom::sync::Arc;
use loom::thread;
use promstatic::dynamic::{Full, LabelText, SeriesIndex};

type Index = SeriesIndex<2, 4, 16>;

/// Runs `model` under loom with at most three preemptions (unless `LOOM_MAX_PREEMPTIONS`).
fn bounded(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(model);
}

fn key(text: &str) -> [LabelText<'_>; 1] {
    [LabelText::Raw(text)]
}

/// What a scrape sees: (series, its values joined).
fn scrape<const C: usize, const T: usize, const B: usize>(
    index: &SeriesIndex<C, T, B>,
) -> Vec<(usize, String)> {
    let mut seen = Vec::new();
    index.for_each(|series, parts| seen.push((series, parts.collect::<Vec<_>>().join("|"))));
    seen
}

#[test]
fn two_threads_inserting_the_same_new_key_make_one_series() {
    bounded(|| {
        let index = Arc::new(Index::new());
        // One inserter on its own thread, one on the model's main thread, and a scrape on a
        // third (loom explores more schedules of spawned threads against the main one).
        let other = {
            let index = Arc::clone(&index);
            thread::spawn(move || index.find_or_insert(&key("a")))
        };
        let scraper = {
            let index = Arc::clone(&index);
            thread::spawn(move || scrape(&index))
        };
        let mine = index.find_or_insert(&key("a"));
        // A concurrent scrape sees nothing or the one complete series.
        let during = scraper.join().unwrap();
        assert!(
            during.is_empty() || during == [(during[0].0, "a".to_owned())],
            "{during:?}"
        );
        let results = [mine, other.join().unwrap()];
        let series = results[0].unwrap();
        assert_eq!(
            results[1],
            Ok(series),
            "both threads must get the same series"
        );
        assert_eq!(scrape(&index), [(series, "a".to_owned())]);
        assert_eq!(index.len(), 1);
        // Later lookups find it.
        assert_eq!(index.find_or_insert(&key("a")), Ok(series));
        // The loser gave its claim back when it was the last one (the winner claimed series
        // 0, the loser 1): then the second series is still free. When the winner claimed
        // second, the loser's series 0 cannot be given back and is abandoned.
        match series {
            0 => assert_eq!(index.find_or_insert(&key("b")), Ok(1)),
            _ => assert_eq!(index.find_or_insert(&key("b")), Err(Full::Capacity)),
        }
        assert_eq!(scrape(&index).len(), if series == 0 { 2 } else { 1 });
    });
}

#[test]
fn two_threads_inserting_different_keys_on_one_probe_path_make_two_series() {
    // Two keys whose probes start at the same entry, so one thread's compare-exchange fails
    // and it must compare the winner's bytes and probe on with its claim.
    let first = "a".to_owned();
    let second = (0..1000)
        .map(|i| format!("b{i}"))
        .find(|candidate| Index::home(&key(candidate)) == Index::home(&key(&first)))
        .expect("a key with the same probe start");
    bounded(move || {
        let index = Arc::new(Index::new());
        let other = {
            let (index, second) = (Arc::clone(&index), second.clone());
            thread::spawn(move || index.find_or_insert(&key(&second)))
        };
        let scraper = {
            let index = Arc::clone(&index);
            thread::spawn(move || scrape(&index))
        };
        let mine = index.find_or_insert(&key(&first));
        for (_, text) in &scraper.join().unwrap() {
            assert!(*text == first || *text == second, "torn key {text:?}");
        }
        let results = [(mine, &first), (other.join().unwrap(), &second)];
        let (Ok(one), Ok(two)) = (results[0].0, results[1].0) else {
            panic!("both fit: {results:?}");
        };
        assert_ne!(one, two);
        let mut after = scrape(&index);
        after.sort();
        let mut expected = vec![(one, first.clone()), (two, second.clone())];
        expected.sort();
        assert_eq!(after, expected);
        assert_eq!(index.find_or_insert(&key(&second)), Ok(two));
    });
}

#[test]
fn a_full_index_refuses_the_loser_and_keeps_the_winner_whole() {
    type Small = SeriesIndex<1, 2, 8>;
    loom::model(|| {
        let index = Arc::new(Small::new());
        let other = {
            let index = Arc::clone(&index);
            thread::spawn(move || index.find_or_insert(&key("x")))
        };
        let mine = index.find_or_insert(&key("y"));
        let other = other.join().unwrap();
        // Exactly one of them got the only series; the other was refused, never given it.
        match (mine, other) {
            (Ok(0), Err(Full::Capacity)) => assert_eq!(scrape(&index), [(0, "y".to_owned())]),
            (Err(Full::Capacity), Ok(0)) => assert_eq!(scrape(&index), [(0, "x".to_owned())]),
            unexpected => panic!("{unexpected:?}"),
        }
    });
}
