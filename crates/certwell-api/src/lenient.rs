//! Deserializers for fields the vendor's own examples send with more than
//! one JSON type.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// An optional integer sent as a number or as a string of digits.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer or a string of digits")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("integer out of range"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(E::custom("expected an integer or a string of digits"));
            }
            t.parse().map(Some).map_err(E::custom)
        }
    }
    d.deserialize_option(V)
}

/// An optional boolean sent as `true`/`false`, as the strings `"true"`,
/// `"false"`, `"1"`, `"0"` (any case), or as 1/0.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean, \"true\" or \"false\"")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(E::custom("expected a boolean, 1 or 0")),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v)
                .map_err(|_| E::custom("expected a boolean, 1 or 0"))
                .and_then(|v| self.visit_u64(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(E::custom("expected a boolean, \"true\" or \"false\"")),
            }
        }
    }
    d.deserialize_option(V)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "super::opt_i64")]
        id: Option<i64>,
    }

    #[test]
    fn numbers_and_digit_strings() {
        let p = |s: &str| serde_json::from_str::<T>(s).map(|t| t.id);
        assert_eq!(p(r#"{"id":5}"#).unwrap(), Some(5));
        assert_eq!(p(r#"{"id":"2030405"}"#).unwrap(), Some(2030405));
        assert_eq!(p(r#"{}"#).unwrap(), None);
        assert_eq!(p(r#"{"id":null}"#).unwrap(), None);
        assert!(p(r#"{"id":"12a"}"#).is_err());
        assert!(p(r#"{"id":1.5}"#).is_err());
        assert!(p(r#"{"id":true}"#).is_err());
    }
}
