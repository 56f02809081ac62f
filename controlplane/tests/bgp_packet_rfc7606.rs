//! RFC 7606 table: one test per UPDATE error case, asserting the exact
//! approach (treat-as-withdraw, attribute discard, session reset) and, for
//! resets, the NOTIFICATION code/subcode. Then the RFC 6793 §4.2.3
//! AS4_PATH/AS4_AGGREGATOR merge cases.

use std::net::Ipv4Addr;

use controlplane::bgp::packet::*;

fn hex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    assert!(
        digits.len().is_multiple_of(2),
        "odd number of hex digits in {text}"
    );
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

const ORIGIN: &str = "40 01 01 00";
const AS_PATH: &str = "40 02 06 02 01 0000fde9";
const AS_PATH_2: &str = "40 02 04 02 01 fde9";
const NEXT_HOP: &str = "40 03 04 c0000201";
const NLRI: &str = "18 c63364";
/// MP_REACH_NLRI for 2001:db8::/32 via 2001:db8::1.
const MP_REACH: &str = "80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8";

const EBGP: DecodeContext = DecodeContext {
    four_octet_as: true,
    extended_messages: false,
    ibgp: false,
};
const IBGP: DecodeContext = DecodeContext {
    four_octet_as: true,
    extended_messages: false,
    ibgp: true,
};
const EBGP_2OCTET: DecodeContext = DecodeContext {
    four_octet_as: false,
    extended_messages: false,
    ibgp: false,
};

/// UPDATE body from withdrawn routes, attributes and NLRI, all hex.
fn body(withdrawn: &str, attrs: &[&str], nlri: &str) -> Vec<u8> {
    let withdrawn = hex(withdrawn);
    let attrs: Vec<u8> = attrs.iter().flat_map(|a| hex(a)).collect();
    let mut out = Vec::new();
    out.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    out.extend_from_slice(&withdrawn);
    out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&attrs);
    out.extend_from_slice(&hex(nlri));
    out
}

fn decode(ctx: DecodeContext, attrs: &[&str], nlri: &str) -> (Update, Option<UpdateErrorAction>) {
    Update::decode(&body("", attrs, nlri), &ctx)
}

