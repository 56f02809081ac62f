//! Compiles the XDP programs of `vrperf fwd` (`bpf/*.c`) into `$OUT_DIR`,
//! where the binary embeds them: the live-frames traffic generator and
//! the sink's counter.

use std::path::PathBuf;
use std::process::Command;

const SOURCES: [&str; 2] = ["live_frames_gen", "sink_counter"];

fn main() {
    println!("cargo::rerun-if-env-changed=CLANG");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let clang = std::env::var_os("CLANG").unwrap_or_else(|| "clang".into());
    for name in SOURCES {
        let source = format!("bpf/{name}.c");
        println!("cargo::rerun-if-changed={source}");
        let object = out_dir.join(format!("{name}.o"));
        let status = Command::new(&clang)
            .args(["-O2", "-g", "-target", "bpf", "-c", &source, "-o"])
            .arg(&object)
            .status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("error: clang failed to compile {source} ({status})");
                std::process::exit(1);
            }
            Err(err) => {
                eprintln!(
                    "error: cannot run {} ({err}): install the Debian package clang (apt-get install clang) to build the XDP programs",
                    clang.to_string_lossy()
                );
                std::process::exit(1);
            }
        }
    }
}
