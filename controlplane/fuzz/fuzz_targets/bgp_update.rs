//! An UPDATE body straight into `Update::decode` (no header to get
//! right), under two- and four-octet AS, iBGP and eBGP. The RFC 7606
//! verdict must be consistent: a session reset never comes with usable
//! routes, and whatever decodes without a reset re-encodes and decodes to
//! the same UPDATE.
#![no_main]

use controlplane::bgp::packet::{DecodeContext, Message, Update, UpdateErrorAction};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for bits in 0..4u8 {
        let ctx = DecodeContext {
            four_octet_as: bits & 1 != 0,
            ibgp: bits & 2 != 0,
            extended_messages: true,
        };
        let (update, action) = Update::decode(data, &ctx);
        if let Some(UpdateErrorAction::SessionReset(_)) = action {
            continue;
        }
        if let Some(UpdateErrorAction::TreatAsWithdraw { .. }) = action {
            assert!(
                update.has_reachable_nlri(),
                "treat-as-withdraw without NLRI must be a reset"
            );
        }
        let message = Message::Update(update);
        let Ok(bytes) = message.to_bytes(&ctx) else {
            // Only length limits may refuse: the body may be up to 65535
            // octets, the whole message may not.
            continue;
        };
        let again = Message::decode(&bytes, &ctx)
            .unwrap_or_else(|e| panic!("re-encoded UPDATE does not decode: {e}: {message:?}"))
            .into_message();
        assert_eq!(again, message);
    }
});
