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

/// Keeps what a test project's runs wrote (its `target/` and `logs/`, files
/// up to 4 MB) under `$DVT_TEST_ARTIFACTS` when that is set, as
/// `scripts/test.sh` sets it, so that the secrets scan after the suite sees
/// every test project's artifacts and logs, not only what outlives it.
/// Never panics: it runs as a project is dropped, maybe while a test unwinds.
#[allow(dead_code, reason = "not every test binary has a project to keep")]
pub fn keep_artifacts(project_dir: &std::path::Path) {
    let Some(root) = std::env::var_os("DVT_TEST_ARTIFACTS") else {
        return;
    };
    let name = project_dir
        .file_name()
        .map_or_else(|| "project".into(), |name| name.to_string_lossy().into_owned());
    for part in ["target", "logs"] {
        copy_small_files(
            &project_dir.join(part),
            &std::path::Path::new(&root).join(&name).join(part),
        );
    }
}

fn copy_small_files(from: &std::path::Path, to: &std::path::Path) {
    const LARGEST: u64 = 4 * 1024 * 1024;
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => copy_small_files(&path, &target),
            Ok(metadata) if metadata.len() <= LARGEST && std::fs::create_dir_all(to).is_ok() => {
                let _ = std::fs::copy(&path, &target);
            }
            _ => {}
        }
    }
}
