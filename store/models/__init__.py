"""Typed SQLAlchemy models: the nouns of minyi, one module per domain.

Only `store.reports.lifecycle` writes `Report.status`; everything else reads it. Import
from here (`from store.models import Report`): importing the package maps every table.
"""

from store.models.audit import AuditEntry
from store.models.base import Base, UTCDateTime, enum_type, utcnow
from store.models.conversation import Conversation, ProcessedUpdate, WebChatMessage, WebChatSend
from store.models.delivery import ChannelState, OutboxMessage, StaffNotice, WeChatInbox, WeChatToken
from store.models.enums import (
    AdoptionLevel,
    Channel,
    MemberRole,
    OutboxStatus,
    PointKind,
    ReporterKind,
    ReportSource,
    ReportStatus,
    Role,
    UnitKind,
    Urgency,
    WeChatInboxStatus,
)
from store.models.jobs import JobRun
from store.models.journal import IssueStatus, JournalEvent, JournalIssue, JournalItem, JournalSeries
from store.models.network import (
    BindingCode,
    CollectionPoint,
    PointScan,
    ScanVisitor,
    StaffAddress,
    Unit,
    User,
)
from store.models.office import AccessLog, LoginFailure, OfficeSetting, RecoveryCode, SavedView
from store.models.readers import ApiCall, ApiToken, DetailsLink, DetailsRead, ExportLog
from store.models.reports import Attachment, Counter, Report, Reporter, ReportEvent, ReportNote, ReportVersion
from store.models.review import DeclineTemplate, FollowUpStep, Instruction, Topic, Transfer
from store.models.roster import CommissionMember, Member
from store.models.scoring import AssessmentSeries, Bulletin, ScoreRuleSet, SeriesMember
from store.models.upward import Adoption, Destination, UpwardRecord, UpwardRoute, UpwardStatus

__all__ = [
    "AuditEntry",
    "utcnow",
    "UTCDateTime",
    "Base",
    "enum_type",
    "Channel",
    "PointKind",
    "ReporterKind",
    "ReportStatus",
    "AdoptionLevel",
    "UnitKind",
    "Urgency",
    "Role",
    "OutboxStatus",
    "WeChatInboxStatus",
    "Unit",
    "CollectionPoint",
    "PointScan",
    "ScanVisitor",
    "User",
    "BindingCode",
    "StaffAddress",
    "Reporter",
    "Report",
    "Attachment",
    "ReportEvent",
    "ReportVersion",
    "ReportNote",
    "Counter",
    "Transfer",
    "FollowUpStep",
    "Instruction",
    "DeclineTemplate",
    "Topic",
    "Conversation",
    "ProcessedUpdate",
    "JobRun",
    "WebChatMessage",
    "WebChatSend",
    "OutboxMessage",
    "StaffNotice",
    "ChannelState",
    "WeChatToken",
    "WeChatInbox",
    "OfficeSetting",
    "AccessLog",
    "LoginFailure",
    "RecoveryCode",
    "SavedView",
    "Destination",
    "UpwardRoute",
    "UpwardRecord",
    "UpwardStatus",
    "Adoption",
    "IssueStatus",
    "JournalSeries",
    "JournalIssue",
    "JournalItem",
    "JournalEvent",
    "DetailsLink",
    "DetailsRead",
    "ExportLog",
    "ApiToken",
    "ApiCall",
    "ScoreRuleSet",
    "AssessmentSeries",
    "SeriesMember",
    "Bulletin",
    "MemberRole",
    "ReportSource",
    "Member",
    "CommissionMember",
]
