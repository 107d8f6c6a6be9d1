//! Writes the promstatic side of the scrape workload: one `#[metric]` counter static per
//! series, for each series count the benches use, plus an array of them so a bench can set
//! their values. Generated rather than written out because 10,000 declarations would bury
//! the benches; generated rather than built at run time because the static table is the path
//! being measured. Names, HELP and counts come from the workload module every library uses.

use std::fmt::Write as _;
use std::path::PathBuf;

#[allow(dead_code, unreachable_pub)]
#[path = "src/workload.rs"]
mod workload;

fn main() {
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        // Cargo always sets OUT_DIR for build scripts; without it there is nowhere to write.
        eprintln!("OUT_DIR is not set: run this build script through cargo");
        std::process::exit(1);
    };
    for count in workload::SERIES_COUNTS {
        let mut code = String::new();
        for index in 0..count {
            // `#[metric]` names the metric after the static, in lower case.
            let _ = write!(
                code,
                "/// {}\n#[::promstatic::metric]\nstatic {}: ::promstatic::Counter = \
                 ::promstatic::Counter::new();\n",
                workload::series_help(index),
                workload::series_name(index).to_uppercase()
            );
        }
        let _ = write!(
            code,
            "/// Every series of the workload, in index order.\n\
             static SERIES: [&::promstatic::Counter; {count}] = ["
        );
        for index in 0..count {
            let _ = write!(code, "&{},", workload::series_name(index).to_uppercase());
        }
        code.push_str("];\n");
        let path = PathBuf::from(&out_dir).join(format!("series_{count}.rs"));
        if let Err(error) = std::fs::write(&path, code) {
            eprintln!("cannot write {}: {error}", path.display());
            std::process::exit(1);
        }
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/workload.rs");
}
