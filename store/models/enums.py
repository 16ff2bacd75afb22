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


class MemberRole(enum.StrEnum):
    """Who is on the roster (委员履职, issue 13)."""

    MEMBER = "member"  # 政协委员
    INFORMANT = "informant"  # 特邀信息员


class ReportSource(enum.StrEnum):
    """Where a report came from (issue 13), set once when it is filed (store.reports.drafts).

    A plain column on `reports`, so statistics group by it without a join.
    """

    CITIZEN = "citizen"  # 群众: at a collection point, through the chat or a counter
    MEMBER = "member"  # 委员, on their own initiative
    INFORMANT = "informant"  # 特邀信息员
    COMMISSIONED = "commissioned"  # 约稿: an answer to a commission addressed to the reporter
    SURVEY = "survey"  # 调研 (entered by staff)
    CONSULTATION = "consultation"  # 协商会 (entered by staff)
    PROPOSAL = "proposal"  # 提案 (entered by staff)
    PLENARY_SPEECH = "plenary_speech"  # 大会发言 (entered by staff)


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
