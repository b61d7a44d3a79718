//! Arbitrary-precision decimal numbers, as cty's `number` type carries them.
//!
//! Terraform numbers are big floats; providers that squeeze them into `i64` or
//! `f64` silently change large ids and long decimals. This type keeps the exact
//! decimal (mantissa digits and a power of ten) and converts only on request.
//! Hand-written because the only operations needed are parse, compare, print
//! and checked conversion; a bignum crate would bring arithmetic we never use.

use std::fmt;

/// Longest number text accepted, and largest exponent: bounds on what a hostile
/// input can make us allocate when printing.
const MAX_TEXT: usize = 4096;
const MAX_EXPONENT: i64 = 100_000;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Decimal digits without leading or trailing zeros; empty for zero.
    digits: String,
    /// value = digits * 10^exponent
    exponent: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("{0:?} is not a number")]
    Syntax(String),
    #[error("number is too long or its exponent too large")]
    TooLarge,
    #[error("infinite and NaN numbers are not supported")]
    NotFinite,
}

impl Number {
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        if text.len() > MAX_TEXT {
            return Err(NumberError::TooLarge);
        }
        let bad = || NumberError::Syntax(text.to_string());
        let mut rest = text;
        let mut negative = false;
        if let Some(r) = rest.strip_prefix('-') {
            negative = true;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('+') {
            rest = r;
        }
        let (mantissa, exp_part) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
        {
            return Err(bad());
        }
        let mut exponent: i64 = match exp_part {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) || digits.len() > 12 {
                    return Err(if digits.len() > 12 {
                        NumberError::TooLarge
                    } else {
                        bad()
                    });
                }
                e.parse::<i64>().map_err(|_| bad())?
            }
        };
        exponent -= frac_part.len() as i64;
        let mut digits: String = format!("{int_part}{frac_part}")
            .trim_start_matches('0')
            .to_string();
        let trimmed = digits.trim_end_matches('0').len();
        exponent += (digits.len() - trimmed) as i64;
        digits.truncate(trimmed);
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        if (exponent + digits.len() as i64).abs() > MAX_EXPONENT {
            return Err(NumberError::TooLarge);
        }
        Ok(Number {
            negative,
            digits,
            exponent,
        })
    }

    pub fn zero() -> Number {
        Number {
            negative: false,
            digits: String::new(),
            exponent: 0,
        }
    }

    pub fn from_f64(f: f64) -> Result<Number, NumberError> {
        if !f.is_finite() {
            return Err(NumberError::NotFinite);
        }
        // `{:e}` prints the shortest text that reads back as the same f64.
        Number::parse(&format!("{f:e}"))
    }

    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    pub fn to_i64(&self) -> Option<i64> {
        self.integer_text().and_then(|t| t.parse().ok())
    }

    pub fn to_u64(&self) -> Option<u64> {
        self.integer_text().and_then(|t| t.parse().ok())
    }

    /// Nearest f64 (may round; use only where the caller accepts that).
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// Exact f64 if one exists, i.e. printing that f64 gives this number back.
    pub fn to_f64_exact(&self) -> Option<f64> {
        let f = self.to_f64();
        (Number::from_f64(f).ok().as_ref() == Some(self)).then_some(f)
    }

    fn integer_text(&self) -> Option<String> {
        if !self.is_integer() || self.digits.len() as i64 + self.exponent > 20 {
            return None;
        }
        Some(self.to_string())
    }

    pub fn to_serde(&self) -> serde_json::Number {
        // Our canonical text is always valid JSON number syntax.
        self.to_string()
            .parse()
            .expect("canonical number text is valid JSON")
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Self {
        Number::parse(&n.to_string()).expect("integers always parse")
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Self {
        Number::parse(&n.to_string()).expect("integers always parse")
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits.is_empty() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let n = self.digits.len() as i64;
        let e = self.exponent;
        // Plain decimal while it stays short; scientific beyond.
        if (0..=64).contains(&e) {
            write!(f, "{}{}", self.digits, "0".repeat(e as usize))
        } else if e < 0 && -e < n {
            let point = (n + e) as usize;
            write!(f, "{}.{}", &self.digits[..point], &self.digits[point..])
        } else if e < 0 && -e - n <= 64 {
            write!(f, "0.{}{}", "0".repeat((-e - n) as usize), self.digits)
        } else {
            let (first, rest) = self.digits.split_at(1);
            let sci = e + n - 1;
            if rest.is_empty() {
                write!(f, "{first}e{sci:+}")
            } else {
                write!(f, "{first}.{rest}e{sci:+}")
            }
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        for (input, want) in [
            ("0", "0"),
            ("-0", "0"),
            ("007", "7"),
            ("1.50", "1.5"),
            ("-12.345", "-12.345"),
            ("0.001", "0.001"),
            ("1e3", "1000"),
            ("1.5E-2", "0.015"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("1e100", "1e+100"),
            ("2.5e-80", "2.5e-80"),
            (".5", "0.5"),
            ("5.", "5"),
        ] {
            assert_eq!(Number::parse(input).unwrap().to_string(), want, "{input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "", "-", ".", "1e", "abc", "1.2.3", "0x10", "1e+", "--1", "1 ",
        ] {
            assert!(Number::parse(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(Number::parse("1e999999999"), Err(NumberError::TooLarge));
        assert_eq!(Number::from_f64(f64::INFINITY), Err(NumberError::NotFinite));
    }

    #[test]
    fn conversions_are_checked_not_truncated() {
        let big = Number::parse("9223372036854775808").unwrap(); // i64::MAX + 1
        assert_eq!(big.to_i64(), None);
        assert_eq!(big.to_u64(), Some(9223372036854775808));
        assert_eq!(Number::parse("-42").unwrap().to_i64(), Some(-42));
        assert_eq!(Number::parse("4.2").unwrap().to_i64(), None);
        assert_eq!(Number::parse("0.1").unwrap().to_f64_exact(), Some(0.1));
        assert_eq!(
            Number::parse("0.10000000000000000000001")
                .unwrap()
                .to_f64_exact(),
            None
        );
        assert_eq!(Number::from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(Number::parse("1.0").unwrap(), Number::from(1i64));
    }
}
