"""skilld.skills."""
