"""skilld.hooks."""
