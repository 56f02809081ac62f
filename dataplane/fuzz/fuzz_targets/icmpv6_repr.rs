//! Icmpv6Repr::parse with NDP validation. The first 32 input bytes are the
//! pseudo-header's source and destination; the rest is the message. A
//! parsed repr re-emitted parses back equal.
#![no_main]

use std::net::Ipv6Addr;

use dataplane::packet::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((addrs, message)) = data.split_first_chunk::<32>() else {
        return;
    };
    let (src, dst) = addrs.split_at(16);
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(src).unwrap());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(dst).unwrap());
    let packet = Icmpv6Packet::new_unchecked(message);
    for option in packet.ndp_options() {
        if option.is_err() {
            break;
        }
    }
    if let Ok(repr) = Icmpv6Repr::parse(&src, &dst, &packet) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut out[..]));
        let again = Icmpv6Packet::new_checked(&out[..]).unwrap();
        assert!(again.verify_checksum(&src, &dst));
        assert_eq!(Icmpv6Repr::parse(&src, &dst, &again), Ok(repr));
    }
});
