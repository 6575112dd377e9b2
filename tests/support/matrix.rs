//! `matrix!(name)`: runs the test function `name(engine: Engine)` on both
//! adapters, as `name::postgres` and `name::duckdb`. The including file
//! brings `Engine` into scope.

macro_rules! matrix {
    ($name:ident) => {
        mod $name {
            #[test]
            fn postgres() {
                super::$name(super::Engine::Postgres);
            }

            #[test]
            fn duckdb() {
                super::$name(super::Engine::DuckDb);
            }
        }
    };
}
