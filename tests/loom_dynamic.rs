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
//! shows that the model can fail. The recycling of a lost race's series is covered twice:
//! with recycling disabled, `a_lost_race_never_costs_a_series` and
//! `two_threads_inserting_the_same_new_key_make_one_series` fail (the third key finds no
//! series); with `abandon`'s Release and `recycle`'s Acquire weakened to `Relaxed`,
//! `a_series_recycled_while_it_is_abandoned_is_handed_over_whole` fails (the scrape shows the
//! loser's key under the recycled series).
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

/// Inserts `text` on a new model thread.
fn spawn_insert<const C: usize, const T: usize, const B: usize>(
    index: &Arc<SeriesIndex<C, T, B>>,
    text: &str,
) -> thread::JoinHandle<Result<usize, Full>> {
    let (index, text) = (Arc::clone(index), text.to_owned());
    thread::spawn(move || index.find_or_insert(&key(&text)))
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
        let other = spawn_insert(&index, "a");
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
        // second, the loser's series 0 cannot be given back: it is abandoned, and recycled by
        // the next insert. Either way the race cost no series.
        assert_eq!(index.find_or_insert(&key("b")), Ok(1 - series));
        assert_eq!(scrape(&index).len(), 2);
    });
}

#[test]
fn a_lost_race_never_costs_a_series() {
    // Two threads insert "a" while a third inserts "b". When "b" claims between the two
    // claims of "a", the loser cannot give its series back (it is not the last claim); the
    // series must come back through recycling, so a third key still fits in three series.
    // With recycling disabled (`recycle` refusing at once) this model fails.
    type Three = SeriesIndex<3, 8, 32>;
    bounded(|| {
        let index = Arc::new(Three::new());
        let other_a = spawn_insert(&index, "a");
        let b = spawn_insert(&index, "b");
        let mine = index.find_or_insert(&key("a"));
        let (other_a, b) = (other_a.join().unwrap(), b.join().unwrap());
        let (Ok(a), Ok(b)) = (mine, b) else {
            panic!("both fit: {mine:?} {b:?}");
        };
        assert_eq!(other_a, Ok(a), "both threads must get the same series");
        assert_ne!(a, b);
        assert_eq!(index.len(), 2);
        let c = index
            .find_or_insert(&key("c"))
            .expect("the lost race must not have used up the third series");
        let mut seen = scrape(&index);
        seen.sort();
        let mut expected = vec![
            (a, "a".to_owned()),
            (b, "b".to_owned()),
            (c, "c".to_owned()),
        ];
        expected.sort();
        assert_eq!(seen, expected);
        for (series, text) in [(a, "a"), (b, "b"), (c, "c")] {
            assert_eq!(index.find_or_insert(&key(text)), Ok(series));
        }
        assert_eq!(index.find_or_insert(&key("d")), Err(Full::Capacity));
    });
}

#[test]
fn a_series_recycled_while_it_is_abandoned_is_handed_over_whole() {
    // Capacity two: two threads race on "a" while the main thread inserts "b". When "b"
    // comes after both claims of "a", the only series it can get is the loser's, recycled
    // while the loser is still abandoning it; the key bytes are reused, so the loser's
    // writes must happen before the recycler's, or loom reports a data race on them
    // (weakening `abandon`'s Release or `recycle`'s Acquire to Relaxed makes this fail).
    bounded(|| {
        let index = Arc::new(Index::new());
        let inserters: Vec<_> = (0..2).map(|_| spawn_insert(&index, "a")).collect();
        let b = index.find_or_insert(&key("b"));
        let a: Vec<_> = inserters
            .into_iter()
            .map(|inserter| inserter.join().unwrap())
            .collect();
        // A lookup that got a series got the right one; one that did not found every series
        // claimed when it looked (the family was full for it: the overflow series).
        let mut expected = Vec::new();
        for (result, text) in [(a[0], "a"), (a[1], "a"), (b, "b")] {
            match result {
                Ok(series) => expected.push((series, text.to_owned())),
                Err(full) => assert_eq!(full, Full::Capacity),
            }
        }
        expected.sort();
        expected.dedup();
        let mut seen = scrape(&index);
        seen.sort();
        assert_eq!(seen, expected, "{a:?} {b:?}");
        assert!(
            seen.windows(2)
                .all(|pair| pair[0].0 != pair[1].0 && pair[0].1 != pair[1].1)
        );
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
        let other = spawn_insert(&index, &second);
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
        let other = spawn_insert(&index, "x");
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
