"""Reference geography, the registry, the change log and its triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KINDS = (
    "dorpshuis", "kulturhus", "dorpsdagvoorziening", "vrijwilligersnetwerk", "burenhulp",
    "zorginitiatief", "zorgcooperatie", "ontmoetingsplek", "maaltijdvoorziening",
    "vervoersdienst", "gebiedsteam", "wijkverpleging", "welzijnsorganisatie", "lotgenotengroep",
    "overig",
)
STATUSES = ("active", "inactive", "defunct", "temporarily closed")
LOCATION_TYPES = ("physical", "virtual", "private")
PRECISIONS = ("address", "pc4", "district", "kern", "gemeente")
LEGAL_FORMS = (
    "stichting", "vereniging", "cooperatie", "informele groep", "gemeente", "bedrijf", "overig",
)
AUDITED = (
    "organization", "service", "location", "service_at_location", "service_area", "attribute",
    "schedule", "contact", "phone",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _point() -> Geometry:
    return Geometry("POINT", srid=28992, spatial_index=False)


def _area() -> Geometry:
    return Geometry("MULTIPOLYGON", srid=28992, spatial_index=False)


def _uuid_pk() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True,
                     server_default=sa.text("gen_random_uuid()"))


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    ]


def _gist(table: str, column: str) -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], postgresql_using="gist")


def upgrade() -> None:
    for ext in ("postgis", "unaccent", "pg_trgm"):
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")
    # unaccent() is STABLE; an IMMUTABLE wrapper with a fixed dictionary may be indexed.
    op.execute(
        "CREATE FUNCTION sm_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        "STRICT AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$"
    )

    op.create_table(
        "provincie",
        sa.Column("code", sa.String(4), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("inhabitants", sa.Integer),
        sa.Column("area", _area(), nullable=False),
    )
    _gist("provincie", "area")
    op.create_table(
        "gemeente",
        sa.Column("code", sa.String(6), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("provincie_code", sa.String(4), sa.ForeignKey("provincie.code")),
        sa.Column("inhabitants", sa.Integer),
        sa.Column("pct_65plus", sa.Numeric(5, 1)),
        sa.Column("area", _area(), nullable=False),
        sa.CheckConstraint("code ~ '^GM[0-9]{4}$'", name="code"),
    )
    _gist("gemeente", "area")
    op.create_table(
        "pc4",
        sa.Column("code", sa.String(4), primary_key=True),
        sa.Column("inhabitants", sa.Integer),
        sa.Column("inhabitants_65plus", sa.Integer),
        sa.Column("inhabitants_75plus", sa.Integer),
        sa.Column("area", _area()),
        sa.Column("centroid", _point(), nullable=False),
        sa.CheckConstraint("code ~ '^[1-9][0-9]{3}$'", name="code"),
    )
    _gist("pc4", "area")
    _gist("pc4", "centroid")
    op.create_table(
        "kern",
        sa.Column("code", sa.String(80), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
        sa.Column("gemeente_code", sa.String(6), sa.ForeignKey("gemeente.code"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("geonameid", sa.Integer),
        sa.Column("pc4_codes", JSONB),
        sa.Column("inhabitants", sa.Integer, server_default="0", nullable=False),
        sa.Column("inhabitants_65plus", sa.Integer, server_default="0", nullable=False),
        sa.Column("inhabitants_75plus", sa.Integer, server_default="0", nullable=False),
        sa.Column("point", _point(), nullable=False),
        sa.Column("area", _area(), nullable=False),
        sa.CheckConstraint(_in("source", ("woonplaats", "geonames", "gemeente")), name="source"),
    )
    _gist("kern", "area")
    _gist("kern", "point")
    op.create_index("ix_kern_gemeente_code", "kern", ["gemeente_code"])
    op.create_index("ix_kern_name_key_trgm", "kern", ["name_key"], postgresql_using="gin",
                    postgresql_ops={"name_key": "gin_trgm_ops"})
    op.create_table(
        "dataset_load",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("counts", JSONB, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )

    op.create_table(
        "organization",
        _uuid_pk(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("legal_form", sa.String(20), server_default="overig", nullable=False),
        sa.Column("website", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("is_demo", sa.Boolean, server_default="false", nullable=False),
        sa.Column("source", sa.Text),
        *_timestamps(),
        sa.CheckConstraint(_in("legal_form", LEGAL_FORMS), name="legal_form"),
        sa.CheckConstraint("length(trim(name)) > 0", name="name"),
    )
    op.create_table(
        "service",
        _uuid_pk(),
        sa.Column("organization_id", UUID(as_uuid=True),
                  sa.ForeignKey("organization.id", ondelete="SET NULL")),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("alternate_name", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), server_default="active", nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("fees_description", sa.Text),
        sa.Column("eligibility_description", sa.Text),
        sa.Column("accessibility", sa.Text),
        sa.Column("schedule_note", sa.Text),
        sa.Column("assured_date", sa.Date),
        sa.Column("assurer", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("source_url", sa.Text),
        sa.Column("is_demo", sa.Boolean, server_default="false", nullable=False),
        sa.Column("version", sa.Integer, server_default="1", nullable=False),
        sa.Column(
            "search_vector", TSVECTOR,
            sa.Computed(
                "setweight(to_tsvector('dutch'::regconfig, sm_unaccent("
                "coalesce(name, '') || ' ' || coalesce(alternate_name, ''))), 'A') || "
                "setweight(to_tsvector('dutch'::regconfig, sm_unaccent("
                "coalesce(description, ''))), 'B')",
                persisted=True,
            ),
        ),
        *_timestamps(),
        sa.CheckConstraint(_in("kind", KINDS), name="kind"),
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
        sa.CheckConstraint("length(trim(name)) > 0", name="name"),
    )
    op.create_index("ix_service_organization_id", "service", ["organization_id"])
    op.create_index("ix_service_search_vector", "service", ["search_vector"],
                    postgresql_using="gin")
    op.create_table(
        "location",
        _uuid_pk(),
        sa.Column("name", sa.Text),
        sa.Column("location_type", sa.String(10), server_default="physical", nullable=False),
        sa.Column("address", sa.Text),
        sa.Column("postal_code", sa.String(7)),
        sa.Column("city", sa.Text),
        sa.Column("pc4", sa.String(4)),
        sa.Column("kern_code", sa.String(80), sa.ForeignKey("kern.code")),
        sa.Column("precision", sa.String(10), nullable=False),
        sa.Column("geom", _point(), nullable=False),
        sa.Column("is_demo", sa.Boolean, server_default="false", nullable=False),
        *_timestamps(),
        sa.CheckConstraint(_in("location_type", LOCATION_TYPES), name="location_type"),
        sa.CheckConstraint(_in("precision", PRECISIONS), name="precision"),
    )
    _gist("location", "geom")
    op.create_index("ix_location_kern_code", "location", ["kern_code"])
    op.create_table(
        "service_at_location",
        _uuid_pk(),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE"), nullable=False),
        sa.Column("location_id", UUID(as_uuid=True),
                  sa.ForeignKey("location.id", ondelete="CASCADE"), nullable=False),
        sa.UniqueConstraint("service_id", "location_id"),
    )
    op.create_index("ix_service_at_location_location_id", "service_at_location", ["location_id"])
    op.create_table(
        "service_area",
        _uuid_pk(),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kern_code", sa.String(80), sa.ForeignKey("kern.code"), nullable=False),
        sa.UniqueConstraint("service_id", "kern_code"),
    )
    op.create_index("ix_service_area_kern_code", "service_area", ["kern_code"])
    op.create_table(
        "taxonomy",
        _uuid_pk(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("facet", sa.String(10), nullable=False, unique=True),
        sa.Column("description", sa.Text),
        sa.Column("version", sa.Text),
        sa.CheckConstraint(_in("facet", ("category", "audience")), name="facet"),
    )
    op.create_table(
        "taxonomy_term",
        _uuid_pk(),
        sa.Column("taxonomy_id", UUID(as_uuid=True), sa.ForeignKey("taxonomy.id"),
                  nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("parent_id", UUID(as_uuid=True), sa.ForeignKey("taxonomy_term.id")),
        sa.Column("position", sa.SmallInteger, server_default="0", nullable=False),
        sa.UniqueConstraint("taxonomy_id", "code"),
    )
    op.create_index("ix_taxonomy_term_parent_id", "taxonomy_term", ["parent_id"])
    op.create_table(
        "attribute",
        _uuid_pk(),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE"), nullable=False),
        sa.Column("taxonomy_term_id", UUID(as_uuid=True), sa.ForeignKey("taxonomy_term.id"),
                  nullable=False),
        sa.Column("value", sa.Text),
        sa.UniqueConstraint("service_id", "taxonomy_term_id"),
    )
    op.create_index("ix_attribute_taxonomy_term_id", "attribute", ["taxonomy_term_id"])
    op.create_table(
        "schedule",
        _uuid_pk(),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE"), nullable=False),
        sa.Column("weekday", sa.SmallInteger, nullable=False),
        sa.Column("opens_at", sa.Time, nullable=False),
        sa.Column("closes_at", sa.Time, nullable=False),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("description", sa.Text),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday"),
        sa.CheckConstraint("opens_at < closes_at", name="opens_before_closes"),
    )
    op.create_index("ix_schedule_service_id", "schedule", ["service_id"])
    op.create_table(
        "contact",
        _uuid_pk(),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE")),
        sa.Column("organization_id", UUID(as_uuid=True),
                  sa.ForeignKey("organization.id", ondelete="CASCADE")),
        sa.Column("name", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("is_private", sa.Boolean, server_default="false", nullable=False),
        sa.CheckConstraint("num_nonnulls(service_id, organization_id) = 1", name="owner"),
    )
    op.create_index("ix_contact_service_id", "contact", ["service_id"])
    op.create_table(
        "phone",
        _uuid_pk(),
        sa.Column("contact_id", UUID(as_uuid=True),
                  sa.ForeignKey("contact.id", ondelete="CASCADE")),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE")),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("is_private", sa.Boolean, server_default="false", nullable=False),
        sa.CheckConstraint("num_nonnulls(contact_id, service_id) = 1", name="owner"),
    )
    op.create_index("ix_phone_service_id", "phone", ["service_id"])
    op.create_index("ix_phone_contact_id", "phone", ["contact_id"])

    op.create_table(
        "change",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("entity_id", UUID(as_uuid=True), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True)),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("field", sa.String(60)),
        sa.Column("old_value", JSONB),
        sa.Column("new_value", JSONB),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("txid", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint(_in("action", ("create", "update", "delete")), name="action"),
    )
    op.create_index("ix_change_entity_id", "change", ["entity_id"])
    op.create_index("ix_change_service_id", "change", ["service_id"])
    op.create_index("ix_change_changed_at", "change", ["changed_at"])

    # Every write from any path (ORM, Core, import, psql) lands in the change log. Who and
    # through what come from the transaction-local settings socialmap.actor/.source.
    op.execute("""
    CREATE FUNCTION sm_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      o jsonb; n jsonb;
      skip text[] := ARRAY['search_vector', 'last_modified', 'created_at', 'version'];
      who text := coalesce(nullif(current_setting('socialmap.actor', true), ''), session_user);
      src text := coalesce(nullif(current_setting('socialmap.source', true), ''), 'sql');
    BEGIN
      IF current_setting('socialmap.audit', true) = 'off' THEN RETURN NULL; END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN o := to_jsonb(OLD) - skip; END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') THEN n := to_jsonb(NEW) - skip; END IF;
      IF TG_OP = 'INSERT' THEN
        INSERT INTO change (entity_type, entity_id, service_id, action, new_value,
                            changed_by, source, txid)
        VALUES (TG_TABLE_NAME, (n->>'id')::uuid,
                CASE WHEN TG_TABLE_NAME = 'service' THEN (n->>'id')::uuid
                     ELSE (n->>'service_id')::uuid END,
                'create', n, who, src, txid_current());
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO change (entity_type, entity_id, service_id, action, old_value,
                            changed_by, source, txid)
        VALUES (TG_TABLE_NAME, (o->>'id')::uuid,
                CASE WHEN TG_TABLE_NAME = 'service' THEN (o->>'id')::uuid
                     ELSE (o->>'service_id')::uuid END,
                'delete', o, who, src, txid_current());
      ELSE
        INSERT INTO change (entity_type, entity_id, service_id, action, field, old_value,
                            new_value, changed_by, source, txid)
        SELECT TG_TABLE_NAME, (n->>'id')::uuid,
               CASE WHEN TG_TABLE_NAME = 'service' THEN (n->>'id')::uuid
                    ELSE (n->>'service_id')::uuid END,
               'update', e.key, o->e.key, e.value, who, src, txid_current()
          FROM jsonb_each(n) AS e
         WHERE o->e.key IS DISTINCT FROM e.value;
      END IF;
      RETURN NULL;
    END $$
    """)
    # last_modified moves on every real change; the version counter is bumped by the server
    # so that raw SQL writes also defeat a stale optimistic lock.
    op.execute("""
    CREATE FUNCTION sm_touch() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF to_jsonb(NEW) - ARRAY['last_modified', 'version', 'search_vector'] IS DISTINCT FROM
         to_jsonb(OLD) - ARRAY['last_modified', 'version', 'search_vector'] THEN
        NEW.last_modified := now();
        IF TG_TABLE_NAME = 'service' THEN NEW.version := OLD.version + 1; END IF;
      END IF;
      RETURN NEW;
    END $$
    """)
    for table in AUDITED:
        op.execute(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION sm_audit()"
        )
    for table in ("organization", "service", "location"):
        op.execute(
            f"CREATE TRIGGER {table}_touch BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION sm_touch()"
        )


def downgrade() -> None:
    for table in (
        "change", "phone", "contact", "schedule", "attribute", "taxonomy_term", "taxonomy",
        "service_area", "service_at_location", "location", "service", "organization",
        "dataset_load", "kern", "pc4", "gemeente", "provincie",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION sm_touch()")
    op.execute("DROP FUNCTION sm_audit()")
    op.execute("DROP FUNCTION sm_unaccent(text)")
