//! Byte-exact BFD Control packet vectors (RFC 5880 §4.1–§4.4), written out
//! by hand from the RFC's layout, and the §6.8.6 reception checks in order.
//!
//! The MD5/SHA1 digests below were computed outside this crate (Python's
//! hashlib over the same hand-assembled bytes, key in the digest field);
//! each test also recomputes them with the md-5/sha1 crates' one-shot API
//! over bytes assembled here, never through `dataplane::bfd::auth`.

use arrayvec::ArrayVec;
use dataplane::bfd::auth::{AuthError, AuthSequence, seal, verify};
use dataplane::bfd::{
    AuthConfig, AuthKey, AuthSection, AuthType, BfdError, BfdPacket, BfdRepr, Diagnostic, State,
};
use md5::{Digest, Md5};
use sha1::Sha1;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Up, no flags but A as given, Detect Mult 3, My Disc 0x11223344, Your
/// Disc 0x55667788, 300 ms both ways, no Echo.
fn header(auth: bool, length: u8) -> Vec<u8> {
    let mut bytes = hex(&format!(
        "20 {:02x} 03 {length:02x} 11223344 55667788 000493e0 000493e0 00000000",
        if auth { 0xc4 } else { 0xc0 }
    ));
    assert_eq!(bytes.len(), 24);
    bytes.truncate(24);
    bytes
}

fn base_repr(auth: Option<AuthSection>) -> BfdRepr {
    BfdRepr {
        diag: Diagnostic::NoDiagnostic,
        state: State::Up,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 0x1122_3344,
        your_discriminator: 0x5566_7788,
        desired_min_tx_us: 300_000,
        required_min_rx_us: 300_000,
        required_min_echo_rx_us: 0,
        auth,
    }
}

fn emit(repr: &BfdRepr) -> Vec<u8> {
    let mut out = vec![0xaa; repr.buffer_len()];
    repr.emit(&mut BfdPacket::new_unchecked(&mut out[..]));
    seal(&mut out);
    out
}

fn parse(bytes: &[u8]) -> Result<BfdRepr, BfdError> {
    BfdRepr::parse(&BfdPacket::new_unchecked(bytes))
}

#[test]
fn control_packet_without_auth_decodes_field_by_field_and_reencodes() {
    let bytes = header(false, 24);
    let view = BfdPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(view.version(), 1);
    assert_eq!(view.diag(), Diagnostic::NoDiagnostic);
    assert_eq!(view.state(), State::Up);
    assert!(!view.poll() && !view.final_() && !view.auth_present() && !view.demand());
    assert_eq!(view.detect_mult(), 3);
    assert_eq!(view.length(), 24);
    assert_eq!(view.my_discriminator(), 0x1122_3344);
    assert_eq!(view.your_discriminator(), 0x5566_7788);
    assert_eq!(view.desired_min_tx(), 300_000);
    assert_eq!(view.required_min_rx(), 300_000);
    assert_eq!(view.required_min_echo_rx(), 0);
    let repr = BfdRepr::parse(&view).unwrap();
    assert_eq!(repr, base_repr(None));
    assert_eq!(repr.buffer_len(), 24);
    assert_eq!(emit(&repr), bytes);
}

#[test]
fn frr_style_initial_down_packet() {
    // What bfdd sends first: Down, Your Discriminator 0, 1 s slow TX,
    // 300 ms RX, 50 ms Echo RX.
    let bytes = hex("20 40 03 18 00000001 00000000 000f4240 000493e0 0000c350");
    let repr = parse(&bytes).unwrap();
    assert_eq!(repr.state, State::Down);
    assert_eq!(repr.your_discriminator, 0);
    assert_eq!(repr.desired_min_tx_us, 1_000_000);
    assert_eq!(repr.required_min_echo_rx_us, 50_000);
    assert_eq!(emit(&repr), bytes);
}

