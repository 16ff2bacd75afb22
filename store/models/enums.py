"""The enums of the domain, stored as checked strings (see base.enum_type)."""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    TELEGRAM = "telegram"
    WEB = "web"
    WECHAT = "wechat"  # a WeChat Official Account (issue 11)


class PointKind(enum.StrEnum):
    """Where a collection point sits in the network (issue 4)."""

    COUNTY = "county"
    TOWNSHIP = "township"
    STREET = "street"
    COMMUNITY = "community"
    MEMBER_STUDIO = "member_studio"  # 委员工作室
    COUNCIL_HALL = "council_hall"  # 民生议事堂


class ReporterKind(enum.StrEnum):
    CITIZEN = "citizen"
    MEMBER = "member"


class ReportStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # new, waiting at the first review level
    REVIEWING = "reviewing"  # signed off by a level, waiting at `review_level`
    RETURNED = "returned"  # 退回补充: waiting for the reporter
    RESUBMITTED = "resubmitted"  # supplemented, back at the level that returned it
    REOPENED = "reopened"  # the reporter was not satisfied; back at the first level
    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"
    MERGED = "merged"  # folded into another report (`merged_into_id`)
    TRANSFERRED = "transferred"  # 转办: with a department
    HANDLED = "handled"  # the department replied (办理回复)
    CLOSED = "closed"


class AdoptionLevel(enum.StrEnum):
    """Who adopted a report; higher levels come later (被省政协采用)."""

    COUNTY = "county"
    CITY = "city"
    PROVINCE = "province"
    NATIONAL = "national"


class UnitKind(enum.StrEnum):
    CPPCC = "cppcc"  # a county / city CPPCC office
    PARTY = "party"  # a democratic party committee
    FEDERATION = "federation"  # federation of industry and commerce
    COMMITTEE = "committee"  # a special committee office
    DEPARTMENT = "department"  # a government department that takes transfers
    OTHER = "other"


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Role(enum.StrEnum):
    ADMIN = "admin"
    CLERK = "clerk"  # 信息员: first review
    DIRECTOR = "director"  # 办公室主任: second review
    SECRETARY_GENERAL = "secretary_general"  # 秘书长: final approval
    UNIT_LIAISON = "unit_liaison"  # a reporting unit's liaison: reads its unit's reports
    DEPARTMENT = "department"  # 有关部门: answers transfers to its unit
    VIEWER = "viewer"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class WeChatInboxStatus(enum.StrEnum):
    PENDING = "pending"  # received and acknowledged, not yet handled
    ANSWERED = "answered"  # handled; `replies` are being sent
    DONE = "done"
    DEAD = "dead"  # given up; `last_error` says why, `payload` keeps what was sent
