//! Property tests of the BFD packet code: nothing from the wire panics,
//! emit → parse round-trips every valid packet, and every truncation is
//! refused.

use std::net::{IpAddr, Ipv4Addr};

use arrayvec::ArrayVec;
use dataplane::bfd::{
    AuthConfig, AuthKey, AuthSection, AuthType, BfdCommand, BfdEngine, BfdPacket, BfdRepr,
    Diagnostic, SessionKey, SessionParams, State,
};
use dataplane::fib::{Liveness, NextHopId};
use proptest::prelude::*;

fn state() -> impl Strategy<Value = State> {
    (0u8..4).prop_map(State::from_bits)
}

fn auth_section() -> impl Strategy<Value = Option<AuthSection>> {
    prop_oneof![
        Just(None),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 1..=16)).prop_map(|(key_id, pw)| {
            Some(AuthSection::SimplePassword {
                key_id,
                password: ArrayVec::try_from(&pw[..]).unwrap(),
            })
        }),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 16]>()).prop_map(
            |(meticulous, key_id, sequence, digest)| Some(AuthSection::KeyedMd5 {
                meticulous,
                key_id,
                sequence,
                digest
            })
        ),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 20]>()).prop_map(
            |(meticulous, key_id, sequence, hash)| Some(AuthSection::KeyedSha1 {
                meticulous,
                key_id,
                sequence,
                hash
            })
        ),
    ]
}

prop_compose! {
    fn valid_repr()(
        diag in 0u8..32,
        state in state(),
        poll in any::<bool>(),
        final_ in any::<bool>(),
        control_plane_independent in any::<bool>(),
        demand in any::<bool>(),
        detect_mult in 1u8..,
        my_discriminator in 1u32..,
        your in any::<u32>(),
        desired_min_tx_us in any::<u32>(),
        required_min_rx_us in any::<u32>(),
        required_min_echo_rx_us in any::<u32>(),
        auth in auth_section(),
    ) -> BfdRepr {
        // Your Discriminator may be zero only in Down/AdminDown (§6.8.6).
        let your_discriminator = match state {
            State::Init | State::Up if your == 0 => 1,
            _ => your,
        };
        BfdRepr {
            diag: Diagnostic::from(diag),
            state,
            poll,
            final_,
            control_plane_independent,
            demand,
            detect_mult,
            my_discriminator,
            your_discriminator,
            desired_min_tx_us,
            required_min_rx_us,
            required_min_echo_rx_us,
            auth,
        }
    }
}

fn emit(repr: &BfdRepr) -> Vec<u8> {
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut BfdPacket::new_unchecked(&mut out[..]));
    out
}

/// Exercises every accessor; none may panic, whatever the buffer.
fn read_everything(bytes: &[u8]) {
    let view = BfdPacket::new_unchecked(bytes);
    let _ = (
        view.version(),
        view.diag(),
        view.state(),
        view.poll(),
        view.final_(),
        view.control_plane_independent(),
        view.auth_present(),
        view.demand(),
        view.multipoint(),
        view.detect_mult(),
        view.length(),
        view.my_discriminator(),
        view.your_discriminator(),
        view.desired_min_tx(),
        view.required_min_rx(),
        view.required_min_echo_rx(),
        view.auth_type(),
        view.auth_len(),
        view.packet(),
        view.auth_section(),
    );
    let _ = BfdPacket::new_checked(bytes);
    let _ = BfdRepr::parse(&view);
}

/// Arbitrary bytes that often look like a BFD packet: version 1, a
/// plausible length and, half the time, an auth section header.
fn bfd_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(any::<u8>(), 0..80),
        any::<bool>(),
        1u8..7,
        any::<bool>(),
    )
        .prop_map(|(mut bytes, fix_header, auth_type, auth)| {
            if fix_header && bytes.len() >= 26 {
                bytes[0] = 0x20 | (bytes[0] & 0x1f);
                bytes[1] = (bytes[1] & 0xfa) | if auth { 0x04 } else { 0 };
                bytes[3] = bytes.len().min(255) as u8;
                if auth {
                    bytes[24] = auth_type;
                    bytes[25] = (bytes.len() - 24) as u8;
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in bfd_like_bytes()) {
        read_everything(&bytes);
    }

    #[test]
    fn emit_then_parse_round_trips(repr in valid_repr()) {
        let bytes = emit(&repr);
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        let view = BfdPacket::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(usize::from(view.length()), bytes.len());
        prop_assert_eq!(BfdRepr::parse(&view), Ok(repr));
    }

    #[test]
    fn every_truncation_is_refused(repr in valid_repr()) {
        let bytes = emit(&repr);
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            prop_assert!(BfdRepr::parse(&BfdPacket::new_unchecked(cut)).is_err(), "len {}", len);
            prop_assert!(BfdPacket::new_checked(cut).is_err(), "len {}", len);
            read_everything(cut);
        }
    }

    /// The engine's whole receive path on hostile input: no panic, and a
    /// datagram that fails to parse never changes a session.
    #[test]
    fn engine_receive_never_panics(
        packets in prop::collection::vec((bfd_like_bytes(), any::<u8>(), any::<bool>(), any::<bool>()), 1..16),
    ) {
        let local = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let peer = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let liveness = Liveness::new(8);
        let mut engine = BfdEngine::new(3, 4);
        let sha = AuthConfig::single(AuthType::MeticulousKeyedSha1, AuthKey::new(1, b"k").unwrap());
        engine.apply(BfdCommand::Add {
            key: SessionKey::single_hop(0, local, peer),
            params: SessionParams::default(),
            guards: vec![NextHopId(1)],
        }, 0, &liveness).unwrap();
        engine.apply(BfdCommand::Add {
            key: SessionKey::multihop(local, peer),
            params: SessionParams { auth: Some(sha), ..SessionParams::default() },
            guards: vec![NextHopId(2)],
        }, 0, &liveness).unwrap();
        for (i, (bytes, ttl, multihop, use_disc)) in packets.into_iter().enumerate() {
            let mut bytes = bytes;
            if use_disc && bytes.len() >= 12 {
                // Point Your Discriminator at a real session now and then.
                let disc = engine.sessions().next().unwrap().local_discriminator;
                bytes[8..12].copy_from_slice(&disc.to_be_bytes());
            }
            let port = if multihop { 4784 } else { 3784 };
            let now = i as u64 * 1_000_000;
            let parses = BfdRepr::parse(&BfdPacket::new_unchecked(&bytes[..])).is_ok();
            let before: Vec<_> = engine.sessions().map(|s| (s.state, s.counters.rx)).collect();
            engine.receive(now, 0, peer, local, ttl, 49152, port, &bytes, &liveness);
            if !parses {
                let after: Vec<_> = engine.sessions().map(|s| (s.state, s.counters.rx)).collect();
                prop_assert_eq!(before, after);
            }
            engine.poll(now, &liveness, &mut |_| {});
        }
    }
}
