"""Finding reports: Chinese full-text search, filters and saved views (issue 5).

- `text`: normalising and tokenising Chinese (bigrams), query parsing, highlighting;
- `index`: the index on SQLite (FTS5) and PostgreSQL (tsvector), kept in step
  inside the writer's transaction;
- `matching`: a query's words matched in the index, kept to a user's units;
- `query`: `Filters`, `search`, `like_search`.
"""

from store.search.index import (
    TooMany,
    fold_traditional,
    index_ids,
    rebuild,
    set_fold_traditional,
    settle,
)
from store.search.query import Filters, Hit, Results, count, highlighted, like_search, search

__all__ = ["Filters", "Hit", "Results", "TooMany", "count", "fold_traditional", "highlighted", "index_ids",
           "like_search", "rebuild", "search", "set_fold_traditional", "settle"]