#[test]
fn each_flag_and_diag_sits_in_its_bit() {
    // (byte 0, byte 1) for one field each; everything else as in header().
    type Edit = fn(&mut BfdRepr);
    let cases: [(u8, u8, Edit); 7] = [
        (0x20, 0xe0, |r| r.poll = true),
        (0x20, 0xd0, |r| r.final_ = true),
        (0x20, 0xc8, |r| r.control_plane_independent = true),
        (0x20, 0xc2, |r| r.demand = true),
        (0x27, 0xc0, |r| r.diag = Diagnostic::AdministrativelyDown),
        (0x3f, 0xc0, |r| r.diag = Diagnostic::Unknown(31)),
        (0x21, 0x00, |r| {
            r.diag = Diagnostic::ControlDetectionTimeExpired;
            r.state = State::AdminDown;
        }),
    ];
    for (b0, b1, set) in cases {
        let mut repr = base_repr(None);
        set(&mut repr);
        let mut expected = header(false, 24);
        expected[0] = b0;
        expected[1] = b1;
        assert_eq!(emit(&repr), expected, "{repr:?}");
        assert_eq!(parse(&expected).unwrap(), repr);
    }
}

#[test]
fn simple_password_section_vector() {
    // §4.2: type 1, len 3 + 6, key id 5, "secret".
    let mut bytes = header(true, 33);
    bytes.extend(hex("01 09 05 736563726574"));
    let view = BfdPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(view.auth_type(), AuthType::SimplePassword);
    assert_eq!(view.auth_len(), 9);
    let repr = BfdRepr::parse(&view).unwrap();
    let section = AuthSection::SimplePassword {
        key_id: 5,
        password: ArrayVec::try_from(&b"secret"[..]).unwrap(),
    };
    assert_eq!(repr, base_repr(Some(section.clone())));
    assert_eq!(emit(&repr), bytes);

    let config = AuthConfig::single(
        AuthType::SimplePassword,
        AuthKey::new(5, b"secret").unwrap(),
    );
    assert_eq!(config.tx_section(0), Some(section.clone()));
    let mut seq = AuthSequence::new(0);
    assert_eq!(verify(&config, &mut seq, &bytes, &section, 3), Ok(()));
    let wrong = AuthConfig::single(
        AuthType::SimplePassword,
        AuthKey::new(5, b"secreT").unwrap(),
    );
    assert_eq!(
        verify(&wrong, &mut seq, &bytes, &section, 3),
        Err(AuthError::BadPassword)
    );
    let other_id = AuthConfig::single(
        AuthType::SimplePassword,
        AuthKey::new(6, b"secret").unwrap(),
    );
    assert_eq!(
        verify(&other_id, &mut seq, &bytes, &section, 3),
        Err(AuthError::UnknownKeyId(5))
    );
}

/// A keyed vector: the section with the key in the digest field, the
/// digest computed by hand over it, and the expected final bytes.
struct KeyedVector {
    auth_type: AuthType,
    key: &'static [u8],
    sequence: u32,
    /// From Python hashlib.
    digest_hex: &'static str,
}

fn keyed_vector_bytes(v: &KeyedVector) -> (Vec<u8>, Vec<u8>) {
    let (section_len, digest_len) = match v.auth_type {
        AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => (24u8, 16),
        _ => (28u8, 20),
    };
    let mut with_key = header(true, 24 + section_len);
    with_key.extend([u8::from(v.auth_type), section_len, 1, 0]);
    with_key.extend(v.sequence.to_be_bytes());
    let mut padded = v.key.to_vec();
    padded.resize(digest_len, 0);
    with_key.extend(&padded);
    // The independent route: the crates' one-shot API on these bytes.
    let digest: Vec<u8> = if digest_len == 16 {
        Md5::digest(&with_key).to_vec()
    } else {
        Sha1::digest(&with_key).to_vec()
    };
    assert_eq!(digest, hex(v.digest_hex), "hashlib and the crate agree");
    let mut sealed = with_key.clone();
    sealed[32..].copy_from_slice(&digest);
    (with_key, sealed)
}

