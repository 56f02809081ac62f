//! BFD authentication (RFC 5880 §4.2–§4.4 formats, §6.7 procedures): the
//! section carried after the mandatory header, its configuration, and the
//! sign/verify rules with their sequence-number state.
//!
//! Transmit sequence numbers: `bfd.XmitAuthSeq` starts at a random value
//! (§6.8.1) and is incremented for **every** transmitted packet, for the
//! keyed variants too. §6.7.3/§6.7.4 allow this ("MAY be incremented") and
//! it spares us comparing each packet with the previous one; the receiver's
//! window of 3 × Detect Mult stays wide enough because a detection time
//! passes before that many packets can be lost in a row.

use std::fmt;

use arrayvec::ArrayVec;
use md5::{Digest, Md5};
use sha1::Sha1;

use super::packet::{BfdError, HEADER_LEN, MAX_BFD_PACKET};

/// Auth Len of the keyed and meticulous keyed MD5 section (§4.3).
pub const MD5_SECTION_LEN: usize = 24;
/// Auth Len of the keyed and meticulous keyed SHA1 section (§4.4).
pub const SHA1_SECTION_LEN: usize = 28;
/// The longest simple password (§4.2).
pub const MAX_PASSWORD_LEN: usize = 16;
/// The longest MD5 key; it is placed in the 16-byte digest field (§6.7.3).
pub const MAX_MD5_KEY_LEN: usize = 16;
/// The longest SHA1 key; it is placed in the 20-byte hash field (§6.7.4).
pub const MAX_SHA1_KEY_LEN: usize = 20;

mod offset {
    pub const TYPE: usize = 0;
    pub const LEN: usize = 1;
    pub const KEY_ID: usize = 2;
    pub const PASSWORD: usize = 3;
    pub const RESERVED: usize = 3;
    pub const SEQUENCE: usize = 4;
    pub const DIGEST: usize = 8;
}

/// The Auth Type field (§4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthType {
    SimplePassword,
    KeyedMd5,
    MeticulousKeyedMd5,
    KeyedSha1,
    MeticulousKeyedSha1,
    /// 0 (reserved) and 6–255.
    Unknown(u8),
}

impl AuthType {
    /// Whether the sequence number must grow with every packet.
    pub fn is_meticulous(self) -> bool {
        matches!(
            self,
            AuthType::MeticulousKeyedMd5 | AuthType::MeticulousKeyedSha1
        )
    }

    /// The longest secret this type can carry, or `None` for unknown types.
    pub fn max_secret_len(self) -> Option<usize> {
        match self {
            AuthType::SimplePassword => Some(MAX_PASSWORD_LEN),
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => Some(MAX_MD5_KEY_LEN),
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => Some(MAX_SHA1_KEY_LEN),
            AuthType::Unknown(_) => None,
        }
    }
}

impl From<u8> for AuthType {
    fn from(value: u8) -> Self {
        match value {
            1 => AuthType::SimplePassword,
            2 => AuthType::KeyedMd5,
            3 => AuthType::MeticulousKeyedMd5,
            4 => AuthType::KeyedSha1,
            5 => AuthType::MeticulousKeyedSha1,
            other => AuthType::Unknown(other),
        }
    }
}

impl From<AuthType> for u8 {
    fn from(value: AuthType) -> u8 {
        match value {
            AuthType::SimplePassword => 1,
            AuthType::KeyedMd5 => 2,
            AuthType::MeticulousKeyedMd5 => 3,
            AuthType::KeyedSha1 => 4,
            AuthType::MeticulousKeyedSha1 => 5,
            AuthType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthType::SimplePassword => f.write_str("simple-password"),
            AuthType::KeyedMd5 => f.write_str("keyed-md5"),
            AuthType::MeticulousKeyedMd5 => f.write_str("meticulous-keyed-md5"),
            AuthType::KeyedSha1 => f.write_str("keyed-sha1"),
            AuthType::MeticulousKeyedSha1 => f.write_str("meticulous-keyed-sha1"),
            AuthType::Unknown(code) => write!(f, "unknown auth type {code}"),
        }
    }
}

/// A parsed Authentication Section.
///
/// On transmit, the digest/hash fields first hold the padded key (that is
/// what §6.7.3/§6.7.4 hash over); [`seal`] then replaces it with the digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSection {
    /// §4.2: a 1–16 byte password in clear.
    SimplePassword {
        key_id: u8,
        password: ArrayVec<u8, MAX_PASSWORD_LEN>,
    },
    /// §4.3, Auth Len 24.
    KeyedMd5 {
        meticulous: bool,
        key_id: u8,
        sequence: u32,
        digest: [u8; 16],
    },
    /// §4.4, Auth Len 28.
    KeyedSha1 {
        meticulous: bool,
        key_id: u8,
        sequence: u32,
        hash: [u8; 20],
    },
}

