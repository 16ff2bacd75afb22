"""Blind indexes: finding a sealed value by a keyed hash of it (a roster member's contact).

A sealed value (`store.sealing`) is different every time it is written, so
"the same name with the same contact is one person" cannot be a unique key
on the sealed column. `digest` is HMAC-SHA256 of the normalised contact under
the index key, stored beside the sealed value (`Member.contact_digest`) and
unique with the name.

The index key is 32 random bytes made once per database and kept in the
office settings sealed with the data key (`blind_index_key`), not derived
from the data key: `minyi keys rotate` reseals it with the new data key
(`reseal`, beside the canary) but its value, and so every digest, stays the
same. A rotation therefore never recomputes digests, and duplicates are
caught throughout it. Whoever reads the database without the data key cannot
open the index key, so cannot test guessed phone numbers against the digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata

from sqlalchemy.orm import Session

from store import sealing, upsert
from store.models import OfficeSetting

SETTING_KEY = "blind_index_key"
# Spaces, dashes, dots and brackets people type inside a phone number.
IGNORED = frozenset(" -.()（）")


def normalise(contact: str) -> str:
    """`contact` as it is compared: full-width folded (NFKC), case-folded, no separators."""
    folded = unicodedata.normalize("NFKC", contact).casefold()
    return "".join(ch for ch in folded if ch not in IGNORED and not ch.isspace())


def index_key(session: Session) -> bytes:
    """This database's index key, made (sealed with the data key) the first time it is needed.

    Two processes making it at once: INSERT … ON CONFLICT DO NOTHING, then both
    read the one row that won.
    """
    row = session.get(OfficeSetting, SETTING_KEY)
    if row is None:
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
        session.execute(upsert.insert(session, OfficeSetting)
                        .values(key=SETTING_KEY, value={"sealed": sealing.seal(fresh)})
                        .on_conflict_do_nothing(index_elements=[OfficeSetting.key]))
        row = session.get(OfficeSetting, SETTING_KEY, populate_existing=True)
        assert row is not None
    return base64.urlsafe_b64decode(sealing.open_value(str(row.value["sealed"])))


def digest(session: Session, contact: str | None) -> str | None:
    """The blind index of `contact` (hex); None for no contact (two such people may share a name)."""
    if contact is None or not normalise(contact):
        return None
    return hmac.new(index_key(session), normalise(contact).encode("utf-8"),
                    hashlib.sha256).hexdigest()


def reseal(session: Session) -> None:
    """The index key sealed with the primary data key, its value unchanged (a rotation's last step)."""
    row = session.get(OfficeSetting, SETTING_KEY)
    if row is not None:
        opened = sealing.open_value(str(row.value["sealed"]))
        upsert.put_setting(session, SETTING_KEY, {"sealed": sealing.seal(opened)})
