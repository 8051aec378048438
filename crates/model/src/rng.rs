//! The crate's only source of randomness: a seeded xoshiro256** generator, expanded from a
//! 64-bit seed with SplitMix64 as its authors recommend. Written here (a few lines) instead of
//! depending on `rand`, whose stream is not promised to stay the same across versions: a
//! seed must give the same split and the same model on every machine and every release.

/// Deterministic pseudo-random stream (xoshiro256** by Blackman and Vigna).
#[derive(Debug, Clone)]
pub(crate) struct SeededRng {
    state: [u64; 4],
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> SeededRng {
        let mut mix = seed;
        let mut state = [0u64; 4];
        for word in &mut state {
            *word = splitmix64(&mut mix);
        }
        SeededRng { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.state;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s1 << 17;
        let s2 = s2 ^ s0;
        let s3 = s3 ^ s1;
        let s1 = s1 ^ s2;
        let s0 = s0 ^ s3;
        let s2 = s2 ^ t;
        let s3 = s3.rotate_left(45);
        self.state = [s0, s1, s2, s3];
        result
    }

    /// Uniform integer in `0..bound` (`bound > 0`), by Lemire's multiply-and-reject, so
    /// no index is favoured however large the bound.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        let bound = bound as u64;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            let low = product as u64;
            if low >= bound.wrapping_neg() % bound {
                return (product >> 64) as usize;
            }
        }
    }

    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for a sub-task (fold assignment, validation split) derived from the user's seed,
/// so the sub-task's stream does not replay the split's.
pub(crate) fn derive_seed(seed: u64, purpose: u64) -> u64 {
    let mut state = seed ^ purpose.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    splitmix64(&mut state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = SeededRng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = SeededRng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..8)
            .map({
                let mut r = SeededRng::new(8);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SeededRng::new(1);
        let mut seen = [0usize; 7];
        for _ in 0..7000 {
            seen[rng.below(7)] += 1;
        }
        // Each bucket expects 1000; 800 is > 6 standard deviations away.
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
    }
}
