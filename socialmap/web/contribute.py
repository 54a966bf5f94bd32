"""Residents' forms: propose a new initiative, suggest a change, follow a submission."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from werkzeug.datastructures import MultiDict

from .. import db, settings
from ..errors import AppError
from ..services import submissions as svc
from ..services.initiatives import parse_id
from ..services.submissions import FieldError, FieldErrors, RateLimited
from ..services.taxonomy import taxonomy_tree
from ..vocab import KINDS
from .auth import client_id, protect
from .errors import render_error, wants_json

bp = Blueprint("contribute", __name__)
protect(bp)

LIST_FIELDS = ("categories", "audiences")

FIELD_LABELS: dict[str, Any] = {
    "name": lazy_gettext("Naam van het initiatief"),
    "alternate_name": lazy_gettext("Andere naam"),
    "kind": lazy_gettext("Soort initiatief"),
    "description": lazy_gettext("Wat biedt het initiatief?"),
    "categories": lazy_gettext("Soort hulp"),
    "audiences": lazy_gettext("Voor wie"),
    "location": lazy_gettext("Plek"),
    "place": lazy_gettext("Plaats of postcode"),
    "address": lazy_gettext("Straat en huisnummer"),
    "schedule_note": lazy_gettext("Wanneer"),
    "fees_description": lazy_gettext("Kosten"),
    "eligibility_description": lazy_gettext("Voor wie precies"),
    "accessibility": lazy_gettext("Toegankelijkheid"),
    "url": lazy_gettext("Website"),
    "email": lazy_gettext("E-mailadres van het initiatief"),
    "phone": lazy_gettext("Telefoonnummer van het initiatief"),
    "status": lazy_gettext("Bestaat het nog?"),
    "submitter_name": lazy_gettext("Uw naam"),
    "submitter_email": lazy_gettext("Uw e-mailadres"),
    "note": lazy_gettext("Toelichting voor de redactie"),
    "form": lazy_gettext("Formulier"),
    "funding_source": lazy_gettext("Financiering: wie betaalt"),
    "funding_ends_on": lazy_gettext("Financiering loopt tot"),
}

STATUS_LABELS: dict[str, Any] = {
    "active": lazy_gettext("Ja, het bestaat nog"),
    "temporarily closed": lazy_gettext("Het is tijdelijk gesloten"),
    "defunct": lazy_gettext("Nee, het bestaat niet meer"),
    "inactive": lazy_gettext("Niet meer actief"),
    "proposed": lazy_gettext("Een plan: het draait nog niet"),
}

SUBMISSION_STATUS_LABELS: dict[str, Any] = {
    "pending": lazy_gettext("Wacht op de redactie"),
    "approved": lazy_gettext("Overgenomen"),
    "partial": lazy_gettext("Voor een deel overgenomen"),
    "rejected": lazy_gettext("Niet overgenomen"),
}

DECISION_LABELS: dict[str, Any] = {
    "pending": lazy_gettext("nog niet bekeken"),
    "approved": lazy_gettext("overgenomen"),
    "rejected": lazy_gettext("niet overgenomen"),
}

MESSAGES: dict[str, Any] = {
    "required": lazy_gettext("Vul dit in."),
    "too_short": lazy_gettext("Dit is te kort: schrijf minstens %(min)s tekens."),
    "too_long": lazy_gettext("Dit is te lang: hoogstens %(max)s tekens."),
    "choice": lazy_gettext("Kies een van de mogelijkheden."),
    "email": lazy_gettext("Dit is geen e-mailadres. Schrijf het zoals naam@voorbeeld.nl."),
    "url": lazy_gettext("Dit is geen webadres. Schrijf het zoals www.voorbeeld.nl."),
    "phone": lazy_gettext("Dit is geen telefoonnummer. Schrijf het zoals 046 123 45 67 of "
                          "06 12345678."),
    "place_not_found": lazy_gettext("Deze plaats of postcode vinden we niet. Schrijf een "
                                    "postcode, zoals 6171 AB, of kies de plek op de kaart."),
    "ambiguous": lazy_gettext("Er zijn meer plaatsen met deze naam. Schrijf de gemeente erbij, "
                              "zoals 'Meers, Stein', of geef de postcode."),
    "outside": lazy_gettext("Deze plek ligt niet in een Nederlandse gemeente."),
    "point": lazy_gettext("De plek op de kaart kunnen we niet lezen. Kies hem opnieuw of "
                          "schrijf een postcode."),
    "geocoder_unavailable": lazy_gettext("Adressen opzoeken lukt nu even niet. Geef een "
                                         "postcode of kies de plek op de kaart."),
    "unchanged": lazy_gettext("U heeft nog niets veranderd. Pas minstens één gegeven aan."),
    "reason": lazy_gettext("Schrijf waarom dit niet wordt overgenomen; de indiener ziet dit."),
    "needs_core": lazy_gettext("Een nieuw initiatief kan alleen met naam, soort, beschrijving "
                               "en plek. Neem die over of wijs alles af."),
    "archived": lazy_gettext("Dit initiatief staat in het archief. Zet het eerst terug."),
    "date": lazy_gettext("Dit is geen datum. Schrijf hem zoals 31-12-2027."),
    "funding_source": lazy_gettext("Schrijf ook wie het betaalt, bijvoorbeeld 'Gemeente Stein' "
                                   "of 'Oranje Fonds'."),
    "funding_without_source": lazy_gettext("Een einddatum van de financiering kan alleen samen "
                                           "met wie het betaalt. Neem die ook over of wijs de "
                                           "datum af."),
}


def message(error: FieldError) -> str:
    """The Dutch sentence for a field error."""
    text = MESSAGES.get(error.code, lazy_gettext("Dit klopt niet."))
    return str(text) % error.params if error.params else str(text)


def field_messages(err: FieldErrors) -> dict[str, str]:
    """Field name -> Dutch sentence."""
    return {name: message(e) for name, e in err.errors.items()}


def read_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """The posted fields as a plain dict; the multi-valued ones as lists."""
    out: dict[str, Any] = {k: form.get(k, "") for k in form}
    for name in LIST_FIELDS:
        out[name] = form.getlist(name)
    return out


def _context(**extra: Any) -> dict[str, Any]:
    return {"labels": FIELD_LABELS, "kinds": KINDS, "status_labels": STATUS_LABELS,
            "tile_url": settings.current().tile_url,
            "tile_attribution": settings.current().tile_attribution, **extra}


def render_problem(err: AppError) -> tuple[Response | str, int]:
    """An error of these pages: JSON for API clients, else a page that says what to do."""
    if wants_json():
        return render_error(err)
    return render_template("contribute/problem.html", error=err), err.status


@bp.errorhandler(AppError)
def _problem(err: AppError):  # noqa: ANN202
    return render_problem(err)


@bp.route("/aanmelden", methods=["GET", "POST"])
def new():  # noqa: ANN201
    """Propose a new initiative."""
    context = _context(taxonomy=taxonomy_tree(db.session()), action=url_for("contribute.new"))
    if request.method == "GET":
        return render_template("contribute/new.html", form={}, errors={}, **context)
    form = read_form(request.form)
    try:
        received = svc.submit_new(db.session(), form, client_id(), settings.current())
    except FieldErrors as err:
        return render_template("contribute/new.html", form=form, errors=field_messages(err),
                               **context), 400
    except RateLimited as err:
        return render_template("contribute/new.html", form=form, errors={}, limited=True,
                               **context), err.status
    if received.ref is None:
        return render_template("contribute/thanks.html")
    return redirect(url_for("contribute.status", ref=received.ref, nieuw=1), code=303)


@bp.route("/initiatief/<ident>/wijziging", methods=["GET", "POST"])
def suggest(ident: str):  # noqa: ANN201
    """Suggest a change to an initiative."""
    service_id = parse_id(ident)
    current = svc.change_form_values(db.session(), service_id)
    context = _context(item=current, ident=ident, fields=svc.CHANGE_FIELDS,
                       statuses=svc.SUGGESTED_STATUSES)
    if request.method == "GET":
        form = {k: v or "" for k, v in current["values"].items()}
        return render_template("contribute/suggest.html", form=form, errors={}, **context)
    form = read_form(request.form)
    try:
        received = svc.suggest_change(db.session(), service_id, form, client_id(),
                                      settings.current())
    except FieldErrors as err:
        return render_template("contribute/suggest.html", form=form,
                               errors=field_messages(err), **context), 400
    except RateLimited as err:
        return render_template("contribute/suggest.html", form=form, errors={}, limited=True,
                               **context), err.status
    if received.ref is None:
        return render_template("contribute/thanks.html")
    return redirect(url_for("contribute.status", ref=received.ref, nieuw=1), code=303)


@bp.get("/aanmelding/<ref>")
def status(ref: str):  # noqa: ANN201
    """Where a submission stands, for whoever holds its reference."""
    data = svc.status(db.session(), ref)
    response = Response(render_template(
        "contribute/status.html", sub=data, ref=ref, fresh=bool(request.args.get("nieuw")),
        status_labels=SUBMISSION_STATUS_LABELS, decision_labels=DECISION_LABELS,
        labels=FIELD_LABELS, service_status_labels=STATUS_LABELS))
    response.headers["Referrer-Policy"] = "no-referrer"  # the reference is in the URL
    response.headers["X-Robots-Tag"] = "noindex"
    return response
