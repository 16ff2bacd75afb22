"""The modes of a conversation and which input moves which mode where: a table.

Like `store.reports.lifecycle.TRANSITIONS`, allowed moves are data: mode → input →
`On(move, to)`. `Turn.run` reads the table and nothing else decides which
move answers an input; an input a mode does not list gets the mode's polite
default (`Turn.current_prompt`: the question, the read-back or the menu
again, nothing changed). `tests/test_modes.py` walks every mode × every input.

Inputs are named as they arrive:
  /name      a typed command (`store.conversation.commands`)
  ~verb      a stateless button (menus, feedback messages): works in any turn
  verb       a button of the current turn (`t<turn>:verb:arg`)
  <text> <file> <location>   content typed, sent or shared

`On.to` lists the modes a move may lead to besides staying where it is: a
move whose outcome depends on the data (an answer may finish the form, the
end of a side errand brings back a paused draft or the menu) lists each.
The stored mode strings are the enum's values; they must not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    IDLE = "idle"  # nothing in progress: the menu
    FILLING = "filling"  # answering `step`
    REVIEW = "review"  # reading back the draft before confirming
    EDITING = "editing"  # answering `step` again, chosen from the review
    SUPPLEMENT = "supplement"  # adding to a returned report
    REOPEN = "reopen"  # saying why a closed report left them unsatisfied


M = Mode
DRAFT_MODES = frozenset({M.FILLING, M.REVIEW, M.EDITING})
# Where leaving a side errand may land: the paused draft's mode, or the menu.
BACK_FROM_SIDE = (M.IDLE, M.FILLING, M.REVIEW, M.EDITING)

TEXT, FILE, LOCATION = "<text>", "<file>", "<location>"
CONTENT = (TEXT, FILE, LOCATION)


@dataclass(frozen=True)
class On:
    """The move (a method of `Turn`, given the input's argument) and where it may lead."""

    move: str
    to: frozenset[Mode] = frozenset()


def on(move: str, *to: Mode) -> On:
    return On(move, frozenset(to))


# Commands and stateless buttons that work the same way in every mode.
EVERYWHERE: dict[str, On] = {
    "/start": on("start"),
    "/help": on("help"),
    "/lang": on("language"),
    "/my": on("my_reports"), "~my": on("my_reports"),
    "/link": on("link"),
    "/bind": on("bind"),
    "/mystats": on("mystats"),
    "/topics": on("topic_list"), "~topics": on("topic_list"),
    "/subscribe": on("subscribe"), "/unsubscribe": on("unsubscribe"),
    "/nobulletin": on("bulletin_off"), "~nobulletin": on("bulletin_off"),
    "/bulletin": on("bulletin_on"),
    "~supp": on("supplement_start", M.SUPPLEMENT),
    "~rate": on("rate", M.REOPEN),
}

# What a draft in progress answers the same way in each of its modes.
IN_A_DRAFT: dict[str, On] = {
    **EVERYWHERE,
    "/new": on("new_report"), "~new": on("new_report"),  # the draft is kept: resume or restart
    "~topic": on("topic_start"),  # busy: finish the draft first
    "/cancel": on("cancel", M.IDLE), "cancel": on("cancel", M.IDLE),
    "/back": on("back", M.FILLING), "back": on("back", M.FILLING),
    "resume": on("resume"),
    "restart": on("restart", M.FILLING),
}

# Answering the current step: the form goes on, or is read back when done.
ANSWERING: dict[str, On] = {
    **{kind: on("answer", M.REVIEW) for kind in CONTENT},
    "ch": on("answer_choice", M.REVIEW),
    "yn": on("answer_yesno", M.REVIEW),
    "skip": on("skip", M.REVIEW),
    "done": on("files_done", M.REVIEW),
}

# What a side errand answers the same way in each of its modes.
ON_A_SIDE_ERRAND: dict[str, On] = {
    **EVERYWHERE,
    "~rate": on("rate", M.REOPEN, *BACK_FROM_SIDE),
    "/new": on("side_busy"), "~new": on("side_busy"),
    "~topic": on("topic_start"),  # busy: finish the errand first
    "/cancel": on("cancel", *BACK_FROM_SIDE), "cancel": on("cancel", *BACK_FROM_SIDE),
}

TABLE: dict[Mode, dict[str, On]] = {
    M.IDLE: {
        **EVERYWHERE,
        "/start": on("start", M.FILLING),  # a first visit starts the form
        "/new": on("new_report", M.FILLING), "~new": on("new_report", M.FILLING),
        "~topic": on("topic_start", M.FILLING),
        "/cancel": on("cancel"),  # nothing to cancel
        # A draft kept when the conversation was recovered (see `store.conversation.context`).
        "resume": on("resume", M.FILLING, M.REVIEW),
        "restart": on("restart", M.FILLING),
    },
    M.FILLING: {**IN_A_DRAFT, **ANSWERING},
    M.EDITING: {
        **IN_A_DRAFT,
        # A changed answer can open a step not yet answered: it is asked, still editing.
        **ANSWERING,
        "rv": on("to_review", M.REVIEW),
    },
    M.REVIEW: {
        **IN_A_DRAFT,
        "ok": on("confirm", M.IDLE, M.FILLING),  # filed; or a required answer is missing
        "edit": on("edit_menu"),
        "ed": on("edit_step", M.EDITING),
        "rv": on("to_review"),
    },
    M.SUPPLEMENT: {
        **ON_A_SIDE_ERRAND,
        **{kind: on("supplement_input", *BACK_FROM_SIDE) for kind in CONTENT},
        "sdone": on("supplement_done", *BACK_FROM_SIDE),
    },
    M.REOPEN: {
        **ON_A_SIDE_ERRAND,
        **{kind: on("comment_input", *BACK_FROM_SIDE) for kind in CONTENT},
        "rcancel": on("comment_cancel", *BACK_FROM_SIDE),
    },
}

# Every input some mode takes; the walking test sends each one in every mode.
INPUTS: frozenset[str] = frozenset(key for moves in TABLE.values() for key in moves)

