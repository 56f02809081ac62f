//! The fixed message header (RFC 4271 §4.1) and cutting a TCP byte stream
//! into messages.

use super::consts::{HEADER_LEN, MARKER_LEN};
use super::error::MessageHeaderError;
use super::reader::Reader;

/// A parsed fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Whole message length, header included.
    pub length: u16,
    pub message_type: u8,
}

impl Header {
    /// Checks marker and length bounds; the type is checked by the message
    /// decoder, which knows the per-type length rules.
    pub fn decode(buf: &[u8], max_len: usize) -> Result<Header, MessageHeaderError> {
        let mut reader = Reader::new(buf);
        let marker: [u8; MARKER_LEN] = reader.array().ok_or(MessageHeaderError::BadLength {
            length: buf.len().try_into().unwrap_or(u16::MAX),
        })?;
        if marker != [0xff; MARKER_LEN] {
            return Err(MessageHeaderError::NotSynchronized);
        }
        let length = reader
            .u16()
            .ok_or(MessageHeaderError::BadLength { length: 0 })?;
        let message_type = reader
            .u8()
            .ok_or(MessageHeaderError::BadLength { length })?;
        if usize::from(length) < HEADER_LEN || usize::from(length) > max_len {
            return Err(MessageHeaderError::BadLength { length });
        }
        Ok(Header {
            length,
            message_type,
        })
    }

    pub fn encode(length: u16, message_type: u8, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0xff; MARKER_LEN]);
        out.extend_from_slice(&length.to_be_bytes());
        out.push(message_type);
    }
}

/// How many bytes the next complete message in `buf` takes: `Ok(None)`
/// until a whole message has arrived, an error as soon as the bytes seen
/// so far cannot start a valid message (RFC 4271 §6.1).
///
/// `max_len` is 4096, or 65535 once extended messages are negotiated
/// (RFC 8654); the TCP adapter passes `DecodeContext::max_message_len`.
pub fn frame(buf: &[u8], max_len: usize) -> Result<Option<usize>, MessageHeaderError> {
    // Catch a lost sync before a whole header has arrived: a peer writing
    // garbage should not make us wait for 19 bytes first.
    let marker_seen = buf.get(..MARKER_LEN).unwrap_or(buf);
    if marker_seen.iter().any(|&octet| octet != 0xff) {
        return Err(MessageHeaderError::NotSynchronized);
    }
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let header = Header::decode(buf, max_len)?;
    let length = usize::from(header.length);
    Ok((buf.len() >= length).then_some(length))
}
