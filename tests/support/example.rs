//! A copy of the repository's own example project for a test: its models,
//! seeds, macros, snapshots, singular tests and project files, with its local
//! package installed, and none of the Rust sources or build output.

use std::path::Path;

/// The example project (the repository itself), without its Rust tests and artifacts.
pub fn copy_example_project(destination: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["models", "seeds", "macros", "analyses", "snapshots", "packages"] {
        copy_folder(&root.join(folder), &destination.join(folder));
    }
    std::fs::create_dir_all(destination.join("tests")).expect("create tests/");
    for entry in std::fs::read_dir(root.join("tests")).expect("read tests/") {
        let path = entry.expect("a tests/ entry").path();
        if path.extension().is_some_and(|extension| extension == "sql") {
            std::fs::copy(
                &path,
                destination.join("tests").join(path.file_name().expect("a file name")),
            )
            .expect("copy a singular test");
        }
    }
    std::fs::copy(root.join("project.yml"), destination.join("project.yml")).expect("copy project.yml");
    std::fs::copy(root.join("packages.yml"), destination.join("packages.yml")).expect("copy packages.yml");
    super::deps::install_packages(destination);
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|error| panic!("create {}: {error}", to.display()));
    let Ok(entries) = std::fs::read_dir(from) else { return };
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_folder(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap_or_else(|error| panic!("copy {}: {error}", path.display()));
        }
    }
}
