//! Copies a fixture project into a temporary directory, for tests that run
//! the binary on it.

use std::path::Path;

/// Copies `source` into `destination`, leaving out the top-level entries named
/// in `skip` (such as `target`) and `dbt_packages/`, which `dvt deps` makes
/// again. Symlinks are copied as symlinks.
pub fn copy_tree(source: &Path, destination: &Path, skip: &[&str]) {
    std::fs::create_dir_all(destination).expect("create the destination");
    for entry in walkdir::WalkDir::new(source).min_depth(1) {
        let entry = entry.expect("walk the source tree");
        let relative = entry.path().strip_prefix(source).expect("inside the source tree");
        let top = relative
            .components()
            .next()
            .map(|part| part.as_os_str().to_string_lossy());
        if top.is_some_and(|top| skip.contains(&top.as_ref()) || top == "dbt_packages") {
            continue;
        }
        let target = destination.join(relative);
        if entry.file_type().is_symlink() {
            let link = std::fs::read_link(entry.path()).expect("read a symlink");
            std::os::unix::fs::symlink(link, &target).expect("copy a symlink");
        } else if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("create a directory");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