impl AuthSection {
    /// Parses a whole section: `section` is exactly Auth Len bytes, from the
    /// Auth Type byte on.
    pub fn parse(section: &[u8]) -> Result<Self, BfdError> {
        let (Some(&auth_type), Some(&auth_len)) =
            (section.get(offset::TYPE), section.get(offset::LEN))
        else {
            return Err(BfdError::BadAuthLen);
        };
        if usize::from(auth_len) != section.len() {
            return Err(BfdError::BadAuthLen);
        }
        let key_id = section.get(offset::KEY_ID).copied();
        let auth_type = AuthType::from(auth_type);
        match auth_type {
            AuthType::SimplePassword => {
                // Auth Len is the password length plus three (§4.2).
                let password = section.get(offset::PASSWORD..).unwrap_or(&[]);
                let (Some(key_id), 1..=MAX_PASSWORD_LEN) = (key_id, password.len()) else {
                    return Err(BfdError::BadAuthLen);
                };
                let password = ArrayVec::try_from(password).map_err(|_| BfdError::BadAuthLen)?;
                Ok(AuthSection::SimplePassword { key_id, password })
            }
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => {
                let (Some(key_id), Some(sequence), Some(digest)) = (
                    key_id.filter(|_| section.len() == MD5_SECTION_LEN),
                    array_at::<4>(section, offset::SEQUENCE),
                    array_at::<16>(section, offset::DIGEST),
                ) else {
                    return Err(BfdError::BadAuthLen);
                };
                Ok(AuthSection::KeyedMd5 {
                    meticulous: auth_type.is_meticulous(),
                    key_id,
                    sequence: u32::from_be_bytes(sequence),
                    digest,
                })
            }
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => {
                let (Some(key_id), Some(sequence), Some(hash)) = (
                    key_id.filter(|_| section.len() == SHA1_SECTION_LEN),
                    array_at::<4>(section, offset::SEQUENCE),
                    array_at::<20>(section, offset::DIGEST),
                ) else {
                    return Err(BfdError::BadAuthLen);
                };
                Ok(AuthSection::KeyedSha1 {
                    meticulous: auth_type.is_meticulous(),
                    key_id,
                    sequence: u32::from_be_bytes(sequence),
                    hash,
                })
            }
            AuthType::Unknown(code) => Err(BfdError::UnknownAuthType(code)),
        }
    }

    pub fn auth_type(&self) -> AuthType {
        match self {
            AuthSection::SimplePassword { .. } => AuthType::SimplePassword,
            AuthSection::KeyedMd5 {
                meticulous: false, ..
            } => AuthType::KeyedMd5,
            AuthSection::KeyedMd5 {
                meticulous: true, ..
            } => AuthType::MeticulousKeyedMd5,
            AuthSection::KeyedSha1 {
                meticulous: false, ..
            } => AuthType::KeyedSha1,
            AuthSection::KeyedSha1 {
                meticulous: true, ..
            } => AuthType::MeticulousKeyedSha1,
        }
    }

    pub fn key_id(&self) -> u8 {
        match self {
            AuthSection::SimplePassword { key_id, .. }
            | AuthSection::KeyedMd5 { key_id, .. }
            | AuthSection::KeyedSha1 { key_id, .. } => *key_id,
        }
    }

    /// The Auth Len this section is emitted with.
    pub fn buffer_len(&self) -> usize {
        match self {
            AuthSection::SimplePassword { password, .. } => offset::PASSWORD + password.len(),
            AuthSection::KeyedMd5 { .. } => MD5_SECTION_LEN,
            AuthSection::KeyedSha1 { .. } => SHA1_SECTION_LEN,
        }
    }

    /// Writes the section into `out` (at least `buffer_len()` bytes; a
    /// shorter buffer gets nothing past its end).
    pub fn emit(&self, out: &mut [u8]) {
        let len = u8::try_from(self.buffer_len()).unwrap_or(u8::MAX);
        put(
            out,
            offset::TYPE,
            &[self.auth_type().into(), len, self.key_id()],
        );
        match self {
            AuthSection::SimplePassword { password, .. } => put(out, offset::PASSWORD, password),
            AuthSection::KeyedMd5 {
                sequence, digest, ..
            } => {
                put(out, offset::RESERVED, &[0]);
                put(out, offset::SEQUENCE, &sequence.to_be_bytes());
                put(out, offset::DIGEST, digest);
            }
            AuthSection::KeyedSha1 { sequence, hash, .. } => {
                put(out, offset::RESERVED, &[0]);
                put(out, offset::SEQUENCE, &sequence.to_be_bytes());
                put(out, offset::DIGEST, hash);
            }
        }
    }
}

