"""The taxonomy as a tree per facet."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..queries import taxonomy as q


def taxonomy_tree(s: Session) -> dict[str, list[dict[str, Any]]]:
    """{'category': [{code, name, name_en, children: [...]}, ...], 'audience': [...]}"""
    rows = q.all_terms(s.connection())
    nodes = {r.id: {"id": str(r.id), "code": r.code, "name": r.name, "name_en": r.name_en,
                    "description": r.description, "children": []} for r in rows}
    tree: dict[str, list[dict[str, Any]]] = {"category": [], "audience": []}
    for r in rows:
        if r.parent_id is None:
            tree[r.facet].append(nodes[r.id])
        else:
            nodes[r.parent_id]["children"].append(nodes[r.id])
    return tree
