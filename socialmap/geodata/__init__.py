"""Reference geography: read the CBS/GeoNames files, download them, load them into PostGIS."""
from .loader import LOADER_VERSION, LoadReport, load_geography
from .sources import GeodataError

__all__ = ["LOADER_VERSION", "GeodataError", "LoadReport", "load_geography"]
