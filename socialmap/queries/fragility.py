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
), cat AS (
  SELECT DISTINCT a.service_id, coalesce(p.code, t.code) AS category
    FROM attribute a
    JOIN svc ON svc.id = a.service_id
    JOIN taxonomy_term t ON t.id = a.taxonomy_term_id
    JOIN taxonomy tx ON tx.id = t.taxonomy_id AND tx.facet = 'category'
    LEFT JOIN taxonomy_term p ON p.id = t.parent_id
), wanted AS (
  SELECT svc.* FROM svc
   WHERE cast(:category AS text) IS NULL
      OR EXISTS (SELECT 1 FROM cat WHERE cat.service_id = svc.id AND cat.category = :category)
), sole AS (
  -- Kernen and categories with exactly one running provider; min() is that one.
  SELECT link.kern_code, cat.category, min(link.service_id::text)::uuid AS service_id
    FROM link
    JOIN svc ON svc.id = link.service_id AND svc.status = 'active'
    JOIN cat ON cat.service_id = link.service_id
   WHERE cast(:category AS text) IS NULL OR cat.category = :category
   GROUP BY link.kern_code, cat.category
  HAVING count(DISTINCT link.service_id) = 1
), fund AS (
  SELECT f.service_id, f.source, f.ends_on
    FROM funding f JOIN wanted w ON w.id = f.service_id
   WHERE f.ends_on IS NOT NULL AND f.ends_on <= :funding_before
)
SELECT w.id, w.name, w.kind, w.status, w.assured_date,
       (SELECT array_agg(DISTINCT link.kern_code ORDER BY link.kern_code) FROM link
         WHERE link.service_id = w.id) AS kern_codes,
       (SELECT array_agg(cat.category ORDER BY cat.category) FROM cat
         WHERE cat.service_id = w.id) AS categories,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('kern_code', sole.kern_code,
                                                      'category', sole.category)
                                  ORDER BY sole.kern_code, sole.category), '[]'::jsonb)
          FROM sole WHERE sole.service_id = w.id) AS sole,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('source', fund.source,
                                                      'ends_on', fund.ends_on)
                                  ORDER BY fund.ends_on), '[]'::jsonb)
          FROM fund WHERE fund.service_id = w.id) AS funding
  FROM wanted w
 WHERE w.status = 'temporarily closed'
    OR w.assured_date IS NULL OR w.assured_date < :verified_before
    OR EXISTS (SELECT 1 FROM sole WHERE sole.service_id = w.id)
    OR EXISTS (SELECT 1 FROM fund WHERE fund.service_id = w.id)
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
