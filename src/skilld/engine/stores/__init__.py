"""skilld.engine.stores."""
