//! What every generated API enum shares (`src/arm/models`,
//! `src/redhat/models`): parsing and printing, and serde for the open ones.
//! Generated files call these macros instead of repeating the impls per enum.

/// `Display` and `FromStr` (refusing what the spec does not list) for a
/// closed generated enum; serde comes from its derive.
macro_rules! closed_enum_impls {
    ($name:ident) => {
        impl $name {
            /// The values the spec lists, as it spells them (for validators).
            #[allow(dead_code)]
            pub fn known_names() -> Vec<&'static str> {
                Self::KNOWN.iter().map(|v| v.as_str()).collect()
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::api_enums::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::KNOWN
                    .iter()
                    .find(|v| v.as_str() == s)
                    .copied()
                    .ok_or_else(|| $crate::api_enums::UnknownValue(s.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use closed_enum_impls;

/// serde, `From<&str>` and `Display` for an open generated enum: a value as
/// the spec spells it reads as its variant, any other (a newer value, or
/// another casing, which ARM accepts) as `Other`, kept as written so that
/// what is read back compares equal to what was sent.
macro_rules! open_enum_impls {
    ($name:ident) => {
        impl $name {
            /// The values the spec lists, as it spells them (for validators).
            #[allow(dead_code)]
            pub fn known_names() -> Vec<&'static str> {
                Self::KNOWN.iter().map(|v| v.as_str()).collect()
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::KNOWN
                    .iter()
                    .find(|v| v.as_str() == s)
                    .cloned()
                    .unwrap_or_else(|| Self::Other(s.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::from(s.as_ref()))
            }
        }
    };
}
pub(crate) use open_enum_impls;

/// A string a closed enum of a spec does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a value the API defines")]
pub struct UnknownValue(pub String);