#[track_caller]
fn assert_withdraw(
    action: Option<UpdateErrorAction>,
    type_code: u8,
    kind: AttrErrorKind,
) -> AttrError {
    match action {
        Some(UpdateErrorAction::TreatAsWithdraw { reason }) => {
            assert_eq!(
                (reason.type_code, reason.kind),
                (type_code, kind),
                "{reason}"
            );
            reason
        }
        other => panic!("expected treat-as-withdraw for {type_code}/{kind:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_discard(action: Option<UpdateErrorAction>, expected: &[(u8, AttrErrorKind)]) {
    match action {
        Some(UpdateErrorAction::AttributeDiscard { discarded }) => {
            let got: Vec<_> = discarded.iter().map(|e| (e.type_code, e.kind)).collect();
            assert_eq!(got, expected);
        }
        other => panic!("expected attribute discard of {expected:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_reset(action: Option<UpdateErrorAction>, code: u8, subcode: u8) -> Notification {
    match action {
        Some(UpdateErrorAction::SessionReset(notification)) => {
            assert_eq!(
                (notification.code(), notification.subcode()),
                (code, subcode),
                "{notification}"
            );
            notification
        }
        other => panic!("expected session reset {code}/{subcode}, got {other:?}"),
    }
}

// --- ORIGIN (RFC 7606 §7.1) ---

#[test]
fn origin_length_not_one_is_treat_as_withdraw() {
    let (update, action) = decode(EBGP, &["40 01 02 0000", AS_PATH, NEXT_HOP], NLRI);
    let reason = assert_withdraw(action, 1, AttrErrorKind::Length { length: 2 });
    // The would-be NOTIFICATION: Attribute Length Error with the attribute.
    assert_eq!(reason.notification().subcode(), 5);
    assert_eq!(reason.data, hex("40 01 02 0000"));
    // The routes to withdraw are still there.
    assert_eq!(update.nlri, ["198.51.100.0/24".parse().unwrap()]);
}

#[test]
fn origin_undefined_value_is_treat_as_withdraw() {
    let (_, action) = decode(EBGP, &["40 01 01 03", AS_PATH, NEXT_HOP], NLRI);
    let reason = assert_withdraw(action, 1, AttrErrorKind::InvalidOrigin { value: 3 });
    assert_eq!(reason.notification().subcode(), 6);
}

#[test]
fn origin_with_optional_flag_is_treat_as_withdraw() {
    // RFC 7606 §3.c: Optional/Transitive conflict → malformed.
    let (_, action) = decode(EBGP, &["c0 01 01 00", AS_PATH, NEXT_HOP], NLRI);
    let reason = assert_withdraw(action, 1, AttrErrorKind::Flags { flags: 0xc0 });
    assert_eq!(reason.notification().subcode(), 4);
}

#[test]
fn origin_missing_is_treat_as_withdraw() {
    // RFC 7606 §3.d; RFC 4271 §6.3: data is the missing type code.
    let (_, action) = decode(EBGP, &[AS_PATH, NEXT_HOP], NLRI);
    let reason = assert_withdraw(action, 1, AttrErrorKind::Missing);
    assert_eq!(
        reason.notification(),
        Notification::new(
            ErrorCode::Update(UpdateSubcode::MissingWellKnownAttribute),
            vec![1]
        )
    );
}

// --- AS_PATH (RFC 7606 §7.2) ---

#[test]
fn as_path_unknown_segment_type_is_treat_as_withdraw() {
    let (_, action) = decode(EBGP, &[ORIGIN, "40 02 06 05 01 0000fde9", NEXT_HOP], NLRI);
    let reason = assert_withdraw(action, 2, AttrErrorKind::MalformedAsPath);
    assert_eq!(reason.notification().subcode(), 11);
}

#[test]
fn as_path_zero_length_segment_is_treat_as_withdraw() {
    let (_, action) = decode(EBGP, &[ORIGIN, "40 02 02 02 00", NEXT_HOP], NLRI);
    assert_withdraw(action, 2, AttrErrorKind::MalformedAsPath);
}

#[test]
fn as_path_segment_overrun_is_treat_as_withdraw() {
    // Says 2 ASes, carries 1. Also what a two-octet path looks like to a
    // four-octet decoder.
    let (_, action) = decode(EBGP, &[ORIGIN, "40 02 06 02 02 0000fde9", NEXT_HOP], NLRI);
    assert_withdraw(action, 2, AttrErrorKind::MalformedAsPath);
    let (_, action) = decode(EBGP, &[ORIGIN, "40 02 06 02 02 fde9 fdea", NEXT_HOP], NLRI);
    assert_withdraw(action, 2, AttrErrorKind::MalformedAsPath);
}

#[test]
fn as_path_single_octet_underrun_is_treat_as_withdraw() {
    let (_, action) = decode(
        EBGP,
        &[ORIGIN, "40 02 07 02 01 0000fde9 02", NEXT_HOP],
        NLRI,
    );
    assert_withdraw(action, 2, AttrErrorKind::MalformedAsPath);
}

#[test]
fn as_path_missing_is_treat_as_withdraw() {
    let (_, action) = decode(EBGP, &[ORIGIN, NEXT_HOP], NLRI);
    assert_withdraw(action, 2, AttrErrorKind::Missing);
}

#[test]
fn as_path_empty_is_valid() {
    // RFC 7606 §4: AS_PATH may have length zero (iBGP-originated routes).
    let (update, action) = decode(IBGP, &[ORIGIN, "40 02 00", NEXT_HOP], NLRI);
    assert_eq!(action, None);
    assert_eq!(update.attrs.as_path, Some(AsPath::new()));
}

#[test]
fn as_path_two_octet_session() {
    let (update, action) = decode(EBGP_2OCTET, &[ORIGIN, AS_PATH_2, NEXT_HOP], NLRI);
    assert_eq!(action, None);
    assert_eq!(update.attrs.as_path, Some(AsPath::from_sequence([65001])));
}

// --- NEXT_HOP (RFC 7606 §7.3) ---

#[test]
fn next_hop_length_not_four_is_treat_as_withdraw() {
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, "40 03 05 c000020100"], NLRI);
    assert_withdraw(action, 3, AttrErrorKind::Length { length: 5 });
}

#[test]
fn next_hop_not_a_host_address_is_treat_as_withdraw() {
    // RFC 4271 §6.3: syntactically incorrect → Invalid NEXT_HOP.
    for addr in ["7f000001", "00000000", "e0000001", "ffffffff"] {
        let nh = format!("40 03 04 {addr}");
        let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, &nh], NLRI);
        let reason = assert_withdraw(action, 3, AttrErrorKind::InvalidNextHop);
        assert_eq!(reason.notification().subcode(), 8);
    }
}

