//! EthernetRepr::parse, and emit → parse gives back the same repr.
#![no_main]

use dataplane::packet::ethernet::{EthernetFrame, EthernetRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frame = EthernetFrame::new_unchecked(data);
    if let Ok(repr) = EthernetRepr::parse(&frame) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
        assert_eq!(out[..], data[..repr.buffer_len()]);
        assert_eq!(
            EthernetRepr::parse(&EthernetFrame::new_unchecked(&out[..])),
            Ok(repr)
        );
    }
});
