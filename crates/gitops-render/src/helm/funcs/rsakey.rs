//! RSA key generation for Sprig's certificate functions, faster than `rsa::RsaPrivateKey::new`.
//!
//! `rsa` 0.9 looks for each prime by drawing random candidates, ruling out multiples of the
//! primes up to 53 only, and running a Miller-Rabin test on each survivor: about 100 modular
//! exponentiations per 1024-bit prime, ~0.3 s for a 2048-bit key. `genCA` in a chart's default
//! values (bitnami's nginx) made that most of a render. Here each prime is searched in a window
//! of odd numbers after a random start, sieved by every odd prime below 2^16 (what OpenSSL and Go
//! do), so about 2.5 times fewer candidates reach the Miller-Rabin test; and the two primes are
//! searched on two threads. The primality test itself is unchanged: `num-bigint-dig`'s
//! `probably_prime` with 20 rounds (Miller-Rabin plus Baillie-PSW), as `rsa` uses; the key is
//! assembled by `rsa::RsaPrivateKey::from_p_q` and validated.

use std::sync::OnceLock;

use num_bigint_dig::BigUint;
use num_bigint_dig::prime::probably_prime;
use rand_core::{OsRng, RngCore as _};

/// The public exponent, as Go and `rsa` use.
const PUBLIC_EXPONENT: u32 = 65_537;
/// Odd numbers looked at after each random start; a 1024-bit prime is expected every ~355 odd
/// numbers, so a window without one (probability ~1e-5) just means a new start.
const WINDOW: usize = 4096;
/// Miller-Rabin rounds of the final test, as `rsa` uses for its own primes.
const MR_ROUNDS: usize = 20;
/// Smaller keys than this are left to `rsa` (its sieve bound matters little there).
const MIN_SIEVED_BITS: usize = 512;

/// The odd primes below 2^16, for the sieve.
fn small_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| {
        const LIMIT: usize = 1 << 16;
        let mut composite = vec![false; LIMIT];
        let mut primes = Vec::new();
        for i in 2..LIMIT {
            if composite[i] {
                continue;
            }
            if i > 2 {
                primes.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
            for j in (i * i..LIMIT).step_by(i) {
                composite[j] = true;
            }
        }
        primes
    })
}

/// `bytes` (big-endian) modulo `m`.
fn rem_bytes(bytes: &[u8], m: u32) -> u32 {
    let m = u64::from(m);
    let r = bytes
        .iter()
        .fold(0u64, |r, &b| ((r << 8) | u64::from(b)) % m);
    u32::try_from(r).unwrap_or(0)
}

/// Marks, among the odd numbers `start + 2j` (`j < WINDOW`, `start` odd), those divisible by a
/// small prime (or congruent to 1 modulo the public exponent, which would make `p - 1` share a
/// factor with it). `residue(m)` is `start mod m`. Returns the surviving offsets `2j`.
fn sieve(residue: impl Fn(u32) -> u32) -> Vec<u64> {
    let mut out = vec![false; WINDOW];
    for &p in small_primes() {
        // start + 2j ≡ 0 (mod p)  ⇔  j ≡ -start · 2⁻¹ (mod p), with 2⁻¹ = (p + 1) / 2.
        let p64 = u64::from(p);
        let neg = (p64 - u64::from(residue(p))) % p64;
        let first = neg * p64.div_ceil(2) % p64;
        let mut j = usize::try_from(first).unwrap_or(WINDOW);
        let step = usize::try_from(p).unwrap_or(WINDOW);
        while j < WINDOW {
            out[j] = true;
            j += step;
        }
    }
    // start + 2j ≡ 1 (mod e)  ⇔  j ≡ (1 - start) · 2⁻¹ (mod e).
    let e = u64::from(PUBLIC_EXPONENT);
    let first = (1 + e - u64::from(residue(PUBLIC_EXPONENT))) % e * e.div_ceil(2) % e;
    let mut j = usize::try_from(first).unwrap_or(WINDOW);
    while j < WINDOW {
        out[j] = true;
        j += usize::try_from(PUBLIC_EXPONENT).unwrap_or(WINDOW);
    }
    (0..WINDOW)
        .filter(|&j| !out[j])
        .map(|j| 2 * j as u64)
        .collect()
}

