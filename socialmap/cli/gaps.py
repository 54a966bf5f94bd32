"""`flask --app app gaps ...`: coverage per kern and category, and the what-if questions."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from .. import settings
from ..db import get_db
from ..errors import AppError
from ..services import gaps as svc


@click.group("gaps", cls=AppGroup,
             help="Gap analysis: which kernen lack which help, weighted by who lives there.")
def group() -> None:
    pass


def _options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every gaps command shares: which initiatives count."""
    f = click.option("--verified-within", type=click.IntRange(1, svc.MAX_VERIFIED_MONTHS),
                     metavar="MONTHS",
                     help="Count only initiatives verified within this many months.")(f)
    f = click.option("--demo/--no-demo", default=None,
                     help="Count the demo records or not (default: SOCIALMAP_SHOW_DEMO).")(f)
    return click.option("--category", "categories", multiple=True,
                        help="Top-level category; repeat for several (default: all).")(f)


def _area(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--gemeente", help="CBS code, e.g. GM1640 (default: all of NL).")(f)
    f = click.option("--provincie", help="CBS code, e.g. PV31.")(f)
    return click.option("--norm", help="Norm for the one category: 2km, 750m or serve.")(f)


def _run(work: Callable[[Any], Any]) -> Any:
    with get_db().session() as s:
        try:
            return work(s)
        except AppError as exc:
            where = f" ({exc.field})" if exc.field else ""
            raise click.ClickException(f"{exc.message}{where}") from exc
        except ValueError as exc:  # a bad SOCIALMAP_GAP_NORMS
            raise click.ClickException(str(exc)) from exc


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, numbers right-aligned."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows)
               for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


@group.command("coverage")
@_area
@_options
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "geojson"]),
              default="table", show_default=True)
@click.option("--geometry", type=click.Choice(["area", "point"]), default="area",
              show_default=True, help="GeoJSON geometry: the kern area or its point.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(svc.STATUSES),
              help="Table only: show only kernen with this status; repeat for several.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def coverage_command(gemeente: str | None, provincie: str | None, norm: str | None,
                     categories: tuple[str, ...], demo: bool | None,
                     verified_within: int | None, fmt: str, geometry: str,
                     statuses: tuple[str, ...], output: Path | None) -> None:
    """Status per kern and category: covered, thin or gap, with the people living there."""
    req = svc.GapRequest(gemeente=gemeente, provincie=provincie, categories=categories,
                         verified_within=verified_within, demo=demo, norm=norm)

    def work(s: Any) -> str:
        report = svc.coverage(s, req, settings.current())
        if fmt == "csv":
            return svc.to_csv(s, report)
        if fmt == "geojson":
            return json.dumps(svc.to_geojson(s, report, geometry),  # type: ignore[arg-type]
                              ensure_ascii=False)
        return coverage_table(report, statuses)

    _write(_run(work), output)


def coverage_table(report: svc.GapReport, statuses: Sequence[str] = ()) -> str:
    """The report as a text table followed by one sentence per category."""
    rows = [r for r in report.rows if not statuses or r.status in statuses]
    body = table(
        ("kern", "gemeente", "categorie", "norm", "status", "dichtstbij m", "binnen norm",
         "bedient", "aanbieders", "inwoners", "65+", "75+"),
        [(r.kern_name, r.gemeente_name, r.category, report.norm_of(r.category).norm.spec(),
          svc.STATUS_LABELS[r.status], r.nearest_m, r.within, r.serving, r.providers,
          r.inhabitants, r.inhabitants_65plus, r.inhabitants_75plus) for r in rows])
    since = (f", alleen gecontroleerd sinds {report.verified_since.isoformat()}"
             if report.verified_since else "")
    demo = "met" if report.include_demo else "zonder"
    lines = [f"{report.area.name}: {len(rows)} regels, {demo} voorbeelden{since}; "
             f"tellingen tot {svc.COUNT_CAP}.", body, ""]
    lines += [report.sentence(t) for t in report.totals]
    return "\n".join(lines) + "\n"


