//! VlanRepr::parse, and emit reproduces the tag bytes exactly.
#![no_main]

use dataplane::packet::vlan::{VlanRepr, VlanTag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tag = VlanTag::new_unchecked(data);
    if let Ok(repr) = VlanRepr::parse(&tag) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut VlanTag::new_unchecked(&mut out[..]));
        assert_eq!(out[..], data[..repr.buffer_len()]);
    }
});