#[test]
fn next_hop_missing_with_ipv4_nlri_is_treat_as_withdraw() {
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH], NLRI);
    assert_withdraw(action, 3, AttrErrorKind::Missing);
}

#[test]
fn next_hop_not_needed_for_mp_only_updates() {
    // RFC 4760 §3: NEXT_HOP is only for classic NLRI.
    let (update, action) = decode(EBGP, &[MP_REACH, ORIGIN, AS_PATH], "");
    assert_eq!(action, None);
    assert!(update.has_reachable_nlri());
}

#[test]
fn broken_next_hop_in_mp_only_update_is_discarded() {
    // RFC 4760 §3: ignore NEXT_HOP without classic NLRI; it must not
    // withdraw the IPv6 routes.
    let (update, action) = decode(EBGP, &[MP_REACH, ORIGIN, AS_PATH, "40 03 04 00000000"], "");
    assert_discard(action, &[(3, AttrErrorKind::InvalidNextHop)]);
    assert_eq!(update.attrs.next_hop, None);
    assert!(update.mp_reach.is_some());
}

// --- MULTI_EXIT_DISC (RFC 7606 §7.4) ---

#[test]
fn med_length_not_four_is_treat_as_withdraw() {
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "80 04 03 000001"], NLRI);
    assert_withdraw(action, 4, AttrErrorKind::Length { length: 3 });
}

#[test]
fn med_marked_transitive_is_treat_as_withdraw() {
    let (_, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "c0 04 04 00000001"],
        NLRI,
    );
    assert_withdraw(action, 4, AttrErrorKind::Flags { flags: 0xc0 });
}

// --- LOCAL_PREF (RFC 7606 §7.5) ---

#[test]
fn local_pref_from_external_peer_is_discarded() {
    let (update, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "40 05 04 00000064"],
        NLRI,
    );
    assert_discard(action, &[(5, AttrErrorKind::FromExternalPeer)]);
    assert_eq!(update.attrs.local_pref, None);
    assert_eq!(update.attrs.origin, Some(Origin::Igp));
}

#[test]
fn local_pref_from_external_peer_is_discarded_even_when_malformed() {
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "40 05 02 0064"], NLRI);
    assert_discard(action, &[(5, AttrErrorKind::FromExternalPeer)]);
}

#[test]
fn local_pref_internal_length_not_four_is_treat_as_withdraw() {
    let (_, action) = decode(IBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "40 05 02 0064"], NLRI);
    assert_withdraw(action, 5, AttrErrorKind::Length { length: 2 });
}

#[test]
fn local_pref_internal_is_kept() {
    let (update, action) = decode(
        IBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "40 05 04 00000064"],
        NLRI,
    );
    assert_eq!(action, None);
    assert_eq!(update.attrs.local_pref, Some(100));
}

// --- ATOMIC_AGGREGATE (RFC 7606 §7.6) ---

#[test]
fn atomic_aggregate_with_value_is_discarded() {
    let (update, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "40 06 01 00"], NLRI);
    assert_discard(action, &[(6, AttrErrorKind::Length { length: 1 })]);
    assert!(!update.attrs.atomic_aggregate);
    assert_eq!(update.nlri.len(), 1);
}

// --- AGGREGATOR (RFC 7606 §7.7) ---

#[test]
fn aggregator_two_octet_length_on_four_octet_session_is_discarded() {
    let (update, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "c0 07 06 fde9 c0000209"],
        NLRI,
    );
    assert_discard(action, &[(7, AttrErrorKind::Length { length: 6 })]);
    assert_eq!(update.attrs.aggregator, None);
}

#[test]
fn aggregator_four_octet_length_on_two_octet_session_is_discarded() {
    let (_, action) = decode(
        EBGP_2OCTET,
        &[ORIGIN, AS_PATH_2, NEXT_HOP, "c0 07 08 0000fde9 c0000209"],
        NLRI,
    );
    assert_discard(action, &[(7, AttrErrorKind::Length { length: 8 })]);
}

