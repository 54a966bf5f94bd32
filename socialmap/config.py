"""Settings from SOCIALMAP_* environment variables, with safe defaults for the local cluster."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
PDOK_TILES = (
    "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
)
PDOK_ATTRIBUTION = 'Kaartgegevens &copy; <a href="https://www.kadaster.nl">Kadaster</a> (BRT)'
DATA_ATTRIBUTION = "Bron: CBS, Kadaster; GeoNames.org (CC BY 4.0)"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "ja"}


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment; one instance per app."""

    database_url: str | None = None
    var_dir: Path = PROJECT_ROOT / "var"
    pg_port: int = 55432
    geodata_dir: Path = PROJECT_ROOT.parent / "shared" / "geodata"
    seed_file: Path = PROJECT_ROOT / "data" / "initiatives.geojson"
    # Empty: a key kept in var/secret-key (made once), so that every worker and restart of a
    # local install signs sessions alike. Production sets SOCIALMAP_SECRET_KEY.
    secret_key: str = ""
    show_demo: bool = True
    tile_url: str = OSM_TILES
    tile_attribution: str = OSM_ATTRIBUTION
    geocoder: str = "offline"
    pdok_url: str = "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
    pool_size: int = 5
    statement_timeout_ms: int = 15000
    # Public answers (GET /api/v1/search and some pages, without cookies) are kept this many
    # seconds and the search sent with the same max-age; 0 turns the cache off. They are kept
    # in files in `answer_cache_dir`, shared by the workers (gunicorn_conf makes one per server
    # in /dev/shm), or per process when it is empty. MiB for each of the two caches.
    answer_cache_seconds: int = 60
    # After those seconds a kept answer is served this many seconds more, while it is made
    # again in the background (stale-while-revalidate, socialmap.web.refresh); 0: never.
    answer_stale_seconds: int = 60
    answer_cache_mb: int = 128
    answer_cache_dir: str = ""
    # Gap analysis norms overriding the defaults, e.g. "ontmoeting=3km, vervoer=serve"
    # (see docs/GAPS.md and socialmap/services/gaps.py).
    gap_norms: str = ""
    # Digest e-mails of area teams' subscriptions (docs/ALERTS.md). No host: nothing is sent.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "socialmap <noreply@localhost>"
    smtp_starttls: bool = False
    # The site's address as links in e-mails and feeds name it (no request to take it from).
    site_url: str = "http://127.0.0.1:5000"
    testing: bool = False

    def with_secret_key(self) -> Settings:
        """These settings with a secret key: the given one, or the one kept in var/."""
        if self.secret_key:
            return self
        path = self.var_dir / "secret-key"
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets.token_hex(32))
                path.chmod(0o600)
            return replace(self, secret_key=path.read_text().strip())
        except OSError:
            return replace(self, secret_key=secrets.token_hex(32))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from SOCIALMAP_<FIELD> variables, then apply overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"SOCIALMAP_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            if "bool" in kind:
                values[f.name] = _bool(raw)
            elif kind == "int":
                values[f.name] = int(raw)
            elif "Path" in kind:
                values[f.name] = Path(raw).expanduser().resolve()
            else:
                values[f.name] = raw
        if values.get("tile_url", "").lower() == "pdok":
            values["tile_url"] = PDOK_TILES
            values.setdefault("tile_attribution", PDOK_ATTRIBUTION)
        return replace(cls(**values), **overrides)
