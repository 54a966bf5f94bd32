"""Seed the two facets of the Dutch taxonomy of informal care: category and audience.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAMESPACE = uuid.UUID("5b1f2a44-8a57-4c1e-9e55-50c1a1b0cafe")

# (code, Dutch name, English name, description, children)
CATEGORIES = [
    ("ontmoeting", "Ontmoeting", "Meeting place", "Elkaar ontmoeten: inloop, koffie, activiteiten",
     [("inloop", "Inloop en koffie", "Drop-in and coffee"),
      ("activiteiten", "Activiteiten en cursussen", "Activities and courses"),
      ("bezoekdienst", "Bezoek aan huis", "Home visits against loneliness")]),
    ("vervoer", "Vervoer", "Transport", "Vervoer naar arts, winkel of activiteit",
     [("vrijwilligersvervoer", "Vrijwilligersvervoer", "Volunteer drivers"),
      ("buurtbus", "Buurtbus", "Community bus")]),
    ("maaltijden", "Maaltijden", "Meals", "Samen eten of een maaltijd aan huis",
     [("samen-eten", "Samen eten", "Eating together"),
      ("maaltijdbezorging", "Maaltijden aan huis", "Meals delivered")]),
    ("boodschappen", "Boodschappen", "Shopping", "Hulp bij of bezorging van boodschappen", []),
    ("klussen", "Klussen", "Odd jobs", "Kleine klussen in en om het huis", []),
    ("burenhulp", "Burenhulp", "Neighbour help", "Hulp van dorpsgenoten bij dagelijkse dingen",
     [("naoberschap", "Naoberschap", "Neighbourliness (naoberschap)")]),
    ("mantelzorgondersteuning", "Mantelzorgondersteuning", "Support for carers",
     "Steun, advies en ontlasting voor mantelzorgers",
     [("respijtzorg", "Respijtzorg", "Respite care")]),
    ("dagbesteding", "Dagbesteding", "Day activities",
     "Een zinvolle dag met begeleiding, ook voor mensen met dementie", []),
    ("zorg", "Zorg en gezondheid", "Care and health", "Zorg dichtbij huis",
     [("wijkverpleging", "Wijkverpleging", "District nursing"),
      ("bewegen", "Bewegen", "Exercise"),
      ("zorgcooperatie", "Zorgcoöperatie", "Care co-operative")]),
    ("informatie-advies", "Informatie en advies", "Information and advice",
     "Vragen over zorg, welzijn, geld en wonen",
     [("formulierenhulp", "Hulp bij formulieren", "Help with forms"),
      ("sociaal-team", "Gebiedsteam / sociaal team", "Area team")]),
    ("opvoeden", "Opvoeden en opgroeien", "Parenting and growing up",
     "Steun voor ouders, kinderen en jongeren",
     [("ouders-helpen-ouders", "Ouders helpen ouders", "Parents helping parents")]),
    ("vrijwilligerswerk", "Vrijwilligerswerk", "Volunteering",
     "Zelf meedoen en iets voor een ander betekenen", []),
]

AUDIENCES = [
    ("iedereen", "Iedereen", "Everyone"),
    ("ouderen", "Ouderen", "Older people"),
    ("mantelzorgers", "Mantelzorgers", "Informal carers"),
    ("mensen-met-dementie", "Mensen met dementie", "People with dementia"),
    ("mensen-met-een-beperking", "Mensen met een beperking", "People with a disability"),
    ("jongeren", "Jongeren", "Young people"),
    ("gezinnen", "Ouders en kinderen", "Parents and children"),
    ("nieuwkomers", "Nieuwkomers", "Newcomers"),
    ("eenzamen", "Mensen die zich eenzaam voelen", "People who feel lonely"),
]


def _id(*parts: str) -> str:
    # Stable ids, so that exports and imports across installations agree.
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def upgrade() -> None:
    taxonomy = sa.table("taxonomy", sa.column("id"), sa.column("name"), sa.column("facet"),
                        sa.column("description"), sa.column("version"))
    term = sa.table("taxonomy_term", sa.column("id"), sa.column("taxonomy_id"),
                    sa.column("code"), sa.column("name"), sa.column("name_en"),
                    sa.column("description"), sa.column("parent_id"), sa.column("position"))
    cat_id, aud_id = _id("taxonomy", "category"), _id("taxonomy", "audience")
    op.bulk_insert(taxonomy, [
        {"id": cat_id, "name": "socialmap categorie", "facet": "category",
         "description": "Wat er geboden wordt: informele zorg en welzijn", "version": "1"},
        {"id": aud_id, "name": "socialmap doelgroep", "facet": "audience",
         "description": "Voor wie het aanbod is", "version": "1"},
    ])
    rows = []
    for pos, (code, name, name_en, desc, children) in enumerate(CATEGORIES):
        parent = _id("category", code)
        rows.append({"id": parent, "taxonomy_id": cat_id, "code": code, "name": name,
                     "name_en": name_en, "description": desc, "parent_id": None,
                     "position": pos * 10})
        for cpos, (ccode, cname, cname_en) in enumerate(children, start=1):
            rows.append({"id": _id("category", ccode), "taxonomy_id": cat_id, "code": ccode,
                         "name": cname, "name_en": cname_en, "description": None,
                         "parent_id": parent, "position": pos * 10 + cpos})
    for pos, (code, name, name_en) in enumerate(AUDIENCES):
        rows.append({"id": _id("audience", code), "taxonomy_id": aud_id, "code": code,
                     "name": name, "name_en": name_en, "description": None, "parent_id": None,
                     "position": pos})
    op.bulk_insert(term, rows)


def downgrade() -> None:
    op.execute("DELETE FROM attribute")
    op.execute("DELETE FROM taxonomy_term")
    op.execute("DELETE FROM taxonomy")
