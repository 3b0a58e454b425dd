"""skilld.agent.models."""
