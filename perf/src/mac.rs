//! MAC addresses as the command line and sysfs spell them.

/// Parses `02:00:5e:10:00:ff`.
pub fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts
            .next()
            .ok_or_else(|| format!("bad MAC address {text:?}"))?;
        *byte = u8::from_str_radix(part, 16).map_err(|_| format!("bad MAC address {text:?}"))?;
    }
    if parts.next().is_some() {
        return Err(format!("bad MAC address {text:?}"));
    }
    Ok(mac)
}

/// The MAC address of an interface of this network namespace.
pub fn interface_mac(ifname: &str) -> Result<[u8; 6], String> {
    let path = format!("/sys/class/net/{ifname}/address");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the MAC address of {ifname} ({path}): {e}"))?;
    parse_mac(text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_addresses_parse() {
        assert_eq!(
            parse_mac("02:00:5e:10:00:ff"),
            Ok([0x02, 0x00, 0x5e, 0x10, 0x00, 0xff])
        );
        assert!(parse_mac("02:00:5e:10:00").is_err());
        assert!(parse_mac("02:00:5e:10:00:ff:01").is_err());
        assert!(parse_mac("zz:00:5e:10:00:ff").is_err());
    }
}
