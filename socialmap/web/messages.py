"""What a person reads when a search cannot be done: by error code and field, in their language.

The service layer speaks English to API clients; the site says the same in plain Dutch (or
English when chosen), without parameter jargon.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from ..errors import AppError

PLACE_HELP_CODES = ("ambiguous", "place_not_found")


def _near_message(err: AppError) -> str:
    text = err.message.lower()
    if "start with 0" in text:
        return _("Een Nederlandse postcode begint niet met een 0.")
    if "four digits" in text:
        return _("Een postcode heeft vier cijfers, eventueel gevolgd door twee letters, "
                 "zoals 6181 of 6181 AB.")
    if "netherlands" in text or "outside" in text or "extent" in text:
        return _("Deze coördinaten liggen niet in Nederland.")
    if "longer than" in text:
        return _("Deze plaatsnaam is te lang.")
    if "give 'near'" in text or "is empty" in text:
        return _("Vul een plaats, postcode of adres in om te zoeken.")
    return _("We begrijpen deze plaats niet. Geef een plaatsnaam, een postcode (zoals 6181 of "
             "6181 AB) of coördinaten (zoals 51.17, 5.98).")


def field_message(err: AppError) -> str:
    """One sentence for a bad parameter."""
    field = err.field or ""
    messages = {
        "radius": _("Kies een zoekafstand tussen 1 meter en 100 kilometer."),
        "limit": _("Kies tussen 1 en 100 resultaten per pagina."),
        "offset": _("Deze pagina van de resultaten bestaat niet."),
        "category": _("Deze soort hulp kennen we niet."),
        "audience": _("Deze doelgroep kennen we niet."),
        "kind": _("Dit soort initiatief kennen we niet."),
        "gemeente": _("Deze gemeente kennen we niet. Gebruik een CBS-code zoals GM1883."),
        "status": _("Deze status kennen we niet."),
        "open_now": _("'Nu open' kan alleen aan of uit staan."),
        "open_at": _("Geef een dag en tijd zoals 'wo 14:00'."),
        "q": _("Zoek op een of meer woorden, met letters of cijfers."),
        "verified_within": _("Geef een aantal dagen als heel getal."),
        "demo": _("Voorbeelden tonen kan alleen aan of uit staan."),
        "print": _("De afdrukversie kan alleen aan of uit staan."),
        "mode": (_("Deze plek ligt niet in een kern. Kies een zoekafstand.")
                 if "no kern" in err.message
                 else _("Zoek rond een plek of in een kern; andere manieren kennen we niet.")),
        "kern": _("Zoek op een plaats of op een kern, niet op allebei."),
        "id": _("Dit is geen geldige verwijzing naar een initiatief."),
    }
    if "unknown parameter" in err.message:
        return _("De link bevat een onderdeel dat we niet kennen (%(name)s). "
                 "Begin een nieuwe zoekopdracht.", name=field)
    if "may be given once" in err.message:
        return _("Een onderdeel van de link komt twee keer voor (%(name)s).", name=field)
    if field == "near" or (field == "kern" and "give 'near'" in err.message):
        return _near_message(err)
    if field == "radius" and "does not apply" in err.message:
        return _("Een zoekafstand past niet bij zoeken in één kern.")
    return messages.get(field, _("Er klopt iets niet aan de zoekopdracht."))


def user_message(err: AppError) -> str:
    """The message for any error of a search page."""
    if err.code == "ambiguous":
        return _("Er zijn meerdere plaatsen met deze naam. Welke bedoelt u?")
    if err.code == "place_not_found":
        return _("Deze plaats hebben we niet gevonden.")
    if err.code == "geocoder_unavailable":
        return _("Het opzoeken van adressen lukt even niet. Zoek op plaatsnaam of postcode, "
                 "of probeer het zo opnieuw.")
    if err.status == 404:
        return {"id": _("Dit initiatief bestaat niet (meer)."),
                "code": _("Deze kern bestaat niet."),
                "kern": _("Deze kern bestaat niet."),
                "lang": _("Deze taal is er niet.")}.get(err.field or "",
                                                       _("Deze pagina bestaat niet."))
    if err.code == "query_timeout":
        return _("Deze vraag kostte te veel tijd. Maak hem kleiner: kies een kleinere "
                 "zoekafstand, zoek in één kern of kies een soort hulp.")
    if err.status >= 500:
        return _("De kaart is even niet bereikbaar. Probeer het over een minuut opnieuw.")
    if err.status == 400 or err.field:
        return field_message(err)
    return _("Dit lukte niet. Ga terug naar het zoeken en probeer het opnieuw.")


# The page titles of web/errors.py, so that they are translated too.
ERROR_TITLES = (
    lazy_gettext("Er klopt iets niet aan de vraag"), lazy_gettext("Geen toegang"),
    lazy_gettext("Niet gevonden"), lazy_gettext("Deze actie kan hier niet"),
    lazy_gettext("Iemand anders was u voor"), lazy_gettext("Even rustig aan"),
    lazy_gettext("Er ging iets mis"), lazy_gettext("De kaart is even niet bereikbaar"),
    lazy_gettext("Deze vraag duurde te lang"),
)
