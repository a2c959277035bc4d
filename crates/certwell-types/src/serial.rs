//! Certificate serial numbers as clients write them.

/// A serial number in the one spelling certwell stores and prints:
/// upper-case hex of the INTEGER's content octets, an even number of digits
/// (so with a leading `0` when the first octet is below 0x10).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SerialNumber(String);

impl SerialNumber {
    /// Reads a serial as clients format one from a certificate: hex in
    /// either case, with or without leading zeros (most tools drop them),
    /// optionally separated by colons or spaces (`0a:1b:…`). `None` for
    /// anything else, and for zero.
    pub fn parse(raw: &str) -> Option<SerialNumber> {
        let digits: String = raw
            .trim()
            .chars()
            .filter(|c| *c != ':' && *c != ' ')
            .collect();
        if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return None;
        }
        let pad = if significant.len() % 2 == 1 { "0" } else { "" };
        Some(SerialNumber(format!(
            "{pad}{}",
            significant.to_ascii_uppercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::SerialNumber;

    #[test]
    fn spellings() {
        let want = "0669D46CAE79EF684A69777490602485";
        for raw in [
            want,
            "669D46CAE79EF684A69777490602485",
            "669d46cae79ef684a69777490602485",
            "06:69:d4:6c:ae:79:ef:68:4a:69:77:74:90:60:24:85",
            "6:69:D4:6C:AE:79:EF:68:4A:69:77:74:90:60:24:85",
            " 00669D46CAE79EF684A69777490602485 ",
        ] {
            assert_eq!(SerialNumber::parse(raw).unwrap().as_str(), want, "{raw}");
        }
        assert_eq!(
            SerialNumber::parse("7D236B54").unwrap().as_str(),
            "7D236B54"
        );
        for bad in ["", "0", "00:00", "xyz", "12-34", &"1".repeat(65)] {
            assert_eq!(SerialNumber::parse(bad), None, "{bad}");
        }
    }
}