fn array_at<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..)?.first_chunk::<N>().copied()
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = out.get_mut(at..at.saturating_add(bytes.len())) {
        dst.copy_from_slice(bytes);
    }
}

/// One configured key (or password) and its Auth Key ID.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey {
    pub id: u8,
    pub secret: ArrayVec<u8, MAX_SHA1_KEY_LEN>,
}

impl AuthKey {
    /// A key from raw bytes; at most 20 of them fit any type (the
    /// per-type limit is checked by [`AuthConfig::validate`]).
    pub fn new(id: u8, secret: &[u8]) -> Result<Self, AuthConfigError> {
        let secret = ArrayVec::try_from(secret).map_err(|_| AuthConfigError::SecretLength {
            key_id: id,
            len: secret.len(),
            max: MAX_SHA1_KEY_LEN,
        })?;
        Ok(AuthKey { id, secret })
    }

    /// The secret placed in a digest field of `N` bytes, zero padded
    /// (§6.7.3, §6.7.4).
    fn padded<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        for (dst, src) in out.iter_mut().zip(&self.secret) {
            *dst = *src;
        }
        out
    }
}

/// Never prints the secret, so configs can be logged.
impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKey")
            .field("id", &self.id)
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .finish()
    }
}

/// A session's authentication: one type (bfd.AuthType), the keys a peer
/// may use (selected by Auth Key ID on receive, §6.7.2–§6.7.4), and the one
/// we sign with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    pub auth_type: AuthType,
    pub keys: Vec<AuthKey>,
    pub tx_key_id: u8,
}

/// Why an [`AuthConfig`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthConfigError {
    UnsupportedType(AuthType),
    NoKeys,
    DuplicateKeyId(u8),
    MissingTxKey(u8),
    SecretLength { key_id: u8, len: usize, max: usize },
}

impl fmt::Display for AuthConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfigError::UnsupportedType(t) => write!(
                f,
                "BFD authentication type {t} is not supported; use simple-password, \
                 (meticulous-)keyed-md5 or (meticulous-)keyed-sha1"
            ),
            AuthConfigError::NoKeys => f.write_str("BFD authentication needs at least one key"),
            AuthConfigError::DuplicateKeyId(id) => {
                write!(f, "BFD authentication key id {id} is configured twice")
            }
            AuthConfigError::MissingTxKey(id) => write!(
                f,
                "BFD transmit key id {id} is not among the configured keys; add it or pick another"
            ),
            AuthConfigError::SecretLength { key_id, len, max } => write!(
                f,
                "BFD key id {key_id} is {len} bytes; it must be 1 to {max} bytes for this type"
            ),
        }
    }
}

impl std::error::Error for AuthConfigError {}

impl AuthConfig {
    /// A config with a single key, which is also the transmit key.
    pub fn single(auth_type: AuthType, key: AuthKey) -> Self {
        AuthConfig {
            auth_type,
            tx_key_id: key.id,
            keys: vec![key],
        }
    }

    pub fn validate(&self) -> Result<(), AuthConfigError> {
        let Some(max) = self.auth_type.max_secret_len() else {
            return Err(AuthConfigError::UnsupportedType(self.auth_type));
        };
        if self.keys.is_empty() {
            return Err(AuthConfigError::NoKeys);
        }
        for (i, key) in self.keys.iter().enumerate() {
            if !(1..=max).contains(&key.secret.len()) {
                return Err(AuthConfigError::SecretLength {
                    key_id: key.id,
                    len: key.secret.len(),
                    max,
                });
            }
            if self.keys.iter().skip(i + 1).any(|k| k.id == key.id) {
                return Err(AuthConfigError::DuplicateKeyId(key.id));
            }
        }
        if self.key(self.tx_key_id).is_none() {
            return Err(AuthConfigError::MissingTxKey(self.tx_key_id));
        }
        Ok(())
    }

