"""Weekly opening slots: open now, next opening, and Dutch labels. Pure, no database."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WEEKDAYS_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SHORT_NL = ("ma", "di", "wo", "do", "vr", "za", "zo")


@dataclass(frozen=True, order=True)
class Slot:
    """One weekly opening slot; weekday 1 (Monday) to 7 (Sunday), local time."""

    weekday: int
    opens_at: time
    closes_at: time

    def label(self, lang: str = "nl") -> str:
        days = WEEKDAYS_NL if lang == "nl" else WEEKDAYS_EN
        return f"{days[self.weekday - 1]} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"

    def short(self) -> str:
        return f"{SHORT_NL[self.weekday - 1]} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


def now_local() -> datetime:
    return datetime.now(AMSTERDAM)


def slots_from_rows(rows: Iterable[Sequence[object]] | None) -> list[Slot]:
    """Slots from (weekday, 'HH:MM:SS', 'HH:MM:SS') rows as the database aggregates them."""
    out = []
    for day, opens, closes in rows or ():
        o = opens if isinstance(opens, time) else time.fromisoformat(str(opens))
        c = closes if isinstance(closes, time) else time.fromisoformat(str(closes))
        out.append(Slot(int(day), o, c))  # type: ignore[arg-type]
    return sorted(out)


def is_open(slots: Iterable[Slot], when: datetime) -> bool:
    local = when.astimezone(AMSTERDAM)
    day, t = local.isoweekday(), local.time().replace(tzinfo=None)
    return any(s.weekday == day and s.opens_at <= t < s.closes_at for s in slots)


def next_opening(slots: Sequence[Slot], when: datetime) -> datetime | None:
    """The start of the next slot after `when` (or `when` itself when open now)."""
    if not slots:
        return None
    local = when.astimezone(AMSTERDAM)
    if is_open(slots, local):
        return local
    for offset in range(8):
        day = local + timedelta(days=offset)
        starts = sorted(s.opens_at for s in slots if s.weekday == day.isoweekday())
        for start in starts:
            candidate = datetime.combine(day.date(), start, AMSTERDAM)
            if candidate > local:
                return candidate
    return None


def opening_label(slots: Sequence[Slot], when: datetime, lang: str = "nl") -> str | None:
    """'Nu open tot 16:00' / 'Open woensdag 09:30' / None without a schedule."""
    local = when.astimezone(AMSTERDAM)
    t = local.time().replace(tzinfo=None)
    for s in slots:
        if s.weekday == local.isoweekday() and s.opens_at <= t < s.closes_at:
            return (f"Nu open tot {s.closes_at:%H:%M}" if lang == "nl"
                    else f"Open now until {s.closes_at:%H:%M}")
    nxt = next_opening(slots, local)
    if nxt is None:
        return None
    days = WEEKDAYS_NL if lang == "nl" else WEEKDAYS_EN
    if nxt.date() == local.date():
        day = "vandaag" if lang == "nl" else "today"
    elif nxt.date() == (local + timedelta(days=1)).date():
        day = "morgen" if lang == "nl" else "tomorrow"
    else:
        day = days[nxt.isoweekday() - 1]
    return f"Open {day} {nxt:%H:%M}"
