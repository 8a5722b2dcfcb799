//! The two awsJson1.1 wire types that are not plain JSON: timestamps (epoch
//! seconds as a JSON number) and blobs (base64 strings).

use std::fmt;

use aws_smithy_types::DateTime;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, with millisecond precision (what goes on the wire).
///
/// On the wire: a JSON number of seconds since the Unix epoch, with the
/// milliseconds as a fraction (`1767225600.123`); whole seconds are written as
/// an integer. Both integers and floats are accepted when reading.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(DateTime);

impl Timestamp {
    pub fn from_unix_millis(millis: i64) -> Timestamp {
        Timestamp(DateTime::from_millis(millis))
    }

    pub fn from_unix_secs(secs: i64) -> Timestamp {
        Timestamp(DateTime::from_secs(secs))
    }

    /// Truncated to milliseconds.
    pub fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> Timestamp {
        Timestamp::from_unix_millis(t.timestamp_millis())
    }

    /// The current time, truncated to milliseconds.
    pub fn now() -> Timestamp {
        Timestamp::from_chrono(chrono::Utc::now())
    }

    pub fn as_unix_millis(&self) -> i64 {
        // In range by construction: every constructor goes through millis.
        self.0.to_millis().unwrap_or(i64::MAX)
    }

    pub fn as_unix_secs(&self) -> i64 {
        self.0.secs()
    }

    pub fn to_chrono(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.as_unix_millis()).unwrap_or_default()
    }

    pub fn as_date_time(&self) -> DateTime {
        self.0
    }
}

impl From<DateTime> for Timestamp {
    /// Truncated to milliseconds.
    fn from(t: DateTime) -> Timestamp {
        match t.to_millis() {
            Ok(ms) => Timestamp::from_unix_millis(ms),
            Err(_) => Timestamp(t),
        }
    }
}

impl From<Timestamp> for DateTime {
    fn from(t: Timestamp) -> DateTime {
        t.0
    }
}

impl From<chrono::DateTime<chrono::Utc>> for Timestamp {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Timestamp {
        Timestamp::from_chrono(t)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.0)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339, e.g. `2026-01-01T00:00:00.123Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = self.as_unix_millis();
        if millis.rem_euclid(1000) == 0 {
            serializer.serialize_i64(millis.div_euclid(1000))
        } else {
            // Both operands are exact in f64 and the division is correctly
            // rounded, so this prints as the shortest decimal: 1767225600.123.
            serializer.serialize_f64(millis as f64 / 1000.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        struct EpochSeconds;

        impl Visitor<'_> for EpochSeconds {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp in seconds since the Unix epoch")
            }

            fn visit_i64<E: de::Error>(self, secs: i64) -> Result<Timestamp, E> {
                secs.checked_mul(1000)
                    .map(Timestamp::from_unix_millis)
                    .ok_or_else(|| E::custom("timestamp out of range"))
            }

            fn visit_u64<E: de::Error>(self, secs: u64) -> Result<Timestamp, E> {
                let secs = i64::try_from(secs).map_err(|_| E::custom("timestamp out of range"))?;
                self.visit_i64(secs)
            }

            fn visit_f64<E: de::Error>(self, secs: f64) -> Result<Timestamp, E> {
                let millis = (secs * 1000.0).round();
                // i64::MAX as f64 rounds up to 2^63, hence the strict bound.
                if !millis.is_finite() || millis < i64::MIN as f64 || millis >= i64::MAX as f64 {
                    return Err(E::custom("timestamp out of range"));
                }
                Ok(Timestamp::from_unix_millis(millis as i64))
            }
        }

        deserializer.deserialize_any(EpochSeconds)
    }
}

/// Bytes; on the wire a base64 string (standard alphabet; padding optional
/// when reading, always written).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Blob(pub Vec<u8>);

/// Standard alphabet, accepting input with or without padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Blob {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Blob {
        Blob(bytes.into())
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Blob {
        Blob(v)
    }
}

impl From<&[u8]> for Blob {
    fn from(v: &[u8]) -> Blob {
        Blob(v.to_vec())
    }
}

impl From<Blob> for Vec<u8> {
    fn from(b: Blob) -> Vec<u8> {
        b.0
    }
}

impl AsRef<[u8]> for Blob {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Blob {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Blob {
    /// The length only: layer parts are up to 20 MiB.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Blob, D::Error> {
        struct Base64;

        impl Visitor<'_> for Base64 {
            type Value = Blob;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Blob, E> {
                LENIENT
                    .decode(v)
                    .map(Blob)
                    .map_err(|e| E::custom(format!("invalid base64: {e}")))
            }
        }

        deserializer.deserialize_str(Base64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trip() {
        let t = Timestamp::from_unix_millis(1_767_225_600_123);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "1767225600.123");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert_eq!(t.as_unix_millis(), 1_767_225_600_123);
        assert_eq!(t.as_unix_secs(), 1_767_225_600);
        assert_eq!(t.to_string(), "2026-01-01T00:00:00.123Z");
        assert_eq!(Timestamp::from_chrono(t.to_chrono()), t);
    }

    #[test]
    fn timestamp_whole_seconds_and_odd_inputs() {
        let t = Timestamp::from_unix_secs(1_767_225_600);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1767225600");
        assert_eq!(serde_json::from_str::<Timestamp>("1767225600").unwrap(), t);
        assert_eq!(
            serde_json::from_str::<Timestamp>("1767225600.0").unwrap(),
            t
        );
        assert_eq!(serde_json::from_str::<Timestamp>("1.7672256E9").unwrap(), t);
        // Sub-millisecond digits are rounded to the millisecond.
        assert_eq!(
            serde_json::from_str::<Timestamp>("1767225600.1234").unwrap(),
            Timestamp::from_unix_millis(1_767_225_600_123)
        );
        let before = Timestamp::from_unix_millis(-1_500);
        assert_eq!(serde_json::to_string(&before).unwrap(), "-1.5");
        assert_eq!(serde_json::from_str::<Timestamp>("-1.5").unwrap(), before);
        assert!(serde_json::from_str::<Timestamp>("\"2026-01-01\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("1e300").is_err());
        assert!(Timestamp::from_unix_secs(1) < Timestamp::from_unix_millis(1_001));
    }

    #[test]
    fn blob_round_trip() {
        let b = Blob::new(b"hello, ecr".to_vec());
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "\"aGVsbG8sIGVjcg==\"");
        assert_eq!(serde_json::from_str::<Blob>(&json).unwrap(), b);
        // Padding is optional on input.
        assert_eq!(
            serde_json::from_str::<Blob>("\"aGVsbG8sIGVjcg\"").unwrap(),
            b
        );
        assert_eq!(
            serde_json::from_str::<Blob>("\"\"").unwrap(),
            Blob::default()
        );
        assert!(serde_json::from_str::<Blob>("\"not base64!\"").is_err());
        assert!(serde_json::from_str::<Blob>("42").is_err());
        assert_eq!(format!("{b:?}"), "Blob(10 bytes)");
    }
}
