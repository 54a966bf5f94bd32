"""The stored coverage (gap_coverage): dirty cells to stale rows, reading rows with whether
they are fresh for the norms asked, and writing recomputed rows.

Triggers mark (category, 10 km cell) in gap_dirty whenever a counted point or service area
changes (migration 0010). A read first claims the dirty cells of its categories and marks
stale every stored row whose kern point lies within that row's search distance of a claimed
cell: only those can have another nearest distance or count. A row is fresh when it is not
stale and was computed for the norm and search distance asked for now.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert

from ..models import GapCoverage, GapDirty
from .gaps import PEOPLE, G, K, NormRow, Scope, bind_values, kernen_where, norm_cte

C = GapCoverage.__table__
D = GapDirty.__table__

# Frozen in migration 0010 too: the size of a dirty cell on the RD grid.
DIRTY_CELL_M = 10_000
# The largest search distance of any norm (services.gaps.SEARCH_MAX_M); bounds the index scan.
MAX_SEARCH_M = 50_000
TEXTS = ARRAY(Text)


def has_dirty(conn: Connection, categories: Sequence[str]) -> bool:
    """Whether any of these categories has dirty cells."""
    return bool(conn.execute(select(
        select(D.c.category).where(D.c.category == func.any(bindparam("categories",
                                                                      type_=TEXTS)))
        .exists()), {"categories": list(categories)}).scalar_one())


def lock(conn: Connection, categories: Sequence[str]) -> None:
    """Take the transaction's lock on recomputing these categories, in sorted order, so that
    concurrent readers neither deadlock nor recount the same rows twice."""
    for category in sorted(set(categories)):
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext("socialmap.gaps"),
                                                       func.hashtext(bindparam("c")))),
                     {"c": category})


def claim_dirty(conn: Connection, categories: Sequence[str]) -> int:
    """Take the dirty cells of these categories and mark the stored rows they touch stale;
    returns how many cells were claimed."""
    claimed = (delete(D).where(D.c.category == func.any(bindparam("categories", type_=TEXTS)))
               .returning(D.c.category, D.c.cx, D.c.cy).cte("claimed"))
    cell = DIRTY_CELL_M
    box = func.ST_MakeEnvelope(claimed.c.cx * cell, claimed.c.cy * cell,
                               (claimed.c.cx + 1) * cell, (claimed.c.cy + 1) * cell, 28992)
    marked = (
        update(C)
        # with_demo named too, so that each kern is two primary-key lookups, not a scan.
        .where(C.c.category == claimed.c.category, C.c.with_demo.in_([True, False]),
               C.c.kern_code == K.c.code, ~C.c.stale,
               # The constant bound lets the kern point index narrow the cell's neighbours.
               func.ST_DWithin(K.c.point, box, MAX_SEARCH_M),
               func.ST_DWithin(K.c.point, box, C.c.search_m))
        .values(stale=True)
        .returning(C.c.kern_code)
        .cte("marked")
    )
    stmt = select(select(func.count()).select_from(claimed).scalar_subquery()).add_cte(marked)
    return int(conn.execute(stmt, {"categories": list(categories)}).scalar_one())


def stored_statement(scope: Scope) -> Select[Any]:
    """The stored rows for the kernen of the scope and the norms (missing ones as NULLs),
    each with `fresh`: stored, not stale, and computed for this norm and search distance."""
    norm = norm_cte()
    fresh = and_(C.c.kern_code.is_not(None), ~C.c.stale,
                 C.c.norm_m.is_not_distinct_from(norm.c.metres),
                 C.c.search_m == norm.c.search_m)
    return (
        select(
            K.c.code.label("kern_code"), K.c.name.label("kern_name"),
            G.c.code.label("gemeente_code"), G.c.name.label("gemeente_name"),
            *(K.c[p] for p in PEOPLE),
            norm.c.category,
            C.c.nearest_m, C.c.nearest_private, C.c.within, C.c.serving, C.c.providers,
            func.coalesce(fresh, False).label("fresh"),
        )
        .select_from(
            K.join(G, G.c.code == K.c.gemeente_code)
            .join(norm, literal_column("true"))
            .outerjoin(C, and_(C.c.category == norm.c.category, C.c.kern_code == K.c.code,
                               C.c.with_demo == bindparam("with_demo"),
                               # Repeated from the norms, so the plan reads only these
                               # categories' rows by the primary key.
                               C.c.category == func.any(bindparam("n_category",
                                                                  type_=TEXTS))))
        )
        .where(*kernen_where(scope))
        .order_by(G.c.name, K.c.name, K.c.code, norm.c.position)
    )


def stored(conn: Connection, norms: Sequence[NormRow], scope: Scope,
           with_demo: bool) -> list[Any]:
    """Stored coverage rows in the order of the live statement, with `fresh`."""
    if not norms:
        return []
    return conn.execute(stored_statement(scope),
                        {**bind_values(norms, scope), "with_demo": with_demo}).all()


def store(conn: Connection, norm: NormRow, with_demo: bool, rows: Sequence[Any]) -> None:
    """Write recomputed rows of one category (as fresh), in key order so that concurrent
    readers storing the same rows take their locks in the same order."""
    rows = sorted(rows, key=lambda r: r.kern_code)
    if not rows:
        return
    given = func.unnest(
        bindparam("kern_code", type_=TEXTS), bindparam("nearest_m", type_=ARRAY(Float)),
        bindparam("nearest_private", type_=ARRAY(Boolean)),
        bindparam("within", type_=ARRAY(Integer)), bindparam("serving", type_=ARRAY(Integer)),
        bindparam("providers", type_=ARRAY(Integer)),
    ).table_valued("kern_code", "nearest_m", "nearest_private", "within", "serving",
                   "providers").render_derived("given")
    values = select(
        bindparam("category", type_=Text), bindparam("with_demo", type_=Boolean),
        given.c.kern_code, bindparam("norm_m", type_=Integer),
        bindparam("search_m", type_=Integer), given.c.nearest_m, given.c.nearest_private,
        given.c.within, given.c.serving, given.c.providers,
        literal_column("false"), func.now())
    columns = ["category", "with_demo", "kern_code", "norm_m", "search_m", "nearest_m",
               "nearest_private", "within", "serving", "providers", "stale", "computed_at"]
    stmt = insert(C).from_select(columns, values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[C.c.category, C.c.with_demo, C.c.kern_code],
        set_={c: stmt.excluded[c] for c in columns[3:]})
    conn.execute(stmt, {
        "category": norm.category, "with_demo": with_demo,
        "norm_m": None if norm.metres is None else int(norm.metres),
        "search_m": int(norm.search_m),
        "kern_code": [r.kern_code for r in rows], "nearest_m": [r.nearest_m for r in rows],
        "nearest_private": [r.nearest_private for r in rows],
        "within": [r.within for r in rows], "serving": [r.serving for r in rows],
        "providers": [r.providers for r in rows]})


def forget(conn: Connection) -> int:
    """Drop every stored row (they are recomputed on the next reads); returns how many."""
    conn.execute(delete(D))
    return int(conn.execute(delete(C)).rowcount)


def rebuild(conn: Connection) -> int:
    """Recount gap_point and gap_area from the registry and drop the stored coverage, for
    loads that bypassed the triggers (TRUNCATE, or COPY with the triggers disabled); returns
    the number of category points."""
    conn.execute(text("TRUNCATE gap_point, gap_area"))
    conn.execute(text("SELECT gap_sync(ARRAY(SELECT id FROM service))"))
    conn.execute(text("TRUNCATE gap_dirty, gap_coverage"))
    conn.execute(text("ANALYZE gap_point, gap_area"))
    return int(conn.execute(text("SELECT count(*) FROM gap_point")).scalar_one())
