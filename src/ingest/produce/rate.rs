//! The rate limit of `dvt produce`: a token bucket that refills at `rate`
//! tokens a second and holds at most a twentieth of a second's worth (at
//! least one), so that the rate holds over any second while the producer
//! still hands librdkafka small bursts rather than one message at a time.
//!
//! Time is passed in, so the bucket is tested without a clock.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A bucket of `rate` tokens a second, full at `now`. `rate` must be positive.
    pub fn new(rate: u64, now: Instant) -> Self {
        let rate = rate.max(1) as f64;
        let capacity = (rate / 20.0).max(1.0);
        Self {
            rate,
            capacity,
            tokens: capacity,
            refilled_at: now,
        }
    }

    /// Takes one token at `now`: `None` when there was one, else how long
    /// until there is.
    pub fn take(&mut self, now: Instant) -> Option<Duration> {
        let elapsed = now.saturating_duration_since(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.refilled_at = self.refilled_at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes tokens as fast as the bucket allows over `seconds` of simulated
    /// time, waiting exactly as long as it says, and returns how many.
    fn taken_in(bucket: &mut TokenBucket, start: Instant, seconds: u64) -> u64 {
        let end = start + Duration::from_secs(seconds);
        let mut now = start;
        let mut taken = 0;
        while now < end {
            match bucket.take(now) {
                None => taken += 1,
                Some(wait) => {
                    assert!(wait > Duration::ZERO);
                    now += wait;
                }
            }
        }
        taken
    }

    #[test]
    fn the_bucket_holds_the_rate_over_simulated_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(5_000, start);
        let taken = taken_in(&mut bucket, start, 10);
        // 10 s at 5,000/s, plus the first burst of at most 250.
        assert!((50_000..=50_250).contains(&taken), "{taken}");
    }

    #[test]
    fn a_slow_rate_gives_one_token_at_a_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, start);
        assert_eq!(bucket.take(start), None);
        let wait = bucket.take(start).expect("the bucket is empty");
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert_eq!(bucket.take(start + Duration::from_millis(100)), None);
        // An idle minute does not bank more than the capacity.
        let later = start + Duration::from_secs(60);
        assert_eq!(bucket.take(later), None);
        assert!(bucket.take(later).is_some());
    }

    #[test]
    fn a_clock_that_goes_back_takes_nothing_extra() {
        let start = Instant::now() + Duration::from_secs(1);
        let mut bucket = TokenBucket::new(1, start);
        assert_eq!(bucket.take(start), None);
        assert!(bucket.take(start - Duration::from_millis(500)).is_some());
        assert!(bucket.take(start).is_some());
    }
}