#[test]
fn aggregator_with_wrong_flags_is_discarded() {
    // §3.c defers to the attribute's own rule, which is discard (§7.7).
    let (_, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "40 07 08 0000fde9 c0000209"],
        NLRI,
    );
    assert_discard(action, &[(7, AttrErrorKind::Flags { flags: 0x40 })]);
}

// --- COMMUNITIES (RFC 7606 §7.8) and LARGE_COMMUNITIES (RFC 8092 §6) ---

#[test]
fn communities_length_not_multiple_of_four_is_treat_as_withdraw() {
    let (_, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "c0 08 06 fde90064 ffff"],
        NLRI,
    );
    assert_withdraw(action, 8, AttrErrorKind::Length { length: 6 });
}

#[test]
fn communities_empty_is_treat_as_withdraw() {
    // RFC 7606 §4: only AS_PATH and ATOMIC_AGGREGATE may be empty.
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "c0 08 00"], NLRI);
    assert_withdraw(action, 8, AttrErrorKind::Length { length: 0 });
}

#[test]
fn large_communities_length_not_multiple_of_twelve_is_treat_as_withdraw() {
    let (_, action) = decode(
        EBGP,
        &[
            ORIGIN,
            AS_PATH,
            NEXT_HOP,
            "c0 20 0d 0000fde9 00000001 00000002 00",
        ],
        NLRI,
    );
    assert_withdraw(action, 32, AttrErrorKind::Length { length: 13 });
}

#[test]
fn large_communities_duplicates_are_removed_silently() {
    let lc = "0000fde9 00000001 00000002";
    let attr = format!("c0 20 24 {lc} 0000fde9 00000001 00000003 {lc}");
    let (update, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, &attr], NLRI);
    assert_eq!(action, None);
    assert_eq!(update.attrs.large_communities.len(), 2);
    assert_eq!(update.attrs.large_communities[1].local_data2, 3);
}

#[test]
fn extended_communities_length_not_multiple_of_eight_is_treat_as_withdraw() {
    // RFC 7606 §7.14.
    let (_, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "c0 10 07 0002fde9000000"],
        NLRI,
    );
    assert_withdraw(action, 16, AttrErrorKind::Length { length: 7 });
}

// --- ORIGINATOR_ID and CLUSTER_LIST (RFC 7606 §7.9, §7.10) ---

#[test]
fn originator_id_from_external_peer_is_discarded() {
    let (update, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "80 09 04 0a000009"],
        NLRI,
    );
    assert_discard(action, &[(9, AttrErrorKind::FromExternalPeer)]);
    assert_eq!(update.attrs.originator_id, None);
}

#[test]
fn originator_id_internal_length_not_four_is_treat_as_withdraw() {
    let (_, action) = decode(
        IBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "80 09 05 0a00000900"],
        NLRI,
    );
    assert_withdraw(action, 9, AttrErrorKind::Length { length: 5 });
}

#[test]
fn cluster_list_from_external_peer_is_discarded() {
    let (_, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "80 0a 04 0a000001"],
        NLRI,
    );
    assert_discard(action, &[(10, AttrErrorKind::FromExternalPeer)]);
}

#[test]
fn cluster_list_internal_length_not_multiple_of_four_is_treat_as_withdraw() {
    let (_, action) = decode(
        IBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "80 0a 06 0a000001 0a00"],
        NLRI,
    );
    assert_withdraw(action, 10, AttrErrorKind::Length { length: 6 });
}

// --- MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 7606 §5.3, §7.11, §3.g) ---

#[test]
fn mp_reach_next_hop_length_unexpected_is_session_reset() {
    // 12 octets for IPv6: the NLRI cannot be located reliably.
    let attr = "80 0e 16 0002 01 0c 20010db8000000000000000000 00 20 20010db8";
    let (_, action) = decode(EBGP, &[attr, ORIGIN, AS_PATH], "");
    // RFC 4760 §7: Optional Attribute Error.
    assert_reset(action, 3, 9);
}

