//! Icmpv4Repr::parse (checksum verified); a parsed repr re-emitted parses
//! back equal with a valid checksum.
#![no_main]

use dataplane::packet::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = Icmpv4Packet::new_unchecked(data);
    let _ = (packet.is_error(), packet.next_hop_mtu(), packet.gateway());
    if let Ok(repr) = Icmpv4Repr::parse(&packet) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
        let again = Icmpv4Packet::new_checked(&out[..]).unwrap();
        assert!(again.verify_checksum());
        assert_eq!(Icmpv4Repr::parse(&again), Ok(repr));
    }
});
