//! Ipv6Repr::parse and the extension-header walk; a parsed repr re-emitted
//! parses back equal, and the walk never points past the payload.
#![no_main]

use dataplane::packet::ipv6::{self, Ipv6Packet, Ipv6Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = Ipv6Packet::new_unchecked(data);
    if let Ok(upper) = packet.upper_layer() {
        assert!(upper.offset >= ipv6::HEADER_LEN);
        assert!(upper.offset <= data.len());
    }
    if let Ok(repr) = Ipv6Repr::parse(&packet) {
        if let Ok(upper) = packet.upper_layer() {
            assert!(upper.offset <= ipv6::HEADER_LEN + usize::from(repr.payload_len));
        }
        let mut out = vec![0u8; ipv6::HEADER_LEN + usize::from(repr.payload_len)];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
        assert_eq!(out[..ipv6::HEADER_LEN], data[..ipv6::HEADER_LEN]);
        assert_eq!(
            Ipv6Repr::parse(&Ipv6Packet::new_checked(&out[..]).unwrap()),
            Ok(repr)
        );
    }
});