fn check_keyed_vector(v: &KeyedVector) {
    let (_, expected) = keyed_vector_bytes(v);
    let config = AuthConfig::single(v.auth_type, AuthKey::new(1, v.key).unwrap());
    config.validate().unwrap();
    let repr = base_repr(config.tx_section(v.sequence));
    assert_eq!(emit(&repr), expected, "{:?}", v.auth_type);

    let parsed = parse(&expected).unwrap();
    let section = parsed.auth.clone().unwrap();
    assert_eq!(section.auth_type(), v.auth_type);
    assert_eq!(section.key_id(), 1);
    match &section {
        AuthSection::KeyedMd5 {
            sequence, digest, ..
        } => {
            assert_eq!(*sequence, v.sequence);
            assert_eq!(digest[..], hex(v.digest_hex)[..]);
        }
        AuthSection::KeyedSha1 { sequence, hash, .. } => {
            assert_eq!(*sequence, v.sequence);
            assert_eq!(hash[..], hex(v.digest_hex)[..]);
        }
        other => panic!("parsed {other:?}"),
    }
    // Re-emitting the parsed repr without sealing reproduces the bytes.
    let mut again = vec![0u8; parsed.buffer_len()];
    parsed.emit(&mut BfdPacket::new_unchecked(&mut again[..]));
    assert_eq!(again, expected);

    let mut seq = AuthSequence::new(0);
    assert_eq!(verify(&config, &mut seq, &expected, &section, 3), Ok(()));
    assert!(seq.rcv_known && seq.rcv == v.sequence);

    // Any flipped bit breaks the digest.
    for at in [0usize, 5, 23, 31, 40] {
        let mut tampered = expected.clone();
        tampered[at] ^= 0x01;
        let mut seq = AuthSequence::new(0);
        let result = parse(&tampered)
            .ok()
            .and_then(|p| p.auth)
            .map(|s| verify(&config, &mut seq, &tampered, &s, 3));
        assert!(
            matches!(result, None | Some(Err(_))),
            "byte {at} flipped still verifies"
        );
    }
    let wrong = AuthConfig::single(v.auth_type, AuthKey::new(1, b"not-the-key").unwrap());
    assert_eq!(
        verify(&wrong, &mut AuthSequence::new(0), &expected, &section, 3),
        Err(AuthError::BadDigest)
    );
}

#[test]
fn keyed_md5_vector() {
    check_keyed_vector(&KeyedVector {
        auth_type: AuthType::KeyedMd5,
        key: b"bfd-md5-key",
        sequence: 0x10,
        digest_hex: "032cb6d3049f710a04a487d3977ae0d7",
    });
}

#[test]
fn meticulous_keyed_md5_vector() {
    check_keyed_vector(&KeyedVector {
        auth_type: AuthType::MeticulousKeyedMd5,
        key: b"bfd-md5-key",
        sequence: 0xffff_fffe,
        digest_hex: "5b194b717a03851eabfe9dd317669c5d",
    });
}

#[test]
fn keyed_sha1_vector_with_a_full_20_byte_key() {
    check_keyed_vector(&KeyedVector {
        auth_type: AuthType::KeyedSha1,
        key: b"bfd-sha1-key-20bytes",
        sequence: 0x10,
        digest_hex: "15d6e57a74ff59084c706fda9fe7f8fae077c99f",
    });
}

#[test]
fn meticulous_keyed_sha1_vector_with_a_padded_key() {
    check_keyed_vector(&KeyedVector {
        auth_type: AuthType::MeticulousKeyedSha1,
        key: b"short",
        sequence: 7,
        digest_hex: "a74d02e73f52e1dd039503686c2d9ce396db4d11",
    });
}

