"""skilld."""
