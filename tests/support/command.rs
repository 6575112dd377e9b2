//! The `dvt` binary as the tests run it: no colour, and none of the caller's
//! dvt settings, which would change what it does.

/// Environment variables that would change what dvt does; every test run clears them.
pub const DVT_VARIABLES: &[&str] = &[
    "DVT_PROJECT_DIR",
    "DVT_PROFILES_DIR",
    "DBT_PROFILES_DIR",
    "DVT_TARGET",
    "DVT_LOG_FORMAT",
    "DVT_WARN_ERROR",
    "DVT_FIXTURE_SCHEMA",
    // Inside GitHub Actions, dvt prints annotations by default.
    "GITHUB_ACTIONS",
    "GITHUB_WORKSPACE",
];

/// Clears the caller's dvt settings and turns colour off.
pub fn isolate(command: &mut std::process::Command) {
    for variable in DVT_VARIABLES {
        command.env_remove(variable);
    }
    command.env("NO_COLOR", "1");
}

/// The built `dvt` binary, isolated from the caller's settings.
pub fn dvt_command() -> assert_cmd::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("dvt"));
    isolate(&mut command);
    assert_cmd::Command::from_std(command)
}