    pub fn key(&self, id: u8) -> Option<&AuthKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The section for an outgoing packet with sequence number `sequence`,
    /// keyed types still holding the key where the digest goes; emit it and
    /// then [`seal`] the packet. `None` if the transmit key is missing (a
    /// config that passed `validate` always has it).
    pub fn tx_section(&self, sequence: u32) -> Option<AuthSection> {
        let key = self.key(self.tx_key_id)?;
        let meticulous = self.auth_type.is_meticulous();
        match self.auth_type {
            AuthType::SimplePassword => Some(AuthSection::SimplePassword {
                key_id: key.id,
                password: key.secret.iter().copied().take(MAX_PASSWORD_LEN).collect(),
            }),
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => Some(AuthSection::KeyedMd5 {
                meticulous,
                key_id: key.id,
                sequence,
                digest: key.padded(),
            }),
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => Some(AuthSection::KeyedSha1 {
                meticulous,
                key_id: key.id,
                sequence,
                hash: key.padded(),
            }),
            AuthType::Unknown(_) => None,
        }
    }
}

/// Replaces the key in an emitted packet's digest field by the MD5 digest
/// or SHA1 hash of the whole packet (§6.7.3, §6.7.4 "Transmission").
/// `packet` is exactly Length bytes; packets without a keyed section are
/// left untouched.
pub fn seal(packet: &mut [u8]) {
    let digest_at = HEADER_LEN + offset::DIGEST;
    match packet
        .get(HEADER_LEN + offset::TYPE)
        .map(|&t| AuthType::from(t))
    {
        Some(AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5) => {
            let digest = Md5::digest(&*packet);
            put(packet, digest_at, &digest);
        }
        Some(AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1) => {
            let hash = Sha1::digest(&*packet);
            put(packet, digest_at, &hash);
        }
        _ => {}
    }
}

/// Why an authenticated packet was discarded (§6.7.2–§6.7.4 "Receipt").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The A bit is set but the session has no authentication (§6.8.6).
    UnexpectedAuth,
    /// The A bit is clear but the session requires authentication (§6.8.6).
    MissingAuth,
    /// The Auth Type is not the session's.
    WrongType {
        expected: AuthType,
        got: AuthType,
    },
    UnknownKeyId(u8),
    BadPassword,
    /// Replayed or too far ahead: outside bfd.RcvAuthSeq's window.
    SequenceOutOfWindow {
        last: u32,
        got: u32,
    },
    BadDigest,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::UnexpectedAuth => {
                f.write_str("peer authenticates but this session has no authentication configured")
            }
            AuthError::MissingAuth => {
                f.write_str("peer sent no authentication but this session requires it")
            }
            AuthError::WrongType { expected, got } => {
                write!(
                    f,
                    "peer uses {got}, this session is configured for {expected}"
                )
            }
            AuthError::UnknownKeyId(id) => write!(f, "peer uses key id {id}, not configured here"),
            AuthError::BadPassword => f.write_str("password mismatch"),
            AuthError::SequenceOutOfWindow { last, got } => write!(
                f,
                "sequence number {got} outside the accepted window after {last} (replay?)"
            ),
            AuthError::BadDigest => f.write_str("digest mismatch: keys differ"),
        }
    }
}

impl std::error::Error for AuthError {}

/// bfd.XmitAuthSeq, bfd.RcvAuthSeq and bfd.AuthSeqKnown (§6.8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthSequence {
    pub xmit: u32,
    pub rcv: u32,
    pub rcv_known: bool,
}

impl AuthSequence {
    /// `xmit` must be random (§6.8.1).
    pub fn new(xmit: u32) -> Self {
        AuthSequence {
            xmit,
            rcv: 0,
            rcv_known: false,
        }
    }

    /// The sequence number for the next packet, advancing the counter.
    pub fn next_xmit(&mut self) -> u32 {
        let seq = self.xmit;
        self.xmit = self.xmit.wrapping_add(1);
        seq
    }

    /// The replay window (§6.7.3/§6.7.4): keyed accepts bfd.RcvAuthSeq ..=
    /// +3×Detect Mult, meticulous bfd.RcvAuthSeq+1 ..= +3×Detect Mult, in
    /// circular 32-bit space. `detect_mult` is the received packet's; a
    /// replayed packet is a genuine one, so its multiplier is the peer's.
    fn check_window(&self, got: u32, meticulous: bool, detect_mult: u8) -> Result<(), AuthError> {
        if !self.rcv_known {
            return Ok(());
        }
        let ahead = got.wrapping_sub(self.rcv);
        let lowest = u32::from(meticulous);
        if ahead < lowest || ahead > 3 * u32::from(detect_mult) {
            return Err(AuthError::SequenceOutOfWindow {
                last: self.rcv,
                got,
            });
        }
        Ok(())
    }

    fn accept(&mut self, got: u32) {
        self.rcv = got;
        self.rcv_known = true;
    }
}

