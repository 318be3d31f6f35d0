//! A deterministic xorshift64* generator for the randomized unit tests: the same seed gives
//! the same cases on every machine, so a failure can be replayed.

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// An index into a slice of `len` items.
    pub fn index(&mut self, len: usize) -> usize {
        (self.next() % len as u64) as usize
    }
}
