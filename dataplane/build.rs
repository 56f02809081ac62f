//! Compiles the XDP program that steers frames to AF_XDP sockets
//! (`xdp/redirect.c`) into `$OUT_DIR/redirect.o`, which the AF_XDP backend
//! embeds and loads at run time.

use std::path::PathBuf;
use std::process::Command;

const SOURCE: &str = "xdp/redirect.c";

fn main() {
    println!("cargo::rerun-if-changed={SOURCE}");
    println!("cargo::rerun-if-env-changed=CLANG");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out_dir.join("redirect.o");
    let clang = std::env::var_os("CLANG").unwrap_or_else(|| "clang".into());
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-c", SOURCE, "-o"])
        .arg(&object)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => {
            eprintln!("error: clang failed to compile {SOURCE} ({status})");
            std::process::exit(1);
        }
        Err(err) => {
            eprintln!(
                "error: cannot run {} ({err}): install the Debian package clang (apt-get install clang) to build the XDP program",
                clang.to_string_lossy()
            );
            std::process::exit(1);
        }
    }
}
