"""Typed SQLAlchemy models; the schema itself lives in the Alembic migrations."""
from .accounts import RateBucket, User, UserGemeente, UserSession
from .audit import Change
from .base import RD_NEW, Base
from .gaps import GapArea, GapCoverage, GapDirty, GapPoint
from .geography import DatasetLoad, Gemeente, Kern, Pc4, Provincie
from .hsds import HsdsRecord
from .registry import (
    Attribute,
    Contact,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from .search import KernPiece, SearchDoc
from .submissions import ServiceArchive, Submission, SubmissionField
from .voice import DemandSignal, Funding, Need, Subscription, Support

__all__ = [
    "RD_NEW", "Attribute", "Base", "Change", "Contact", "DatasetLoad", "Gemeente", "HsdsRecord",
    "Kern", "Location", "Organization", "Pc4", "Phone", "Provincie", "Schedule", "Service",
    "ServiceArea", "ServiceAtLocation", "Taxonomy", "TaxonomyTerm",
    "RateBucket", "ServiceArchive", "Submission", "SubmissionField", "User", "UserGemeente",
    "UserSession", "DemandSignal", "Funding", "Need", "Subscription", "Support",
    "GapArea", "GapCoverage", "GapDirty", "GapPoint", "KernPiece", "SearchDoc",
]
