//! TcpPacket (no repr: the router only reads TCP): every accessor, and a
//! filled checksum always verifies.
#![no_main]

use std::net::Ipv4Addr;

use dataplane::packet::tcp::TcpPacket;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = TcpPacket::new_unchecked(data);
    let _ = (
        packet.src_port(),
        packet.dst_port(),
        packet.seq_number(),
        packet.ack_number(),
    );
    let _ = (
        packet.flags(),
        packet.window_len(),
        packet.options(),
        packet.payload(),
    );
    if let Ok(packet) = TcpPacket::new_checked(data) {
        assert!(packet.header_len() >= 20 && packet.header_len() <= data.len());
        let mut copy = data.to_vec();
        let mut view = TcpPacket::new_unchecked(&mut copy[..]);
        view.fill_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST);
        assert!(view.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST));
    }
});
