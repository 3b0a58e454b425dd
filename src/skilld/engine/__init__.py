"""skilld.engine."""