/// A random prime of exactly `bits` bits with its two top bits set (so that the product of two
/// such primes has exactly twice as many bits), and `p - 1` coprime to the public exponent.
fn random_prime(bits: usize) -> BigUint {
    let len = bits.div_ceil(8);
    let top = bits - 8 * (len - 1); // bits used in the first byte, 1..=8
    let mut bytes = vec![0u8; len];
    loop {
        OsRng.fill_bytes(&mut bytes);
        bytes[0] &= u8::MAX >> (8 - top);
        if top >= 2 {
            bytes[0] |= 0b11 << (top - 2);
        } else {
            bytes[0] |= 1;
            bytes[1] |= 0x80;
        }
        bytes[len - 1] |= 1;
        let start = BigUint::from_bytes_be(&bytes);
        for offset in sieve(|m| rem_bytes(&bytes, m)) {
            let candidate = &start + BigUint::from(offset);
            if candidate.bits() != bits {
                break; // the window ran over the top: draw again
            }
            if probably_prime(&candidate, MR_ROUNDS) {
                return candidate;
            }
        }
    }
}

/// Generates an RSA private key of `bits` bits with public exponent 65537.
pub(super) fn generate(bits: usize) -> Result<rsa::RsaPrivateKey, String> {
    let error = |e: rsa::Error| format!("error generating rsa key: {e}");
    if bits < MIN_SIEVED_BITS {
        return rsa::RsaPrivateKey::new(&mut OsRng, bits).map_err(error);
    }
    let (p_bits, q_bits) = (bits - bits / 2, bits / 2);
    loop {
        // Two threads: the search for each prime is independent and takes most of the time.
        let (p, q) = std::thread::scope(|s| {
            let q = s.spawn(|| random_prime(q_bits));
            let p = random_prime(p_bits);
            (p, q.join())
        });
        let q = q.map_err(|_| "error generating rsa key: prime search panicked".to_owned())?;
        if p == q {
            continue; // never seen in practice; from_p_q refuses it
        }
        let key =
            rsa::RsaPrivateKey::from_p_q(p, q, BigUint::from(PUBLIC_EXPONENT)).map_err(error)?;
        key.validate().map_err(error)?;
        return Ok(key);
    }
}

#[cfg(test)]
mod tests {
    use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};

    use super::*;

    #[test]
    fn small_primes_are_the_odd_primes_below_65536() {
        let primes = small_primes();
        assert_eq!(primes.len(), 6541);
        assert_eq!(&primes[..5], &[3, 5, 7, 11, 13]);
        assert_eq!(primes.last(), Some(&65_521));
    }

    #[test]
    fn the_sieve_keeps_exactly_the_numbers_without_small_factors() {
        // A small odd start, so that every offset can be checked by trial division.
        let start: u64 = 1_000_000_007;
        let kept = sieve(|m| u32::try_from(start % u64::from(m)).unwrap_or(0));
        let naive: Vec<u64> = (0..WINDOW as u64)
            .map(|j| 2 * j)
            .filter(|&d| {
                let n = start + d;
                small_primes()
                    .iter()
                    .all(|&p| !n.is_multiple_of(u64::from(p)))
                    && n % u64::from(PUBLIC_EXPONENT) != 1
            })
            .collect();
        assert_eq!(kept, naive);
        assert!(!kept.is_empty());
    }

    #[test]
    fn remainders_of_big_endian_bytes() {
        let bytes = 0x1234_5678_9abc_def1_u64.to_be_bytes();
        for m in [3u32, 65_521, 65_537] {
            assert_eq!(
                u64::from(rem_bytes(&bytes, m)),
                0x1234_5678_9abc_def1_u64 % u64::from(m)
            );
        }
    }

    #[test]
    fn random_primes_have_the_requested_size_and_top_bits() {
        for bits in [512, 521] {
            let p = random_prime(bits);
            assert_eq!(p.bits(), bits);
            assert_eq!(&p >> (bits - 2), BigUint::from(3u32), "two top bits set");
            assert!(probably_prime(&p, MR_ROUNDS));
            let e = BigUint::from(PUBLIC_EXPONENT);
            assert_ne!((&p - 1u32) % &e, BigUint::from(0u32));
        }
    }

    #[test]
    fn keys_have_the_requested_size_and_are_valid() {
        let key = generate(2048).unwrap();
        assert_eq!(key.n().bits(), 2048);
        assert_eq!(key.e(), &BigUint::from(PUBLIC_EXPONENT));
        assert_eq!(key.primes().len(), 2);
        assert!(key.validate().is_ok());
        let small = generate(256).unwrap();
        assert_eq!(small.n().bits(), 256);
    }
}
