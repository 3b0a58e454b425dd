"""skilld.engine.brokers."""
