//! Helpers shared by the integration tests that talk to a real PostgreSQL.

use sqlx::postgres::PgConnectOptions;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

/// The parts of the admin URL (`DVT_TEST_PG_URL`) the tests need.
#[derive(Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub admin_database: String,
}

impl Server {
    pub fn from_env() -> Self {
        let url = std::env::var("DVT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into());
        let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let (user_info, location) = rest.rsplit_once('@').unwrap_or(("postgres", rest));
        let (user, password) = user_info.split_once(':').unwrap_or((user_info, ""));
        let (host_port, database) = location.split_once('/').unwrap_or((location, "postgres"));
        let database = database.split('?').next().unwrap_or("postgres");
        let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
        Self {
            host: host.to_string(),
            port: port.parse().unwrap_or(5432),
            user: user.to_string(),
            password: password.to_string(),
            admin_database: database.to_string(),
        }
    }

    /// Connection options for `database` on this server.
    pub fn options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .password(&self.password)
            .database(database)
    }
}
