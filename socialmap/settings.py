"""Access to the current app's Settings."""
from __future__ import annotations

from flask import current_app

from .config import Settings


def current() -> Settings:
    return current_app.extensions["socialmap.settings"]
