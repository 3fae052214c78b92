"""Fleet API interop test app for flower-java."""
