//! What Linux accepts as an interface name (`dev_valid_name()` in
//! net/core/dev.c). Checked before a name reaches an ioctl, a netlink
//! attribute or a `/proc`/`/sys` path, where `..` or `/` would escape.

use super::HostError;

/// `IFNAMSIZ - 1`: the terminating NUL takes the 16th byte.
pub const IFNAME_MAX_LEN: usize = 15;

/// Accepts what the kernel accepts as a new interface name, refuses the rest
/// with [`HostError::NameTooLong`] or [`HostError::InvalidName`].
pub fn validate_interface_name(name: &str) -> Result<(), HostError> {
    if name.len() > IFNAME_MAX_LEN {
        return Err(HostError::NameTooLong(name.to_string()));
    }
    let forbidden = |c: char| c == '/' || c == ':' || c == '\0' || c.is_whitespace();
    if name.is_empty() || name == "." || name == ".." || name.contains(forbidden) {
        return Err(HostError::InvalidName(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_fifteen_bytes_refuses_sixteen() {
        assert!(validate_interface_name("abcdefghijklmno").is_ok());
        assert!(matches!(
            validate_interface_name("abcdefghijklmnop"),
            Err(HostError::NameTooLong(_))
        ));
    }

    #[test]
    fn refuses_path_escapes_and_separators() {
        for bad in ["", ".", "..", "a/b", "a b", "eth0:1", "a\0b", "a\tb"] {
            assert!(
                matches!(validate_interface_name(bad), Err(HostError::InvalidName(_))),
                "{bad:?} accepted"
            );
        }
        for good in ["eth0", "vr-eth0", "eth0.100", "a"] {
            assert!(validate_interface_name(good).is_ok(), "{good:?} refused");
        }
    }
}