#[test]
fn mp_reach_ipv4_next_hop_of_sixteen_is_session_reset() {
    let attr = "80 0e 1a 0001 01 10 20010db8000000000000000000000001 00 18 c63364";
    let (_, action) = decode(EBGP, &[attr, ORIGIN, AS_PATH], "");
    assert_reset(action, 3, 9);
}

#[test]
fn mp_reach_prefix_longer_than_128_is_session_reset() {
    let attr = "80 0e 16 0002 01 10 20010db8000000000000000000000001 00 81";
    let (_, action) = decode(EBGP, &[attr, ORIGIN, AS_PATH], "");
    assert_reset(action, 3, 9);
}

#[test]
fn mp_reach_truncated_prefix_is_session_reset() {
    let attr = "80 0e 18 0002 01 10 20010db8000000000000000000000001 00 30 2001";
    let (_, action) = decode(EBGP, &[attr, ORIGIN, AS_PATH], "");
    assert_reset(action, 3, 9);
}

#[test]
fn mp_reach_shorter_than_five_is_session_reset() {
    let (_, action) = decode(EBGP, &["80 0e 04 0002 01 00", ORIGIN, AS_PATH], "");
    assert_reset(action, 3, 5);
}

#[test]
fn mp_reach_with_wrong_flags_is_session_reset() {
    let attr = "c0 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8";
    let (_, action) = decode(EBGP, &[attr, ORIGIN, AS_PATH], "");
    let notification = assert_reset(action, 3, 4);
    // RFC 4271 §6.3: data is the erroneous attribute.
    assert_eq!(notification.data, hex(attr));
}

#[test]
fn mp_reach_twice_is_malformed_attribute_list() {
    let (_, action) = decode(EBGP, &[MP_REACH, ORIGIN, AS_PATH, MP_REACH], "");
    assert_reset(action, 3, 1);
}

#[test]
fn mp_unreach_shorter_than_three_is_session_reset() {
    let (_, action) = decode(EBGP, &["80 0f 02 0002"], "");
    assert_reset(action, 3, 5);
}

#[test]
fn mp_unreach_twice_is_malformed_attribute_list() {
    let unreach = "80 0f 08 0002 01 20 20010db8";
    let (_, action) = decode(EBGP, &[unreach, unreach], "");
    assert_reset(action, 3, 1);
}

#[test]
fn mp_unreach_prefix_too_long_is_session_reset() {
    let (_, action) = decode(EBGP, &["80 0f 05 0001 01 21 0a"], "");
    assert_reset(action, 3, 9);
}

// --- AS4_PATH / AS4_AGGREGATOR (RFC 6793 §6) ---

#[test]
fn as4_attributes_from_four_octet_peer_are_discarded() {
    let (update, action) = decode(
        EBGP,
        &[
            ORIGIN,
            AS_PATH,
            NEXT_HOP,
            "c0 11 06 02 01 fa56ea00",
            "c0 12 08 fa56ea00 c0000209",
        ],
        NLRI,
    );
    assert_discard(
        action,
        &[
            (17, AttrErrorKind::As4BetweenNewSpeakers),
            (18, AttrErrorKind::As4BetweenNewSpeakers),
        ],
    );
    assert_eq!(update.attrs.as4_path, None);
    assert_eq!(update.attrs.as4_aggregator, None);
}

#[test]
fn as4_path_malformed_is_discarded() {
    // Zero-length segment; then too short to hold one AS.
    let (update, action) = decode(
        EBGP_2OCTET,
        &[ORIGIN, AS_PATH_2, NEXT_HOP, "c0 11 06 02 00 fa56ea00"],
        NLRI,
    );
    assert_discard(action, &[(17, AttrErrorKind::MalformedAsPath)]);
    assert_eq!(update.attrs.as_path, Some(AsPath::from_sequence([65001])));
    let (_, action) = decode(
        EBGP_2OCTET,
        &[ORIGIN, AS_PATH_2, NEXT_HOP, "c0 11 02 02 00"],
        NLRI,
    );
    assert_discard(action, &[(17, AttrErrorKind::Length { length: 2 })]);
}

#[test]
fn as4_aggregator_length_not_eight_is_discarded() {
    let (_, action) = decode(
        EBGP_2OCTET,
        &[ORIGIN, AS_PATH_2, NEXT_HOP, "c0 12 06 fde9 c0000209"],
        NLRI,
    );
    assert_discard(action, &[(18, AttrErrorKind::Length { length: 6 })]);
}

