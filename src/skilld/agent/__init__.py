"""skilld.agent."""
