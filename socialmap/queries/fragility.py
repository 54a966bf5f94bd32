"""Fragility statements: which initiatives of some kernen are at risk, and why.

One statement per question. The initiatives of the kernen are those located in them or with
them in their service area (as the gap analysis counts a must-serve norm); the work is bounded
by the kernen asked for, so a gemeente costs the same on a country-wide registry as on a
small one (indexes on location.kern_code and service_area.kern_code).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from ..vocab import VISIBLE_STATUSES

_AT_RISK = """
WITH kk AS (
  SELECT code FROM kern WHERE gemeente_code = ANY(:gemeenten)
), link AS (
  SELECT sal.service_id, l.kern_code
    FROM location l JOIN service_at_location sal ON sal.location_id = l.id
   WHERE l.kern_code IN (SELECT code FROM kk) AND l.location_type <> 'virtual'
  UNION
  SELECT sa.service_id, sa.kern_code FROM service_area sa
   WHERE sa.kern_code IN (SELECT code FROM kk)
), svc AS (
  SELECT s.id, s.name, s.kind, s.status, s.assured_date
    FROM service s
   WHERE s.id IN (SELECT service_id FROM link) AND s.status = ANY(:statuses)
     AND (:demo OR NOT s.is_demo)
), term_cat AS (
  SELECT t.id, coalesce(p.code, t.code) AS category
    FROM taxonomy_term t
    JOIN taxonomy tx ON tx.id = t.taxonomy_id AND tx.facet = 'category'
    LEFT JOIN taxonomy_term p ON p.id = t.parent_id
), cat AS (
  -- Per service through its own attributes (the unique index on service_id leads), not
  -- over every service of a category; OFFSET 0 keeps the planner from flattening it.
  SELECT DISTINCT svc.id AS service_id, tc.category
    FROM svc
    CROSS JOIN LATERAL (SELECT a.taxonomy_term_id FROM attribute a
                         WHERE a.service_id = svc.id OFFSET 0) a
    JOIN term_cat tc ON tc.id = a.taxonomy_term_id
), wanted AS (
  SELECT svc.* FROM svc
   WHERE cast(:category AS text) IS NULL
      OR svc.id IN (SELECT service_id FROM cat WHERE cat.category = :category)
), sole AS (
  -- Kernen and categories with exactly one running provider; min() is that one.
  SELECT link.kern_code, cat.category, min(link.service_id::text)::uuid AS service_id
    FROM link
    JOIN svc ON svc.id = link.service_id AND svc.status = 'active'
    JOIN cat ON cat.service_id = link.service_id
   WHERE cast(:category AS text) IS NULL OR cat.category = :category
   GROUP BY link.kern_code, cat.category
  HAVING count(DISTINCT link.service_id) = 1
), link_agg AS (
  SELECT service_id, array_agg(DISTINCT kern_code ORDER BY kern_code) AS kern_codes
    FROM link GROUP BY service_id
), cat_agg AS (
  SELECT service_id, array_agg(category ORDER BY category) AS categories
    FROM cat GROUP BY service_id
), sole_agg AS (
  SELECT service_id, jsonb_agg(jsonb_build_object('kern_code', kern_code, 'category', category)
                               ORDER BY kern_code, category) AS sole
    FROM sole GROUP BY service_id
), fund_agg AS (
  SELECT f.service_id, jsonb_agg(jsonb_build_object('source', f.source, 'ends_on', f.ends_on)
                                 ORDER BY f.ends_on, f.source) AS funding
    FROM funding f
   WHERE f.service_id IN (SELECT id FROM wanted)
     AND f.ends_on IS NOT NULL AND f.ends_on <= :funding_before
   GROUP BY f.service_id
)
SELECT w.id, w.name, w.kind, w.status, w.assured_date, la.kern_codes, ca.categories,
       coalesce(sa.sole, '[]'::jsonb) AS sole, coalesce(fa.funding, '[]'::jsonb) AS funding
  FROM wanted w
  JOIN link_agg la ON la.service_id = w.id
  LEFT JOIN cat_agg ca ON ca.service_id = w.id
  LEFT JOIN sole_agg sa ON sa.service_id = w.id
  LEFT JOIN fund_agg fa ON fa.service_id = w.id
 WHERE w.status = 'temporarily closed'
    OR w.assured_date IS NULL OR w.assured_date < :verified_before
    OR sa.service_id IS NOT NULL OR fa.service_id IS NOT NULL
 ORDER BY w.name, w.id
"""

_KERNEN = """
SELECT k.code, k.name, k.gemeente_code, g.name AS gemeente_name, k.inhabitants,
       k.inhabitants_65plus, k.inhabitants_75plus
  FROM kern k JOIN gemeente g ON g.code = k.gemeente_code
 WHERE k.gemeente_code = ANY(:gemeenten)
 ORDER BY g.name, k.name, k.code
"""


def at_risk(conn: Connection, gemeenten: Sequence[str], *, verified_before: date,
            funding_before: date, include_demo: bool, category: str | None) -> list[Any]:
    """Visible initiatives of the gemeenten's kernen with at least one reason to be at risk:
    temporarily closed, not verified since `verified_before`, funding ending by
    `funding_before`, or the only running provider of a category in one of the kernen."""
    return list(conn.execute(text(_AT_RISK), {
        "gemeenten": list(gemeenten), "statuses": list(VISIBLE_STATUSES),
        "demo": include_demo, "category": category, "verified_before": verified_before,
        "funding_before": funding_before}))


def kernen(conn: Connection, gemeenten: Sequence[str]) -> list[Any]:
    """The kernen of the gemeenten with their people, by gemeente and kern name."""
    return list(conn.execute(text(_KERNEN), {"gemeenten": list(gemeenten)}))


def gemeenten_of_provincie(conn: Connection, provincie: str) -> list[str]:
    """The CBS codes of a provincie's gemeenten."""
    return list(conn.execute(text("SELECT code FROM gemeente WHERE provincie_code = :p "
                                  "ORDER BY code"), {"p": provincie}).scalars())