/// Verifies a received packet's section against `config`; on success a
/// keyed sequence number becomes the new bfd.RcvAuthSeq. `packet` is the
/// whole control packet (Length bytes, auth section included).
///
/// The sequence number is recorded only after the digest matches: RFC 5880
/// §6.7.4 reads as if an unknown sequence were accepted unchecked, but
/// letting an unauthenticated packet set the window would let anyone lock
/// the session out.
pub fn verify(
    config: &AuthConfig,
    sequence: &mut AuthSequence,
    packet: &[u8],
    section: &AuthSection,
    detect_mult: u8,
) -> Result<(), AuthError> {
    let got = section.auth_type();
    if got != config.auth_type {
        return Err(AuthError::WrongType {
            expected: config.auth_type,
            got,
        });
    }
    let key = config
        .key(section.key_id())
        .ok_or(AuthError::UnknownKeyId(section.key_id()))?;
    match section {
        AuthSection::SimplePassword { password, .. } => {
            if constant_time_eq(password, &key.secret) {
                Ok(())
            } else {
                Err(AuthError::BadPassword)
            }
        }
        AuthSection::KeyedMd5 {
            meticulous,
            sequence: seq,
            digest,
            ..
        } => {
            sequence.check_window(*seq, *meticulous, detect_mult)?;
            let mut copy = copy_packet(packet);
            let bytes = copy.as_mut_slice();
            put(bytes, HEADER_LEN + offset::DIGEST, &key.padded::<16>());
            if !constant_time_eq(&Md5::digest(&*bytes), digest) {
                return Err(AuthError::BadDigest);
            }
            sequence.accept(*seq);
            Ok(())
        }
        AuthSection::KeyedSha1 {
            meticulous,
            sequence: seq,
            hash,
            ..
        } => {
            sequence.check_window(*seq, *meticulous, detect_mult)?;
            let mut copy = copy_packet(packet);
            let bytes = copy.as_mut_slice();
            put(bytes, HEADER_LEN + offset::DIGEST, &key.padded::<20>());
            if !constant_time_eq(&Sha1::digest(&*bytes), hash) {
                return Err(AuthError::BadDigest);
            }
            sequence.accept(*seq);
            Ok(())
        }
    }
}

/// A stack copy of the packet (at most [`MAX_BFD_PACKET`] bytes, which every
/// parsed keyed packet is) so the digest can be recomputed with the key in
/// place without touching the receive buffer.
fn copy_packet(packet: &[u8]) -> ArrayVec<u8, MAX_BFD_PACKET> {
    packet.iter().copied().take(MAX_BFD_PACKET).collect()
}

/// Equality whose time depends only on the length, so a forger learns
/// nothing from how fast a guess is refused.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation_names_what_is_wrong() {
        let key = |id, len| AuthKey::new(id, &vec![b'k'; len]).unwrap();
        let ok = AuthConfig::single(AuthType::KeyedSha1, key(1, 20));
        assert_eq!(ok.validate(), Ok(()));
        let long_md5 = AuthConfig::single(AuthType::KeyedMd5, key(1, 17));
        assert_eq!(
            long_md5.validate(),
            Err(AuthConfigError::SecretLength {
                key_id: 1,
                len: 17,
                max: 16
            })
        );
        let mut dup = AuthConfig::single(AuthType::SimplePassword, key(3, 4));
        dup.keys.push(key(3, 5));
        assert_eq!(dup.validate(), Err(AuthConfigError::DuplicateKeyId(3)));
        let mut missing = AuthConfig::single(AuthType::SimplePassword, key(3, 4));
        missing.tx_key_id = 9;
        assert_eq!(missing.validate(), Err(AuthConfigError::MissingTxKey(9)));
        let unknown = AuthConfig::single(AuthType::Unknown(9), key(1, 4));
        assert!(unknown.validate().is_err());
        assert!(AuthKey::new(1, &[0; 21]).is_err());
        assert!(!format!("{:?}", key(1, 4)).contains("kkkk"));
    }

    #[test]
    fn sequence_window_is_circular() {
        let mut seq = AuthSequence::new(0);
        seq.accept(u32::MAX - 1);
        assert!(seq.check_window(u32::MAX - 1, false, 3).is_ok());
        assert!(seq.check_window(u32::MAX - 1, true, 3).is_err());
        assert!(seq.check_window(7, true, 3).is_ok()); // MAX-1 + 9 wraps to 7
        assert!(seq.check_window(8, true, 3).is_err());
        assert!(seq.check_window(u32::MAX - 2, false, 3).is_err());
    }
}