/// §6.8.6 order: with several faults, the first rule in the RFC's order
/// is the one reported.
#[test]
fn reception_checks_fire_in_rfc_order() {
    let good = header(false, 24);
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        edit(&mut bytes);
        parse(&bytes)
    };
    // Version first, even with every later field wrong too.
    assert_eq!(
        with(&|b| {
            b[0] = 0x40;
            b[2] = 0;
            b[3] = 10;
        }),
        Err(BfdError::BadVersion(2))
    );
    // Length below 24, then below 26 with the A bit.
    assert_eq!(
        with(&|b| {
            b[3] = 23;
            b[2] = 0;
        }),
        Err(BfdError::BadLength(23))
    );
    assert_eq!(with(&|b| b[1] |= 0x04), Err(BfdError::BadLength(24)));
    // Length beyond the payload.
    assert_eq!(with(&|b| b[3] = 25), Err(BfdError::Truncated));
    // Detect Mult zero before Multipoint.
    assert_eq!(
        with(&|b| {
            b[2] = 0;
            b[1] |= 0x01;
        }),
        Err(BfdError::ZeroDetectMult)
    );
    // Multipoint before My Discriminator.
    assert_eq!(
        with(&|b| {
            b[1] |= 0x01;
            b[4..8].fill(0);
        }),
        Err(BfdError::Multipoint)
    );
    // My Discriminator before Your Discriminator.
    assert_eq!(
        with(&|b| {
            b[4..8].fill(0);
            b[8..12].fill(0);
        }),
        Err(BfdError::ZeroMyDiscriminator)
    );
    // Your Discriminator zero: fine in Down/AdminDown, not in Init/Up.
    for (state_bits, ok) in [(0x00u8, true), (0x40, true), (0x80, false), (0xc0, false)] {
        let result = with(&|b| {
            b[1] = state_bits;
            b[8..12].fill(0);
        });
        assert_eq!(result.is_ok(), ok, "state bits {state_bits:#x}: {result:?}");
    }
    assert_eq!(parse(&good[..23]), Err(BfdError::Truncated));
    assert_eq!(parse(&[]), Err(BfdError::Truncated));
}

#[test]
fn auth_section_format_errors() {
    let section = |bytes: &str| {
        let extra = hex(bytes);
        let mut packet = header(true, 24 + extra.len() as u8);
        packet.extend(extra);
        parse(&packet)
    };
    assert!(section("01 04 01 41").is_ok(), "1-byte password");
    assert_eq!(
        section("01 03 01"),
        Err(BfdError::BadAuthLen),
        "empty password"
    );
    assert_eq!(
        section(&format!("01 14 01 {}", "41".repeat(17))),
        Err(BfdError::BadAuthLen),
        "17-byte password"
    );
    // Auth Len disagreeing with Length.
    assert_eq!(section("01 05 01 41"), Err(BfdError::BadAuthLen));
    // MD5 needs exactly 24, SHA1 exactly 28.
    assert_eq!(
        section(&format!("02 1c 01 00 {}", "00".repeat(24))),
        Err(BfdError::BadAuthLen)
    );
    assert_eq!(
        section(&format!("04 18 01 00 {}", "00".repeat(20))),
        Err(BfdError::BadAuthLen)
    );
    assert_eq!(section("00 04 01 41"), Err(BfdError::UnknownAuthType(0)));
    assert_eq!(section("06 04 01 41"), Err(BfdError::UnknownAuthType(6)));
}

#[test]
fn bytes_past_length_are_not_part_of_the_packet() {
    // UDP payload padding after Length, and (A clear) a Length above 24:
    // the RFC discards neither; the digest covers Length bytes only.
    let mut padded = header(false, 24);
    padded.extend([0xde, 0xad]);
    assert_eq!(parse(&padded), Ok(base_repr(None)));
    assert_eq!(BfdPacket::new_unchecked(&padded[..]).packet().len(), 24);
    let mut longer = header(false, 26);
    longer.extend([0, 0]);
    assert_eq!(parse(&longer), Ok(base_repr(None)));
}

#[test]
fn accessors_on_short_buffers_read_zero_and_setters_write_nothing() {
    let short = [0x20u8, 0xc0, 3];
    let view = BfdPacket::new_unchecked(&short[..]);
    assert_eq!(view.length(), 0);
    assert_eq!(view.my_discriminator(), 0);
    assert_eq!(view.auth_section(), &[] as &[u8]);
    assert!(BfdPacket::new_checked(&short[..]).is_err());
    let mut buf = [0u8; 5];
    let mut view = BfdPacket::new_unchecked(&mut buf[..]);
    view.set_required_min_echo_rx(7);
    view.set_my_discriminator(0x0102_0304); // needs bytes 4..8: not written
    view.set_detect_mult(9);
    assert!(view.auth_section_mut().is_empty());
    assert_eq!(buf, [0, 0, 9, 0, 0]);
}
