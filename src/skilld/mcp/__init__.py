"""skilld.mcp."""
