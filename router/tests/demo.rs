//! The README's first command works: `vrouterd demo` (namespaces, root)
//! and `vrouterd demo --in-memory` (anyone).

mod support;

use std::process::Command;

fn vrouterd(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vrouterd"))
        .args(args)
        .output()
        .expect("run vrouterd");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn in_memory_demo_fails_over_and_back() {
    let (ok, text) = vrouterd(&[
        "demo",
        "--in-memory",
        "--routes",
        "20000",
        "--packets",
        "1000",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("gw1 1000, gw2 0") && text.contains("gw1 0, gw2 1000"),
        "{text}"
    );
    assert!(text.contains("demo OK"), "{text}");
}

#[test]
fn namespace_demo_fails_over_and_back() {
    if support::skip_unless_root() {
        return;
    }
    let (ok, text) = vrouterd(&["demo"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("answered via gw2") && text.contains("answered via gw1 again"),
        "{text}"
    );
    assert!(text.contains("demo OK"), "{text}");
}
