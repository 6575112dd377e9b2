//! The warehouses the integration matrix runs on.

/// The warehouse a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    DuckDb,
}

impl Engine {
    /// The value for this engine, where the two differ (a type's name, how
    /// a value prints).
    #[allow(dead_code, reason = "included by every matrix test binary; not every one picks")]
    pub fn pick<T>(self, postgres: T, duckdb: T) -> T {
        match self {
            Engine::Postgres => postgres,
            Engine::DuckDb => duckdb,
        }
    }
}
