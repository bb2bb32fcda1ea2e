"""nitro layer."""
