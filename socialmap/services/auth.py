"""Staff accounts: passwords (argon2id), login throttling, TOTP, sessions, roles and scopes."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from ..errors import AppError, Forbidden, InvalidInput, NotFound
from ..models import User, UserSession
from ..models.accounts import ROLES
from ..queries import accounts as q

ISSUER = "socialmap"
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
SESSION_IDLE = timedelta(hours=2)
SESSION_ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
# Roles that must pass a second factor before they may do anything.
SECOND_FACTOR_ROLES = frozenset({"admin", "editor"})
MODERATOR_ROLES = frozenset({"admin", "editor"})
PRIVATE_DATA_ROLES = frozenset({"admin", "editor", "gebiedsteam"})

# Login throttling (token buckets, one token per failed attempt): per account 5 failures, then
# one more every 3 minutes; per client 20, then one a minute; 5 wrong TOTP codes per account.
LOGIN_ACCOUNT = (5.0, 1 / 180)
LOGIN_CLIENT = (20.0, 1 / 60)
TOTP_ACCOUNT = (5.0, 1 / 180)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Unauthorized(AppError):
    """Not signed in (or not far enough)."""

    status = 401
    code = "unauthorized"


class TooManyRequests(AppError):
    """A rate limit or login throttle said no."""

    status = 429
    code = "too_many_requests"


def utcnow() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


# --- passwords -----------------------------------------------------------------------------

def password_hasher(cheap: bool = False) -> PasswordHasher:
    """Argon2id with the RFC 9106 low-memory profile (64 MiB, 3 passes); `cheap` for tests."""
    if cheap:
        return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID)
    return PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4, type=Type.ID)


_HASHERS = {False: password_hasher(False), True: password_hasher(True)}
# Verified when the e-mail is unknown, so that a wrong address takes as long as a wrong password.
_DUMMY_HASH = {cheap: h.hash(secrets.token_hex(16)) for cheap, h in _HASHERS.items()}


def check_password_rules(password: str, email: str = "") -> None:
    """Raise InvalidInput('password') for a password that is too short, too long or too plain."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(f"the password needs at least {PASSWORD_MIN_LENGTH} characters",
                           "password", rule="too_short")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput("the password is too long", "password", rule="too_long")
    if len(set(password)) < 5 or (email and email.split("@")[0].lower() in password.lower()):
        raise InvalidInput("the password is too easy to guess", "password", rule="too_plain")


def hash_password(password: str, cheap: bool = False) -> str:
    """An argon2id hash of the password."""
    return _HASHERS[cheap].hash(password)


