//! UdpRepr::parse and both checksum families. A parsed repr re-emitted
//! parses back equal; a filled checksum always verifies.
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use dataplane::packet::udp::{self, UdpPacket, UdpRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = UdpPacket::new_unchecked(data);
    let _ = packet.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST);
    if let Ok(repr) = UdpRepr::parse(&packet) {
        let mut out = vec![0u8; udp::HEADER_LEN + usize::from(repr.payload_len)];
        let mut view = UdpPacket::new_unchecked(&mut out[..]);
        repr.emit(&mut view);
        view.payload_mut().copy_from_slice(packet.payload());
        view.fill_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST);
        assert!(view.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST));
        view.fill_checksum_v6(&Ipv6Addr::LOCALHOST, &Ipv6Addr::UNSPECIFIED);
        assert!(view.verify_checksum_v6(&Ipv6Addr::LOCALHOST, &Ipv6Addr::UNSPECIFIED));
        assert_eq!(
            UdpRepr::parse(&UdpPacket::new_checked(&out[..]).unwrap()),
            Ok(repr)
        );
    }
});
