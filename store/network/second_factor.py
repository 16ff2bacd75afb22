"""A second factor for console logins: time-based codes (TOTP, RFC 6238) and recovery codes.

Enrolling keeps a fresh secret (sealed at rest, `store.sealing`) that asks for
nothing until the person proves their authenticator app holds it
(`confirm`); then every login asks for a current code after the password.
A code is taken once: `totp_last_step` moves forward with each accepted code
in a single UPDATE, so a code seen over a shoulder cannot open a second
session, even by a simultaneous request. Recovery codes stand in for a lost
phone, each once; only their hashes are kept. An admin can reset a
colleague's second factor (they enrol again at their next login when it is
required). Office roles may enrol; admins must in production mode.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import audit
from store.access import OFFICE_ROLES
from store.errors import DomainError
from store.models import RecoveryCode, Role, User, utcnow

ISSUER = "民意直通车"
RECOVERY_CODES = 10
STEP = 30  # seconds a code lives
# A code from the step before or after is taken too: a phone's clock drifts, a person types slowly.
WINDOW = 1
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class SecondFactorError(DomainError):
    pass


def may_enrol(user: User) -> bool:
    return user.role in OFFICE_ROLES


def required(user: User, production: bool) -> bool:
    """Whether `user` may not use the console without a second factor."""
    return production and user.role is Role.ADMIN


def enrolled(user: User) -> bool:
    return user.totp_secret is not None and user.totp_since is not None


def begin(session: Session, user: User) -> str:
    """A fresh secret for `user` to put in their app; codes are asked for only after `confirm`.

    Starting again replaces a secret not yet confirmed; a confirmed one is changed by
    `disable` (or an admin's `reset`) first.
    """
    if not may_enrol(user):
        raise SecondFactorError("该账号的角色不使用两步验证。 / This role does not use a second factor.")
    if enrolled(user):
        raise SecondFactorError("已开启两步验证。 / The second factor is already on.")
    user.totp_secret = pyotp.random_base32()
    session.flush()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    if user.totp_secret is None:
        raise SecondFactorError("请先开始设置两步验证。 / Start setting up the second factor first.")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def confirm(session: Session, user: User, code: str, now: float | None = None) -> list[str]:
    """Turn the second factor on once `code` matches the new secret; the recovery codes,
    to be shown this once."""
    if user.totp_secret is None or enrolled(user):
        raise SecondFactorError("请先开始设置两步验证。 / Start setting up the second factor first.")
    step = _matching_step(user.totp_secret, code, now)
    if step is None:
        raise SecondFactorError("验证码不正确，请核对手机上显示的 6 位数字后重试。"
                                " / The code does not match; check the six digits and try again.")
    user.totp_since = utcnow()
    user.totp_last_step = step
    codes = _new_recovery_codes(session, user)
    audit.record(session, "user.second_factor_on", object=f"users:{user.id}")
    session.flush()
    return codes


def verify(session: Session, user: User, code: str, now: float | None = None) -> bool:
    """Whether `code` (a current TOTP code not used before, or an unused recovery code) lets
    `user` in; a recovery code is used up."""
    if not enrolled(user) or not code.strip():
        return False
    assert user.totp_secret is not None
    step = _matching_step(user.totp_secret, code, now)
    if step is not None:
        taken = session.execute(
            sa.update(User).where(User.id == user.id, sa.or_(
                User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step).returning(User.id)).first()
        if taken is not None:
            session.refresh(user, ["totp_last_step"])
        return taken is not None
    used = session.execute(
        sa.update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                      RecoveryCode.code_hash == _hash(code),
                                      RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).returning(RecoveryCode.id)).first()
    if used is not None:
        audit.record(session, "user.recovery_code_used", object=f"users:{user.id}")
    return used is not None


def recovery_left(session: Session, user: User) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0)


def disable(session: Session, user: User) -> None:
    """Turn `user`'s own second factor off (the caller checked their password)."""
    _clear(session, user)
    audit.record(session, "user.second_factor_off", object=f"users:{user.id}")


def reset(session: Session, user: User, by: User) -> None:
    """An admin turns a colleague's second factor off (a lost phone); they enrol again."""
    if user.id == by.id:
        raise SecondFactorError("不能重置自己的两步验证，请在“我的账号”中操作。"
                                " / Change your own second factor on your account page.")
    _clear(session, user)
    audit.record(session, "user.second_factor_reset", object=f"users:{user.id}")


def _clear(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_since = None
    user.totp_last_step = None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()


def _matching_step(secret: str, code: str, now: float | None) -> int | None:
    digits = "".join(ch for ch in code if not ch.isspace())
    if len(digits) != 6 or not digits.isdigit():
        return None
    at = time.time() if now is None else now
    totp = pyotp.TOTP(secret, interval=STEP)
    for offset in (0, -WINDOW, WINDOW):
        step = int(at // STEP) + offset
        if secrets.compare_digest(totp.at(step * STEP), digits):
            return step
    return None


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2))
             for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(c)) for c in codes)
    return codes


def _hash(code: str) -> str:
    # 50 random bits each: a plain hash is enough (nothing to gain from a slow one).
    return hashlib.sha256(code.strip().lower().replace(" ", "").encode()).hexdigest()