#[test]
fn as4_path_confederation_segments_are_dropped() {
    // RFC 6793 §6: discard the segments, keep the attribute.
    let attr = "c0 11 0c 03 01 0000fde8 02 01 fa56ea00";
    let (update, action) = decode(EBGP_2OCTET, &[ORIGIN, AS_PATH_2, NEXT_HOP, attr], NLRI);
    assert_eq!(action, None);
    assert_eq!(
        update.attrs.as4_path,
        Some(AsPath::from_sequence([4_200_000_000]))
    );
}

// --- Attribute list errors (RFC 7606 §3, §4, §5) ---

#[test]
fn repeated_attribute_keeps_the_first() {
    // RFC 7606 §3.g.
    let (update, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "40 01 01 02"], NLRI);
    assert_discard(action, &[(1, AttrErrorKind::Duplicate)]);
    assert_eq!(update.attrs.origin, Some(Origin::Igp));
}

#[test]
fn unrecognized_well_known_attribute_is_session_reset() {
    // RFC 4271 §6.3, unchanged by RFC 7606: data is the attribute.
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "40 63 01 00"], NLRI);
    let notification = assert_reset(action, 3, 2);
    assert_eq!(notification.data, hex("40 63 01 00"));
}

#[test]
fn unknown_optional_attributes_are_kept_and_propagated_by_the_rules() {
    let (update, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "80 64 01 01", "c0 63 02 0102"],
        NLRI,
    );
    assert_eq!(action, None);
    let unknown = &update.attrs.unknown;
    assert_eq!(unknown.len(), 2);
    assert_eq!(
        (unknown[0].type_code, unknown[1].type_code),
        (99, 100),
        "sorted by type"
    );
    // Optional transitive: passed on with Partial; non-transitive: dropped.
    assert_eq!(unknown[0].propagated().unwrap().flags, AttrFlags(0xe0));
    assert_eq!(unknown[1].propagated(), None);
    let mut attrs = update.attrs.clone();
    attrs.prepare_unknown_for_propagation();
    assert_eq!(attrs.unknown.len(), 1);
    assert!(attrs.unknown[0].flags.partial());
}

#[test]
fn partial_bit_on_well_known_attribute_is_ignored() {
    // RFC 7606 §3.c checks only the Optional and Transitive bits.
    let (update, action) = decode(EBGP, &["60 01 01 00", AS_PATH, NEXT_HOP], NLRI);
    assert_eq!(action, None);
    assert_eq!(update.attrs.origin, Some(Origin::Igp));
}

#[test]
fn attribute_value_past_total_length_is_treat_as_withdraw() {
    // RFC 7606 §4: the last attribute claims 8 octets, 4 remain. The
    // NLRI is still found through the Total Path Attribute Length.
    let (update, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "c0 08 08 fde90064"],
        NLRI,
    );
    assert_withdraw(action, 8, AttrErrorKind::Overrun);
    assert_eq!(update.nlri, ["198.51.100.0/24".parse().unwrap()]);
}

#[test]
fn attribute_header_truncated_is_treat_as_withdraw() {
    // RFC 7606 §4: fewer than three octets left for an attribute header.
    let (update, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "c0 08"], NLRI);
    assert_withdraw(action, 8, AttrErrorKind::Overrun);
    assert_eq!(update.nlri.len(), 1);
    // Extended Length needs four.
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP, "d0 08 00"], NLRI);
    assert_withdraw(action, 8, AttrErrorKind::Overrun);
}

#[test]
fn mp_reach_past_total_length_is_session_reset() {
    // Its NLRI cannot be parsed: nothing reliable to withdraw (RFC 7606 §3.j).
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, "80 0e 1a 0002 01 10 20010db8"], "");
    assert_reset(action, 3, 5);
}

#[test]
fn withdrawn_routes_length_too_large_is_malformed_attribute_list() {
    // RFC 7606 §3.b.
    let (_, action) = Update::decode(&hex("0005 18cb0071 0000"), &EBGP);
    assert_reset(action, 3, 1);
}

