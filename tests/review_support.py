"""Moving a report through the office's review chain in tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from store.models import AdoptionLevel, Report, User
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import chain as review
from store.review import separation


def sign_off_to_final(session: Session, report: Report, user: User) -> None:
    """`user` (an admin) signs every level off until the report waits at the last one.

    One person signing several levels is an office with a single reviewer
    (`store.review.separation`), so the office is made one.
    """
    separation.set_single_reviewer(session, True)
    levels = review.chain(session)
    while not review.is_final(levels, report.review_level):
        lifecycle.apply(session, report, Action.SIGN_OFF, user=user)


def adopt(session: Session, report: Report, admin: User,
          level: AdoptionLevel = AdoptionLevel.COUNTY) -> None:
    """Walk the chain and adopt, as an admin may; the caller commits."""
    sign_off_to_final(session, report, admin)
    lifecycle.apply(session, report, Action.ADOPT, user=admin, values={"adoption_level": level})
