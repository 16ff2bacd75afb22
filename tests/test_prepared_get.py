"""store.prepared.Get: an object read by a prepared SELECT is the one `session.get` gives."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import prepared
from store.models import CollectionPoint
from store.network import points

_GET = prepared.Get(CollectionPoint)


def test_it_reads_every_column_as_session_get_does_and_joins_the_session(
        Session_: sessionmaker[Session], point: CollectionPoint) -> None:  # noqa: N803
    with Session_() as s:
        points.rotate(s, s.get(CollectionPoint, point.id))  # a token version, a timestamp
        s.commit()
    columns = [a.key for a in sa.inspect(CollectionPoint).column_attrs]
    with Session_() as s:
        by_orm = s.get(CollectionPoint, point.id)
        expected = {k: getattr(by_orm, k) for k in columns}
    with Session_() as s:
        got = _GET(s, point.id)
        assert {k: getattr(got, k) for k in columns} == expected
        assert _GET(s, point.id) is got and s.get(CollectionPoint, point.id) is got
        assert not s.dirty and not s.new  # loaded, nothing to write
        got.name = "城关镇便民服务中心（新址）"
        s.commit()
    with Session_() as s:
        assert s.get(CollectionPoint, point.id).name == "城关镇便民服务中心（新址）"
        assert _GET(s, point.id + 1000) is None
