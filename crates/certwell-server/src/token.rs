//! Random secrets and tokens from the system CSPRNG.

use time::{Duration, OffsetDateTime};

use crate::error::Error;

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> Result<String, Error> {
    let mut b = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| Error::internal("The system random number generator failed."))?;
    Ok(hex::encode(b))
}

/// A fresh API key: 40 upper-case hex digits (160 bits).
pub fn generate_api_key() -> Result<String, Error> {
    Ok(random_hex(20)?.to_ascii_uppercase())
}

/// A DCV random value (128 bits) and its expiry, 30 days out.
pub fn new_dcv_token() -> Result<(String, OffsetDateTime), Error> {
    let exp = crate::clock::now() + Duration::days(30);
    Ok((random_hex(16)?, exp))
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        let k = super::generate_api_key().unwrap();
        assert_eq!(k.len(), 40);
        assert!(k
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        let before = crate::clock::now();
        let (t, exp) = super::new_dcv_token().unwrap();
        assert_eq!(t.len(), 32);
        assert_ne!(t, super::new_dcv_token().unwrap().0);
        assert_eq!(exp.offset(), time::UtcOffset::UTC);
        assert!(crate::views::datetime(exp).ends_with("+00:00"));
        let days = (exp - before).whole_days();
        assert!((29..=30).contains(&days), "{days}");
    }
}
