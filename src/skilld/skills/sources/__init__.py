"""skilld.skills.sources."""
