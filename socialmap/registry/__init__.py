"""The registry's exchange format: import, export, the curated seed and the generated sets."""
