//! ArpRepr::parse, and emit reproduces the 28 ARP bytes exactly.
#![no_main]

use dataplane::packet::arp::{ArpPacket, ArpRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = ArpPacket::new_unchecked(data);
    if let Ok(repr) = ArpRepr::parse(&packet) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        assert_eq!(out[..], data[..repr.buffer_len()]);
    }
});
