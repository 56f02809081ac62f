//! Ipv4Repr::parse and the options iterator; a parsed repr re-emitted
//! parses back equal, and options re-emit to their original bytes.
#![no_main]

use dataplane::packet::ipv4::{Ipv4Packet, Ipv4Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = Ipv4Packet::new_unchecked(data);
    let mut at = 0;
    let options = packet.options();
    for option in packet.options_iter() {
        let Ok(option) = option else { break };
        let mut out = vec![0u8; option.wire_len()];
        assert_eq!(option.emit(&mut out), Some(out.len()));
        assert_eq!(out[..], options[at..at + out.len()]);
        at += out.len();
    }
    if let Ok(repr) = Ipv4Repr::parse(&packet) {
        let mut out = vec![0u8; repr.total_len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(
            Ipv4Repr::parse(&Ipv4Packet::new_checked(&out[..]).unwrap()),
            Ok(repr)
        );
    }
});
