"""PostgreSQL search index: each Chinese run's trigrams beside its bigrams

A three-character word (养老院) was a phrase of two bigrams. GIN keeps no
positions, so every report holding both bigrams had its word list read from
the table to check that they stand together: 75,000 reports, half a second, at
a million. The tsvector now also holds each run's trigrams, at their bigrams'
positions (`store.search.text.tsvector`): a three-character word is one
trigram the index answers alone, a longer one a phrase of trigrams.

The index is built again here with the code that writes it (TRUNCATE, then the
GIN index once at the end): seconds for a county's reports; 42 minutes for a
million on a 2-core machine shared with other jobs (`minyi seed`'s index phase,
the same code), about 10 of them building the GIN index. SQLite's FTS5 keeps positions in its index and is not touched.
Downgrading leaves the trigrams: the older queries ask for bigrams only.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy.orm import Session

revision: str = '0036'
down_revision: str | Sequence[str] | None = '0035'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    from store.search import index  # the one writer of the index, as the flush hook uses it

    with Session(bind=op.get_bind()) as session:
        index.rebuild(session, alone=True)


def downgrade() -> None:
    pass
