//! A fast hasher for the executor's own maps (functions, templates, include counts), which are
//! looked up on every function call and every `include`: the standard SipHash was a visible part
//! of a render. The keys are names from the chart and the function library, short strings for
//! which this multiply-rotate hash (the one rustc uses for its own tables) is several times
//! cheaper. It does not resist crafted collisions; a chart can only slow its own render that way.

use std::hash::{BuildHasherDefault, Hasher};

/// Builds [`NameHasher`]s.
pub type NameHash = BuildHasherDefault<NameHasher>;

/// Multiply-rotate hashing of machine words.
#[derive(Default, Clone, Copy)]
pub struct NameHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl NameHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher as _;

    use super::*;

    #[test]
    fn equal_names_hash_equal_and_different_names_differ() {
        let h = NameHash::default();
        assert_eq!(h.hash_one("include"), h.hash_one(String::from("include")));
        let names = [
            "a",
            "b",
            "ab",
            "ba",
            "include",
            "includ",
            "common.names.fullname",
            "",
        ];
        let hashes: std::collections::HashSet<u64> = names.iter().map(|n| h.hash_one(n)).collect();
        assert_eq!(hashes.len(), names.len());
    }
}
