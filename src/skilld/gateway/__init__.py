"""skilld.gateway."""
