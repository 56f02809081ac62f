//! A whole BGP message (header included) through `frame` and
//! `Message::decode`, under every combination of two-/four-octet AS and
//! iBGP/eBGP, with and without extended messages. Whatever decodes is
//! re-encoded, and must decode back to the same message.
#![no_main]

use controlplane::bgp::packet::{DecodeContext, Message, frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for bits in 0..8u8 {
        let ctx = DecodeContext {
            four_octet_as: bits & 1 != 0,
            ibgp: bits & 2 != 0,
            extended_messages: bits & 4 != 0,
        };
        if let Ok(Some(len)) = frame(data, ctx.max_message_len()) {
            assert!(len <= data.len());
        }
        let Ok(decoded) = Message::decode(data, &ctx) else {
            continue;
        };
        let message = decoded.into_message();
        let bytes = message
            .to_bytes(&ctx)
            .unwrap_or_else(|e| panic!("decoded message does not re-encode: {e}: {message:?}"));
        assert_eq!(frame(&bytes, ctx.max_message_len()), Ok(Some(bytes.len())));
        let again = Message::decode(&bytes, &ctx)
            .unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}: {message:?}"))
            .into_message();
        assert_eq!(again, message);
    }
});
