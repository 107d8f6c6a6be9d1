//! Writes the promstatic side of the scrape workload: one `#[metric]` counter static per
//! series, for each series count the benches use, plus a slice of them so a bench can set
//! their values. Generated rather than written out because 10,000 declarations would bury
//! the benches; generated rather than built at run time because the static table is the path
//! being measured.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Keep in step with `workload::SERIES_COUNTS`.
const SERIES_COUNTS: [usize; 2] = [1_000, 10_000];

fn main() {
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        // Cargo always sets OUT_DIR for build scripts; without it there is nowhere to write.
        eprintln!("OUT_DIR is not set: run this build script through cargo");
        std::process::exit(1);
    };
    for count in SERIES_COUNTS {
        let mut code = String::new();
        for index in 0..count {
            // Name, HELP and order mirror `workload::series_name` and `workload::series_help`.
            let _ = write!(
                code,
                "/// Series {index} of the benchmark workload.\n\
                 #[::promstatic::metric]\n\
                 static BENCH_SERIES_{index:05}_TOTAL: ::promstatic::Counter = \
                 ::promstatic::Counter::new();\n"
            );
        }
        let _ = write!(
            code,
            "/// Every series of the workload, in index order.\n\
             static SERIES: [&::promstatic::Counter; {count}] = ["
        );
        for index in 0..count {
            let _ = write!(code, "&BENCH_SERIES_{index:05}_TOTAL,");
        }
        code.push_str("];\n");
        let path = PathBuf::from(&out_dir).join(format!("series_{count}.rs"));
        if let Err(error) = std::fs::write(&path, code) {
            eprintln!("cannot write {}: {error}", path.display());
            std::process::exit(1);
        }
    }
    println!("cargo::rerun-if-changed=build.rs");
}