#[test]
fn total_attribute_length_too_large_is_malformed_attribute_list() {
    let (_, action) = Update::decode(&hex("0000 0010 40010100"), &EBGP);
    assert_reset(action, 3, 1);
    let (_, action) = Update::decode(&hex("0000 00"), &EBGP);
    assert_reset(action, 3, 1);
}

#[test]
fn nlri_prefix_longer_than_32_is_invalid_network_field() {
    // RFC 7606 §5.3: syntactically incorrect NLRI → reset.
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP], "21 c0000201 00");
    assert_reset(action, 3, 10);
}

#[test]
fn nlri_truncated_prefix_is_invalid_network_field() {
    let (_, action) = decode(EBGP, &[ORIGIN, AS_PATH, NEXT_HOP], "18 c633");
    assert_reset(action, 3, 10);
}

#[test]
fn withdrawn_routes_syntax_is_checked_like_nlri() {
    // RFC 7606 §3.i.
    let (_, action) = Update::decode(&body("21 0a000000 00", &[], ""), &EBGP);
    assert_reset(action, 3, 10);
}

#[test]
fn malformed_attribute_without_reachable_nlri_is_session_reset() {
    // RFC 7606 §5.2: attributes, no NLRI, and an error that is not
    // attribute discard: we cannot trust we found the NLRI.
    let (_, action) = Update::decode(&body("18 cb0071", &["40 01 01 07"], ""), &EBGP);
    assert_reset(action, 3, 6);
}

#[test]
fn discard_without_reachable_nlri_is_still_a_discard() {
    let (update, action) = Update::decode(&body("18 cb0071", &["40 06 01 00"], ""), &EBGP);
    assert_discard(action, &[(6, AttrErrorKind::Length { length: 1 })]);
    assert_eq!(update.withdrawn.len(), 1);
}

#[test]
fn strongest_approach_wins() {
    // RFC 7606 §3.h: discard (ATOMIC_AGGREGATE) + withdraw (MED) → withdraw.
    let (_, action) = decode(
        EBGP,
        &[ORIGIN, AS_PATH, NEXT_HOP, "80 04 02 0001", "40 06 01 00"],
        NLRI,
    );
    assert_withdraw(action, 4, AttrErrorKind::Length { length: 2 });
    // withdraw (ORIGIN) + reset (unrecognized well-known) → reset.
    let (_, action) = decode(EBGP, &["40 01 01 09", AS_PATH, NEXT_HOP, "40 63 00"], NLRI);
    assert_reset(action, 3, 2);
}

#[test]
fn treat_as_withdraw_keeps_mp_routes_to_withdraw() {
    let (update, action) = decode(EBGP, &[MP_REACH, "40 01 01 05", AS_PATH], "");
    assert_withdraw(action, 1, AttrErrorKind::InvalidOrigin { value: 5 });
    let reach = update.mp_reach.expect("MP_REACH parsed");
    assert_eq!(
        reach.nlri,
        MpPrefixes::Ipv6(vec!["2001:db8::/32".parse().unwrap()])
    );
}

#[test]
fn session_reset_reaches_the_message_decoder_as_an_error() {
    let body = body("", &[ORIGIN, AS_PATH, NEXT_HOP], "21 c0000201 00");
    let mut message = vec![0xff; 16];
    message.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    message.push(2);
    message.extend_from_slice(&body);
    let error = Message::decode(&message, &EBGP).unwrap_err();
    assert_eq!(error.notification, Notification::invalid_network_field());
}

// --- RFC 6793 §4.2.3: rebuilding the path from AS_PATH and AS4_PATH ---

fn seq(asns: &[u32]) -> AsSegment {
    AsSegment {
        kind: SegmentType::Sequence,
        asns: asns.to_vec(),
    }
}

fn set(asns: &[u32]) -> AsSegment {
    AsSegment {
        kind: SegmentType::Set,
        asns: asns.to_vec(),
    }
}

fn confed(asns: &[u32]) -> AsSegment {
    AsSegment {
        kind: SegmentType::ConfedSequence,
        asns: asns.to_vec(),
    }
}

fn path(segments: Vec<AsSegment>) -> AsPath {
    AsPath { segments }
}

const T: u32 = AS_TRANS as u32;
const BIG1: u32 = 4_200_000_001;
const BIG2: u32 = 4_200_000_002;

