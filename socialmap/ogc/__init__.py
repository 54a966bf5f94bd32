"""OGC API - Features: initiatives, kernen and gemeenten for GIS clients such as QGIS."""