@group.command("stop")
@click.argument("service_id", type=click.UUID)
@_options
def stop_command(service_id: uuid.UUID, categories: tuple[str, ...], demo: bool | None,
                 verified_within: int | None) -> None:
    """What if the initiative SERVICE_ID stops: which kernen change status, how many people."""
    req = svc.GapRequest(categories=categories, verified_within=verified_within, demo=demo)
    impact = _run(lambda s: svc.what_if_stop(s, service_id, req, settings.current()))
    click.echo(stop_text(impact))


def stop_text(impact: svc.StopImpact) -> str:
    if not impact.counted:
        return (f"{impact.name} telt nu niet mee (niet actief, een voorbeeld of niet recent "
                "gecontroleerd): stoppen verandert niets.")
    if not impact.changes:
        return f"Als {impact.name} stopt, verandert de status van geen enkele kern."
    rows = [(c.before.kern_name, c.before.gemeente_name, c.before.category,
             svc.STATUS_LABELS[c.before.status], svc.STATUS_LABELS[c.after.status],
             c.before.inhabitants, c.before.inhabitants_65plus, c.before.inhabitants_75plus)
            for c in impact.changes]
    lines = [f"Als {impact.name} stopt:",
             table(("kern", "gemeente", "categorie", "nu", "daarna", "inwoners", "65+", "75+"),
                   rows), ""]
    for n in impact.norms:
        lost = impact.lost[n.category]
        if lost.kernen:
            lines.append(f"{n.name}: {lost.kernen} kern(en) met "
                         f"{svc.dutch_number(lost.inhabitants)} inwoners, waarvan "
                         f"{svc.dutch_number(lost.inhabitants_75plus)} van 75+, "
                         f"worden een witte vlek.")
    return "\n".join(lines)


@group.command("new-site")
@_area
@_options
@click.option("--sites", type=click.IntRange(1, svc.MAX_SITES), default=1, show_default=True,
              help="How many new initiatives to place, one after the other.")
@click.option("--weight", type=click.Choice(list(svc.WEIGHTS)), default="75plus",
              show_default=True, help="Whom to count.")
@click.option("--include-thin", is_flag=True, help="Also aim at kernen with one provider.")
def new_site_command(gemeente: str | None, provincie: str | None, norm: str | None,
                     categories: tuple[str, ...], demo: bool | None,
                     verified_within: int | None, sites: int, weight: str,
                     include_thin: bool) -> None:
    """Where one new initiative of a category would reach the most people without one."""
    req = svc.GapRequest(gemeente=gemeente, provincie=provincie, categories=categories,
                         verified_within=verified_within, demo=demo, norm=norm)
    report = _run(lambda s: svc.best_sites(s, req, settings.current(), sites=sites,
                                           weight=weight, include_thin=include_thin))
    click.echo(sites_text(report))


def sites_text(report: svc.SiteReport) -> str:
    label = svc.WEIGHT_LABELS[report.weight]
    open_ = "witte vlekken" + (" en kwetsbare kernen" if report.include_thin else "")
    people = svc.dutch_number(report.targets.of(report.weight))
    lines = [f"{report.norm.name} {report.norm.norm.label()} in {report.area.name}: "
             f"{report.targets.kernen} {open_} met {people} {label}."]
    for site in report.sites:
        names = ", ".join(r.kern_name for r in site.covers)
        lines.append(f"{site.step}. {site.kern_name}: bereikt {site.people.kernen} kern(en) "
                     f"({names}) met {svc.dutch_number(site.people.of(report.weight))} {label}.")
    if not report.sites:
        lines.append("Geen plek gevonden: er is geen kern zonder aanbod.")
    lines.append(f"Daarna nog zonder: {report.remaining.kernen} kern(en) met "
                 f"{svc.dutch_number(report.remaining.of(report.weight))} {label}.")
    return "\n".join(lines)


@group.command("refresh")
@click.option("--rebuild", is_flag=True,
              help="First recount the category points and areas from the registry (after a "
                   "load that bypassed the triggers, such as bench/generate.py).")
def refresh_command(rebuild: bool) -> None:
    """Recompute the stored coverage of every kern and category (after a large import)."""
    start = time.perf_counter()
    rows = _run(lambda s: svc.refresh(s, settings.current(), rebuild=rebuild))
    click.echo(f"{rows} kern × categorie-rijen opnieuw berekend in "
               f"{time.perf_counter() - start:.1f} s.")