#[test]
fn as4_merge_as_path_shorter_than_as4_path_keeps_as_path() {
    let as_path = path(vec![seq(&[100])]);
    let as4 = path(vec![seq(&[BIG1, 100])]);
    assert_eq!(AsPath::merge_as4(&as_path, &as4), as_path);
}

#[test]
fn as4_merge_equal_lengths_takes_as4_path() {
    let as_path = path(vec![seq(&[T, 200])]);
    let as4 = path(vec![seq(&[BIG1, 200])]);
    assert_eq!(AsPath::merge_as4(&as_path, &as4), as4);
}

#[test]
fn as4_merge_prepends_leading_two_octet_ases() {
    // Two OLD speakers (100, 200) after the last NEW one.
    let as_path = path(vec![seq(&[100, 200, T, 300, T])]);
    let as4 = path(vec![seq(&[BIG1, 300, BIG2])]);
    assert_eq!(
        AsPath::merge_as4(&as_path, &as4),
        path(vec![seq(&[100, 200, BIG1, 300, BIG2])])
    );
}

#[test]
fn as4_merge_takes_across_segments() {
    let as_path = path(vec![seq(&[100]), seq(&[200, T, 300])]);
    let as4 = path(vec![seq(&[BIG1, 300])]);
    assert_eq!(
        AsPath::merge_as4(&as_path, &as4),
        path(vec![seq(&[100, 200, BIG1, 300])])
    );
}

#[test]
fn as4_merge_set_counts_as_one() {
    let as_path = path(vec![set(&[100, 200, 300]), seq(&[T, 400])]);
    let as4 = path(vec![seq(&[BIG1, 400])]);
    assert_eq!(
        AsPath::merge_as4(&as_path, &as4),
        path(vec![set(&[100, 200, 300]), seq(&[BIG1, 400])])
    );
}

#[test]
fn as4_merge_keeps_leading_confederation_segments() {
    // Confederation segments count 0 and are kept when leading (§4.2.3).
    let as_path = path(vec![confed(&[65010, 65011]), seq(&[100, T])]);
    let as4 = path(vec![seq(&[BIG1])]);
    assert_eq!(
        AsPath::merge_as4(&as_path, &as4),
        path(vec![confed(&[65010, 65011]), seq(&[100, BIG1])])
    );
}

#[test]
fn as4_merge_ignored_when_aggregator_is_a_real_as() {
    // AGGREGATOR not AS_TRANS: AS4_AGGREGATOR and AS4_PATH are ignored.
    let mut attrs = PathAttributes {
        as_path: Some(path(vec![seq(&[100, T])])),
        aggregator: Some(Aggregator {
            asn: 100,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        as4_path: Some(path(vec![seq(&[BIG1])])),
        as4_aggregator: Some(Aggregator {
            asn: BIG1,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        ..PathAttributes::default()
    };
    attrs.merge_as4();
    assert_eq!(attrs.as_path, Some(path(vec![seq(&[100, T])])));
    assert_eq!(attrs.aggregator.unwrap().asn, 100);
    assert_eq!((attrs.as4_path, attrs.as4_aggregator), (None, None));
}

#[test]
fn as4_merge_uses_as4_aggregator_when_aggregator_is_as_trans() {
    let mut attrs = PathAttributes {
        as_path: Some(path(vec![seq(&[100, T])])),
        aggregator: Some(Aggregator {
            asn: T,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        as4_path: Some(path(vec![seq(&[BIG1])])),
        as4_aggregator: Some(Aggregator {
            asn: BIG1,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        ..PathAttributes::default()
    };
    attrs.merge_as4();
    assert_eq!(attrs.as_path, Some(path(vec![seq(&[100, BIG1])])));
    assert_eq!(attrs.aggregator.unwrap().asn, BIG1);
}

#[test]
fn as4_merge_without_aggregators_rebuilds_the_path() {
    let mut attrs = PathAttributes {
        as_path: Some(path(vec![seq(&[100, T, T])])),
        as4_path: Some(path(vec![seq(&[BIG1, BIG2])])),
        ..PathAttributes::default()
    };
    attrs.merge_as4();
    assert_eq!(attrs.as_path, Some(path(vec![seq(&[100, BIG1, BIG2])])));
}
