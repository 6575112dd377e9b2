//! End-to-end freshness for `dvt ingest --follow`: how long after an event
//! was produced (its Kafka timestamp) it became visible where the user
//! reads it, as percentiles over every event.
//!
//! Without `--refresh`, an event is visible once its batch commits to the
//! bronze table. With `--refresh`, it is visible in the refreshed models
//! once the first refresh that *started* after its batch committed has
//! finished: that refresh read the bronze table with the event in it.

/// Latencies in milliseconds: exact up to a minute, then to the second.
#[derive(Debug, Clone)]
pub struct Histogram {
    /// `millis[i]` counts latencies of `i` ms.
    millis: Vec<u64>,
    /// Latencies of a minute or more, by whole seconds.
    seconds: std::collections::BTreeMap<u64, u64>,
    count: u64,
}

const EXACT_MILLIS: u64 = 60_000;

impl Default for Histogram {
    fn default() -> Self {
        Self {
            millis: vec![0; EXACT_MILLIS as usize],
            seconds: std::collections::BTreeMap::new(),
            count: 0,
        }
    }
}

impl Histogram {
    /// Records one latency; a negative one (a producer's clock ahead of
    /// ours) counts as 0.
    pub fn record(&mut self, latency_millis: i64) {
        let latency = u64::try_from(latency_millis).unwrap_or(0);
        if latency < EXACT_MILLIS {
            self.millis[latency as usize] += 1;
        } else {
            *self.seconds.entry(latency / 1000).or_default() += 1;
        }
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The latency, in milliseconds, under which `quantile` (0 to 1) of the
    /// recorded ones fall; `None` when nothing was recorded.
    pub fn percentile(&self, quantile: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        // The rank of the wanted latency, 1-based (nearest-rank method).
        let rank = ((quantile.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (millis, count) in self.millis.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(millis as u64);
            }
        }
        for (seconds, count) in &self.seconds {
            seen += count;
            if seen >= rank {
                return Some(seconds * 1000);
            }
        }
        None
    }

    /// The longest latency recorded, in milliseconds (to the second beyond
    /// a minute); `None` when nothing was recorded.
    pub fn max(&self) -> Option<u64> {
        if let Some((seconds, _)) = self.seconds.iter().next_back() {
            return Some(seconds * 1000);
        }
        self.millis
            .iter()
            .rposition(|count| *count > 0)
            .map(|millis| millis as u64)
    }

    /// `p50 1.24s, p95 2.10s over 10,000 events`, or `no events yet`.
    pub fn describe(&self) -> String {
        match (self.percentile(0.5), self.percentile(0.95)) {
            (Some(p50), Some(p95)) => format!(
                "p50 {}, p95 {} over {} events",
                seconds(p50),
                seconds(p95),
                thousands(self.count)
            ),
            _ => "no events yet".to_string(),
        }
    }
}

fn seconds(millis: u64) -> String {
    format!("{:.2}s", millis as f64 / 1000.0)
}

/// `1234567` as `1,234,567`.
pub fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The freshness of one `--follow` run: events committed and waiting for
/// a refresh, events a running refresh will make visible, and the
/// latencies so far.
#[derive(Debug, Default)]
pub struct Freshness {
    /// Produced-at times of events committed since the last refresh started.
    waiting: Vec<i64>,
    /// Produced-at times of events the running refresh reads.
    refreshing: Vec<i64>,
    /// Every latency so far.
    pub overall: Histogram,
    /// Latencies since [`Freshness::take_window`] was last called.
    pub window: Histogram,
}

impl Freshness {
    /// A batch committed at `committed_at`. Without a refresh, its events
    /// are visible now; with one, they wait for the next refresh.
    pub fn committed(&mut self, produced_at: &[i64], committed_at: i64, refreshing: bool) {
        if refreshing {
            self.waiting.extend_from_slice(produced_at);
        } else {
            for produced in produced_at {
                self.record(committed_at - produced);
            }
        }
    }

    /// Whether events are waiting for a refresh.
    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// A refresh starts: it will make the waiting events visible.
    pub fn refresh_started(&mut self) {
        self.refreshing.append(&mut self.waiting);
    }

    /// The refresh finished at `finished_at`. When it failed, its events
    /// wait for the next one.
    pub fn refresh_finished(&mut self, finished_at: i64, succeeded: bool) {
        let events = std::mem::take(&mut self.refreshing);
        if succeeded {
            for produced in events {
                self.record(finished_at - produced);
            }
        } else {
            self.waiting.splice(0..0, events);
        }
    }

    fn record(&mut self, latency: i64) {
        self.overall.record(latency);
        self.window.record(latency);
    }

    /// The latencies since the last call, resetting them.
    pub fn take_window(&mut self) -> Histogram {
        std::mem::take(&mut self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut histogram = Histogram::default();
        assert_eq!(histogram.percentile(0.5), None);
        for latency in 1..=100 {
            histogram.record(latency);
        }
        assert_eq!(histogram.percentile(0.5), Some(50));
        assert_eq!(histogram.percentile(0.95), Some(95));
        assert_eq!(histogram.percentile(1.0), Some(100));
        assert_eq!(histogram.max(), Some(100));
        assert_eq!(histogram.count(), 100);
    }

    #[test]
    fn long_and_negative_latencies_are_kept() {
        let mut histogram = Histogram::default();
        histogram.record(-5);
        histogram.record(90_500);
        histogram.record(3_600_999);
        assert_eq!(histogram.percentile(0.1), Some(0));
        assert_eq!(histogram.percentile(0.5), Some(90_000));
        assert_eq!(histogram.percentile(0.99), Some(3_600_000));
        assert_eq!(histogram.max(), Some(3_600_000));
        assert_eq!(Histogram::default().max(), None);
    }

    #[test]
    fn without_refresh_events_are_visible_at_commit() {
        let mut freshness = Freshness::default();
        freshness.committed(&[1_000, 1_500], 2_000, false);
        assert_eq!(freshness.overall.percentile(0.5), Some(500));
        assert_eq!(freshness.overall.percentile(1.0), Some(1_000));
        assert!(!freshness.has_waiting());
    }

    #[test]
    fn with_refresh_events_are_visible_when_the_next_refresh_ends() {
        let mut freshness = Freshness::default();
        freshness.committed(&[1_000], 2_000, true);
        assert!(freshness.has_waiting());
        freshness.refresh_started();
        // Committed during the refresh: the next refresh shows it.
        freshness.committed(&[2_500], 3_000, true);
        freshness.refresh_finished(4_000, true);
        assert_eq!(freshness.overall.count(), 1);
        assert_eq!(freshness.overall.percentile(0.5), Some(3_000));
        freshness.refresh_started();
        freshness.refresh_finished(5_000, false);
        assert_eq!(freshness.overall.count(), 1, "a failed refresh shows nothing");
        freshness.refresh_started();
        freshness.refresh_finished(6_000, true);
        assert_eq!(freshness.overall.percentile(1.0), Some(3_500));
        assert_eq!(freshness.take_window().count(), 2);
        assert_eq!(freshness.window.count(), 0);
    }

    #[test]
    fn descriptions_read_well() {
        let mut histogram = Histogram::default();
        assert_eq!(histogram.describe(), "no events yet");
        for _ in 0..1_500 {
            histogram.record(1_240);
        }
        assert_eq!(histogram.describe(), "p50 1.24s, p95 1.24s over 1,500 events");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
