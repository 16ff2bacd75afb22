"""The audit trail (issue 14 point 3): one append-only, hash-chained record of who did and saw what.

`chain.record` is the one writer of `audit_entries`; `watch` calls it for
every row the other logs gain (report and journal events, transfers,
instructions, identity looks, exports, API calls, refused logins) and for
changes to staff accounts and settings, in the same flush, so nothing that
writes those rows needs to know about the trail. `chain.verify` walks the
chain (`minyi audit verify`); `trail` reads it for the console's 审计日志 page
and its CSV export.
"""

from store.audit.chain import Actor, Broken, act_as, record, verify

__all__ = ["Actor", "Broken", "act_as", "record", "verify"]
