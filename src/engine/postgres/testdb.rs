//! A fresh database per test on the cluster `CAUDA_TEST_DATABASE_URL` names (`.ci/postgres
//! start` prints one); a test without it skips, saying why on stderr.

use tokio_postgres::{Config, NoTls};

/// The variable naming the test cluster.
pub(crate) const VAR: &str = "CAUDA_TEST_DATABASE_URL";

/// A database created for one test, dropped by [`TestDb::drop_db`].
pub(crate) struct TestDb {
    admin: Config,
    pub(crate) config: Config,
    pub(crate) name: String,
}

impl TestDb {
    /// A new empty database, or `None` (after saying so) when no test cluster is configured.
    #[allow(clippy::print_stderr, reason = "a skipped test says why")]
    pub(crate) async fn create(test: &str) -> Option<TestDb> {
        let Ok(url) = std::env::var(VAR) else {
            eprintln!(
                "SKIPPED {test}: {VAR} is unset (start a cluster with `.ci/postgres start` and \
                 export its URL to run the postgres backend's tests)"
            );
            return None;
        };
        let admin: Config = url.parse().expect("CAUDA_TEST_DATABASE_URL parses");
        let name = format!("cauda_test_{}", uuid::Uuid::new_v4().simple());
        let client = connect(&admin).await;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        let mut config = admin.clone();
        config.dbname(&name);
        Some(TestDb {
            admin,
            config,
            name,
        })
    }

    /// The database's URL.
    pub(crate) fn url(&self) -> String {
        let host = match &self.config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or("postgres");
        format!("postgres://{user}@{host}:{port}/{}", self.name)
    }

    pub(crate) async fn client(&self) -> tokio_postgres::Client {
        connect(&self.config).await
    }

    /// Drops the database (closing what is still connected to it).
    pub(crate) async fn drop_db(self) {
        connect(&self.admin)
            .await
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .expect("drop the test database");
    }
}

async fn connect(config: &Config) -> tokio_postgres::Client {
    let (client, conn) = config
        .connect(NoTls)
        .await
        .expect("connect to the test cluster");
    tokio::spawn(conn);
    client
}
