"""Resolving where a search starts (`near`): parsing, the offline resolver and the PDOK adapter."""
