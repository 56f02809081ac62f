//! BfdRepr::parse on arbitrary bytes (a parsed repr re-emitted parses back
//! equal), then the engine's whole receive path — demultiplexing, GTSM,
//! authentication, the state machine — and a poll, none of which may panic.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use dataplane::bfd::{
    AuthConfig, AuthKey, AuthType, BfdCommand, BfdEngine, BfdPacket, BfdRepr, SessionKey,
    SessionParams,
};
use dataplane::fib::{Liveness, NextHopId};
use libfuzzer_sys::fuzz_target;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

fuzz_target!(|data: &[u8]| {
    let view = BfdPacket::new_unchecked(data);
    let _ = (
        view.packet(),
        view.auth_section(),
        view.auth_type(),
        view.length(),
    );
    if let Ok(repr) = BfdRepr::parse(&view) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut BfdPacket::new_unchecked(&mut out[..]));
        let again = BfdRepr::parse(&BfdPacket::new_checked(&out[..]).unwrap());
        assert_eq!(again, Ok(repr));
    }

    // Three control bytes: TTL, flags (multihop port, aim Your
    // Discriminator at a real session), then the datagram.
    let [ttl, flags, payload @ ..] = data else {
        return;
    };
    let liveness = Liveness::new(8);
    let mut engine = BfdEngine::new(0, 4);
    let sha1 = AuthConfig::single(AuthType::KeyedSha1, AuthKey::new(1, b"fuzz").unwrap());
    for (key, auth) in [
        (SessionKey::single_hop(0, LOCAL, PEER), None),
        (SessionKey::multihop(LOCAL, PEER), Some(sha1)),
    ] {
        let params = SessionParams {
            auth,
            ..SessionParams::default()
        };
        let guards = vec![NextHopId(1)];
        engine
            .apply(
                BfdCommand::Add {
                    key,
                    params,
                    guards,
                },
                0,
                &liveness,
            )
            .unwrap();
    }
    let mut payload = payload.to_vec();
    if flags & 2 != 0 && payload.len() >= 12 {
        let index = usize::from(flags >> 7);
        if let Some(session) = engine.sessions().nth(index) {
            payload[8..12].copy_from_slice(&session.local_discriminator.to_be_bytes());
        }
    }
    let dst_port = if flags & 1 != 0 { 4784 } else { 3784 };
    for now in [1_000_000u64, 2_000_000_000] {
        engine.receive(
            now, 0, PEER, LOCAL, *ttl, 49152, dst_port, &payload, &liveness,
        );
        engine.poll(now, &liveness, &mut |tx| {
            assert!(tx.len <= tx.payload.len())
        });
    }
    engine.drain_events(&mut |_| {});
});