def verify_password(stored: str | None, password: str, cheap: bool = False) -> bool:
    """True when `password` matches the stored hash (always spends the hashing time)."""
    hasher = _HASHERS[cheap]
    try:
        return hasher.verify(stored or _DUMMY_HASH[cheap], password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


# --- keys for rate limits: an HMAC, so that no address or e-mail is kept ------------------

def bucket_key(secret: str, scope: str, material: str) -> str:
    """HMAC-SHA256 of scope and material under the app's secret, as hex."""
    return hmac.new(secret.encode(), f"{scope}\x00{material}".encode(),
                    hashlib.sha256).hexdigest()


def take(s: Session, secret: str, scope: str, material: str, limit: tuple[float, float],
         now: datetime) -> bool:
    """Take a token from the bucket of (scope, material); False when it is empty."""
    capacity, rate = limit
    return q.take_tokens(s.connection(), bucket_key(secret, scope, material), scope, capacity,
                         rate, now)


def has_tokens(s: Session, secret: str, scope: str, material: str,
               limit: tuple[float, float], now: datetime) -> bool:
    """True when the bucket of (scope, material) holds at least one token."""
    capacity, rate = limit
    return q.tokens_left(s.connection(), bucket_key(secret, scope, material), capacity, rate,
                         now) >= 1


# --- the signed-in user --------------------------------------------------------------------

@dataclass(frozen=True)
class CurrentUser:
    """Who is signed in, what they may do and where."""

    id: uuid.UUID
    email: str
    display_name: str
    role: str
    gemeenten: frozenset[str]
    second_factor: bool
    totp_enrolled: bool

    @property
    def is_admin(self) -> bool:
        """True for an admin."""
        return self.role == "admin"

    @property
    def needs_second_factor(self) -> bool:
        """True while an admin or editor has not yet passed (or set up) the second factor."""
        return self.role in SECOND_FACTOR_ROLES and not self.second_factor

    @property
    def may_moderate(self) -> bool:
        """True for an admin or editor who passed the second factor."""
        return self.role in MODERATOR_ROLES and not self.needs_second_factor

    @property
    def sees_private(self) -> bool:
        """True for staff who may see private contacts (within their scope)."""
        return self.role in PRIVATE_DATA_ROLES and not self.needs_second_factor

    @property
    def actor(self) -> str:
        """How this user is named in the change log."""
        return self.email

    def covers(self, gemeenten: Iterable[str]) -> bool:
        """True for an admin, or when one of `gemeenten` is in this user's scope."""
        return self.is_admin or bool(self.gemeenten & set(gemeenten))


def _current(user: User, sess: UserSession) -> CurrentUser:
    return CurrentUser(id=user.id, email=user.email, display_name=user.display_name,
                       role=user.role, gemeenten=frozenset(user.gemeente_codes),
                       second_factor=sess.second_factor_at is not None,
                       totp_enrolled=user.totp_enabled_at is not None)


def token_hash(token: str) -> str:
    """SHA-256 of a session token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_user(s: Session, token: str | None, now: datetime | None = None
                 ) -> CurrentUser | None:
    """The user of a session token, sliding its idle expiry; None when unknown or expired."""
    if not token:
        return None
    now = now or utcnow()
    found = q.session_with_user(s, token_hash(token), now)
    if found is None:
        return None
    sess, user = found
    if now - sess.last_seen_at >= TOUCH_EVERY:
        expires = min(now + SESSION_IDLE, sess.created_at + SESSION_ABSOLUTE)
        q.touch_session(s, sess.token_hash, now, expires)
        s.commit()
    return _current(user, sess)


@dataclass(frozen=True)
class Login:
    """A new session: its token (for the cookie) and what the user still has to do."""

    token: str
    user: CurrentUser


def login(s: Session, email: str, password: str, client: str, secret: str,
          now: datetime | None = None, cheap_hash: bool = False) -> Login:
    """Check the password under throttling; on success open a session (second factor pending)."""
    now = now or utcnow()
    email = email.strip().lower()
    if not (has_tokens(s, secret, "login-client", client, LOGIN_CLIENT, now)
            and has_tokens(s, secret, "login-account", email, LOGIN_ACCOUNT, now)):
        raise TooManyRequests("too many failed sign-ins; wait a few minutes", "email")
    user = q.user_by_email(s, email) if email else None
    ok = verify_password(user.password_hash if user else None, password, cheap_hash)
    if not ok or user is None or not user.is_active:
        take(s, secret, "login-client", client, LOGIN_CLIENT, now)
        take(s, secret, "login-account", email, LOGIN_ACCOUNT, now)
        s.commit()
        raise Unauthorized("the e-mail address or the password is wrong", "password")
    hasher = _HASHERS[cheap_hash]
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    q.reset_bucket(s.connection(), bucket_key(secret, "login-account", email))
    user.last_login_at = now
    token = secrets.token_urlsafe(32)
    sess = UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now,
                       last_seen_at=now, expires_at=now + SESSION_IDLE,
                       second_factor_at=None if user.role in SECOND_FACTOR_ROLES else now)
    s.add(sess)
    q.purge_sessions(s, now)
    s.commit()
    return Login(token, _current(user, sess))


def logout(s: Session, token: str | None) -> None:
    """End the session of this token (no error when there is none)."""
    if token:
        q.delete_session(s, token_hash(token))
        s.commit()


# --- TOTP ----------------------------------------------------------------------------------

def provisioning_uri(email: str, secret: str) -> str:
    """The otpauth:// URI for an authenticator app."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _load(s: Session, token: str) -> tuple[UserSession, User]:
    found = q.session_with_user(s, token_hash(token), utcnow())
    if found is None:
        raise Unauthorized("the session has ended; sign in again")
    return found


def begin_enrolment(s: Session, token: str) -> tuple[str, str]:
    """A new TOTP secret for a user without a confirmed one: (secret, otpauth URI)."""
    _, user = _load(s, token)
    if user.totp_enabled_at is not None:
        raise Forbidden("a second factor is already set up", "code")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        s.commit()
    return user.totp_secret, provisioning_uri(user.email, user.totp_secret)


def _check_code(s: Session, user: User, code: str, secret: str, now: datetime) -> None:
    if not has_tokens(s, secret, "totp", str(user.id), TOTP_ACCOUNT, now):
        raise TooManyRequests("too many wrong codes; wait a few minutes", "code")
    code = re.sub(r"\s", "", code)
    totp = pyotp.TOTP(user.totp_secret or "")
    step = int(now.timestamp()) // totp.interval
    matched = None
    if user.totp_secret and code.isdigit() and len(code) == 6:
        for candidate in (step, step - 1, step + 1):
            if hmac.compare_digest(totp.at(candidate * totp.interval), code):
                matched = candidate
                break
    # A code is good once: a step at or before the last one used is a replay.
    if matched is None or (user.totp_last_step is not None and matched <= user.totp_last_step):
        take(s, secret, "totp", str(user.id), TOTP_ACCOUNT, now)
        s.commit()
        raise InvalidInput("the code is wrong or has been used", "code")
    user.totp_last_step = matched


def confirm_enrolment(s: Session, token: str, code: str, secret: str,
                      now: datetime | None = None) -> CurrentUser:
    """Switch TOTP on with a first good code; the session counts as second-factor checked."""
    now = now or utcnow()
    sess, user = _load(s, token)
    if user.totp_enabled_at is not None:
        raise Forbidden("a second factor is already set up", "code")
    _check_code(s, user, code, secret, now)
    user.totp_enabled_at = now
    sess.second_factor_at = now
    s.commit()
    return _current(user, sess)


def verify_second_factor(s: Session, token: str, code: str, secret: str,
                         now: datetime | None = None) -> CurrentUser:
    """Check a TOTP code for the session's user and mark the session as fully signed in."""
    now = now or utcnow()
    sess, user = _load(s, token)
    if user.totp_enabled_at is None:
        raise Forbidden("no second factor is set up yet", "code")
    _check_code(s, user, code, secret, now)
    sess.second_factor_at = now
    s.commit()
    return _current(user, sess)


# --- accounts ------------------------------------------------------------------------------

def _check_account(s: Session, email: str, role: str, gemeenten: Sequence[str]) -> None:
    if not _EMAIL.fullmatch(email):
        raise InvalidInput(f"'{email}' is not an e-mail address", "email")
    if role not in ROLES:
        raise InvalidInput(f"unknown role '{role}'; choose one of {', '.join(ROLES)}", "role")
    if role != "admin" and not gemeenten:
        raise InvalidInput("an editor or area team needs at least one gemeente", "gemeente")
    unknown = q.unknown_gemeenten(s.connection(), list(gemeenten))
    if unknown:
        raise InvalidInput(f"unknown gemeente code(s): {', '.join(unknown)}", "gemeente")


def create_user(s: Session, email: str, password: str, role: str,
                gemeenten: Sequence[str] = (), display_name: str | None = None,
                cheap_hash: bool = False) -> User:
    """Add a staff account (the caller commits)."""
    email = email.strip().lower()
    _check_account(s, email, role, gemeenten)
    if q.user_by_email(s, email) is not None:
        raise InvalidInput(f"there is already an account for {email}", "email")
    check_password_rules(password, email)
    user = User(id=uuid.uuid4(), email=email, role=role,
                display_name=(display_name or "").strip() or "Redactie",
                password_hash=hash_password(password, cheap_hash))
    s.add(user)
    s.flush()
    q.set_gemeenten(s, user, [] if role == "admin" else gemeenten)
    s.flush()
    return user


def set_active(s: Session, email: str, active: bool, now: datetime | None = None) -> User:
    """Disable (ending every session) or enable an account (the caller commits)."""
    user = q.user_by_email(s, email)
    if user is None:
        raise NotFound(f"no account for {email}", "email")
    user.is_active = active
    user.disabled_at = None if active else (now or utcnow())
    if not active:
        q.delete_user_sessions(s, user.id)
    return user


def change_password(s: Session, token: str, current: str, new: str,
                    cheap_hash: bool = False) -> None:
    """Set a new password after checking the current one; other sessions end."""
    sess, user = _load(s, token)
    if not verify_password(user.password_hash, current, cheap_hash):
        raise InvalidInput("the current password is wrong", "current_password")
    check_password_rules(new, user.email)
    user.password_hash = hash_password(new, cheap_hash)
    q.delete_user_sessions(s, user.id, keep=sess.token_hash)
    s.commit()


def reset_second_factor(s: Session, email: str) -> User:
    """Forget an account's TOTP secret, so that it is set up again at the next sign-in."""
    user = q.user_by_email(s, email)
    if user is None:
        raise NotFound(f"no account for {email}", "email")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    q.delete_user_sessions(s, user.id)
    return user


def gemeente_names(s: Session, codes: Iterable[str]) -> dict[str, str]:
    """CBS code -> name of the given gemeenten."""
    return q.gemeente_names(s.connection(), sorted(codes))


# --- permissions ---------------------------------------------------------------------------

def require_moderator(user: CurrentUser | None) -> CurrentUser:
    """The user when they are an admin or editor with the second factor passed."""
    if user is None:
        raise Unauthorized("sign in first")
    if not user.may_moderate:
        raise Forbidden("only editors and admins may do this")
    return user


def require_admin(user: CurrentUser | None) -> CurrentUser:
    """The user when they are an admin with the second factor passed."""
    user = require_moderator(user)
    if not user.is_admin:
        raise Forbidden("only admins may do this")
    return user


def require_service_scope(s: Session, user: CurrentUser, service_id: uuid.UUID,
                          roles: frozenset[str] = MODERATOR_ROLES) -> None:
    """Raise unless the user has one of `roles` and the service lies in their gemeenten."""
    if user.role not in roles or user.needs_second_factor:
        raise Forbidden("your role may not do this")
    if user.is_admin:
        return
    gemeenten = q.service_gemeenten(s.connection(), service_id)
    if not user.covers(gemeenten):
        raise Forbidden("this initiative lies outside your gemeenten", "id")


def may_see_private(s: Session, user: CurrentUser | None, service_id: uuid.UUID) -> bool:
    """True when the user may see this service's private contacts and exact private address."""
    if user is None or not user.sees_private:
        return False
    return user.is_admin or user.covers(q.service_gemeenten(s.connection(), service_id))
