select library_version from pragma_version()
