"""flower-java interop app for the Message API and Context (python/fleet/msgapp)."""
