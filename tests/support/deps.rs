//! `dvt deps` for tests that copy the example project, whose `packages.yml`
//! installs its local package into `dbt_packages/`.

use std::path::Path;

/// Runs `dvt deps` in `project` and fails the test if it fails.
pub fn install_packages(project: &Path) {
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("dvt"))
        .arg("deps")
        .arg("--project-dir")
        .arg(project)
        .env("NO_COLOR", "1")
        .env_remove("DVT_PROJECT_DIR")
        .output()
        .expect("run dvt deps");
    assert!(
        output.status.success(),
        "dvt deps failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
