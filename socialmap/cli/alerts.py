"""`flask --app app alerts send-digests`: the digest e-mails of area teams' subscriptions."""
from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from .. import settings
from ..db import get_db
from ..services import alerts as svc


@click.group("alerts", cls=AppGroup, help="Alerts for area teams: feeds and digest e-mails.")
def group() -> None:
    pass


@group.command("send-digests")
@click.option("--now", "now", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
              help="Pretend it is this time (ISO with offset), e.g. to resend a window.")
def send_digests(now: datetime | None) -> None:
    """Send the daily and weekly digests that are due (run it every hour from cron)."""
    config = settings.current()
    if not config.smtp_host:
        click.echo("No SMTP server configured (SOCIALMAP_SMTP_HOST): no digests sent.")
        return
    with get_db().session() as s:
        try:
            report = svc.send_digests(s, config, now)
        except OSError as exc:  # the server refused or went away; what was sent is marked
            raise click.ClickException(f"SMTP {config.smtp_host}:{config.smtp_port}: "
                                       f"{exc}") from exc
    click.echo(f"{report.due} due, {report.sent} sent, {report.empty} with nothing new, "
               f"{report.skipped} skipped (account or place out of scope).")
