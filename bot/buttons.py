"""Every button of the bot outside the form engine, one typed route each (bot.callbacks).

One table to audit: what each button carries, and the ranges its values may take. A tapped
button with anything else (forged, from an older version, an id of 30 digits) is answered as
expired before any handler runs.
"""

from __future__ import annotations

from bot import branch_profile, catalog, obligations, roster
from bot.callbacks import (
    ID,
    PAGE,
    USER,
    YEAR,
    YEAR_OR_ALL,
    Choice,
    Day,
    Field,
    Int,
    Month,
    Word,
    route,
)
from bot.knowledge import formation
from db import appraisals, invitations

KIND = Choice(tuple(kind.code for kind in catalog.KINDS))
KIND_OR_ALL = Choice(("all", *KIND.values))
MONTH = Int(1, 12)
FLAG = Int(0, 1)  # a switch carries the state it sets

# The main menu and the screens it opens.
HOME = route("menu:home")
HELP = route("menu:help")
MENU_NEW = route("menu:new")
MENU_HISTORY = route("menu:history")
MENU_EXPORT = route("menu:export")
MENU_LOG = route("menu:log")
MENU_STATUS = route("menu:status")
MENU_BRANCH = route("menu:branch")
MENU_SWITCH = route("menu:switch")
MENU_MEMBERS = route("menu:members")
MENU_TEAM = route("menu:team")
MENU_PARTYDAY = route("menu:partyday")
MENU_REMINDERS = route("menu:reminders")
MENU_REMIND = route("menu:remind")
MENU_ASK = route("menu:ask")
MENU_GUIDES = route("menu:guides")
MENU_SELFCHECK = route("menu:selfcheck")

# Records and the ledger (bot.handlers.records): branch, kind, year (0: all), page.
RECORDS = route("hi:l", ID, KIND_OR_ALL, YEAR_OR_ALL, PAGE)
RECORDS_KIND = route("hi:fk", ID, YEAR_OR_ALL)
RECORDS_YEAR = route("hi:fy", ID, KIND_OR_ALL)
RECORD = route("hi:o", ID)
CHANGES = route("hi:a", ID)
DELETE = route("hi:d", ID)
DELETE_SURE = route("hi:dd", ID)
WORD = route("hi:w", ID)
EDIT = route("hi:edit", ID)
LEDGER = route("ex:y", ID, YEAR)

# The roster (bot.handlers.members*): branch, then member.
ROSTER = route("mb:l", ID, PAGE)
ROSTER_DONE = route("mb:done", ID)
ROSTER_IMPORT = route("mb:imp", ID)
ROSTER_EXPORT = route("mb:x", ID)
ROSTER_TEMPLATE = route("mb:t", ID)
IMPORT_OK = route("mb:ok", ID)
IMPORT_NO = route("mb:no", ID)
MEMBER_ADD = route("mb:add", ID)
MEMBER = route("mb:o", ID, ID)
MEMBER_EDIT = route("mb:e", ID, ID, Choice(roster.FIELDS))
MEMBER_DELETE = route("mb:d", ID, ID)
MEMBER_DELETE_SURE = route("mb:dd", ID, ID)

# Logging (bot.handlers.meeting_log): a kind, a closed sign-in card, a planned 主题党日.
LOG_KIND = route("log:new", KIND)
LOG_CHECKIN = route("log:ck", ID)
LOG_PLAN = route("pd:log", ID, Month())
PLAN = route("pd:plan", ID, Month())

# /status and the reminders (bot.handlers.status): an obligation's code and period.


class _Code(Field, frozen=True):
    """An obligation's code: a trackable one, 换届 (election: its reminders can be snoozed
    too), or a roster duty of one member (`base.<id>`)."""

    @property
    def widest(self) -> str:
        duty = max(obligations.ROSTER_DUTIES, key=len) + "." + str(ID.widest)
        return max((*obligations.TRACKABLE, duty), key=len)

    def decode(self, text: str) -> str:
        base, dot, member = text.partition(".")
        if (base not in obligations.TRACKABLE and text != "election") or (
            dot and (base not in obligations.ROSTER_DUTIES or ID.decode(member) is None)
        ):
            raise ValueError(text)
        return text


CODE = _Code()
DUES_DONE = route("st:mark", ID, Choice(("party_dues",)), Day())
SNOOZE = route("rm:sz", ID, CODE, Day(), Int(1, 30))
REPORT_RECEIVED = route("st:rep", ID, ID)

# The branch (bot.handlers.branch).
PROFILE_EDIT = route("br:edit", ID, Choice(branch_profile.FIELDS))
SWITCH = route("br:sw", ID)

# Reminder settings (bot.handlers.reminder_settings); a switch carries the state it sets.
OBLIGATION = Choice(tuple(obligations.TRACKABLE))
RS_SHOW = route("rs:show", ID)
RS_TIME = route("rs:time", ID)
RS_LEAD = route("rs:lead", ID)
RS_TERM = route("rs:term", ID)
RS_OBLIGATIONS = route("rs:obl", ID)
RS_OBLIGATION = route("rs:ob", ID, OBLIGATION)
RS_PRIVATE = route("rs:priv", ID, FLAG)
RS_GROUP = route("rs:grp", ID, FLAG)
RS_MUTE = route("rs:om", ID, OBLIGATION, FLAG)
RS_FREQUENCY = route("rs:of", ID, OBLIGATION, Choice((*obligations.FREQUENCIES, "roster")))

# The branch's own reminders (bot.handlers.remind): branch, reminder.
CM_LIST = route("cm:l", ID)
CM_NEW = route("cm:new", ID)
CM_OPEN = route("cm:o", ID, ID)
CM_RULE = route("cm:er", ID, ID)
CM_TEXT = route("cm:et", ID, ID)
CM_PAUSE = route("cm:p", ID, ID, FLAG)
CM_DELETE = route("cm:d", ID, ID)
CM_DELETE_SURE = route("cm:dd", ID, ID)

# The superior organization (bot.handlers.overview, bot.handlers.notice).
OVERVIEW = route("ov:home")
OVERDUE = route("ov:p", PAGE)
OVERVIEW_EXPORT = route("ov:x")
NOTICE_NEW = route("nt:new")
NOTICES = route("nt:l", PAGE)
NOTICE = route("nt:o", ID)
NOTICE_READ = route("nt:read", ID, ID)

# Leaving and deleting (bot.handlers.leave); /forgetme's buttons carry the plan's digest.
ARCHIVE = route("lv:ar", ID)
DELETE_BRANCH = route("lv:del", ID)
DELETE_BRANCH_TYPE = route("lv:d1", ID)
KEEP_ALL = route("lv:no")
DIGEST = Word(r"[0-9a-f]{12}", "f" * 12)
FORGET = route("lv:f1", DIGEST)
FORGET_SURE = route("lv:f2", DIGEST)

# Guidance (bot.handlers.guidance): entries, 主题党日 ideas by month, the formation advisor
# (the answers so far ride in the data, one route per step) and the self-checks (y/n so far).
ENTRY = route("kb", Word(r"[a-z0-9-]{1,40}", "a" * 40))
IDEAS = route("gd:ideas", MONTH)
_FORMAL = Choice(formation.FORMAL_CHOICES)
_PROBATIONARY = Choice(formation.PROBATIONARY_CHOICES)
_TYPE = Choice(tuple(str(i) for i in range(len(formation.ORG_TYPES))))
_ANSWER = Choice(formation.ANSWERS)
FORMATION = (
    route("fa:s"),
    route("fa:f", _FORMAL),
    route("fa:p", _FORMAL, _PROBATIONARY),
    route("fa:t", _FORMAL, _PROBATIONARY, _TYPE),
    route("fa:u", _FORMAL, _PROBATIONARY, _TYPE, _ANSWER),
    route("fa:n", _FORMAL, _PROBATIONARY, _TYPE, _ANSWER, _ANSWER),
)
SELFCHECK = route("sc:a", Word(r"[a-z_]{1,16}", "a" * 16), Word(r"[yn]{0,30}", "y" * 30))

# Groups: binding and the sign-in card (bot.handlers.checkin).
BIND = route("gb:bind")
BIND_TO = route("gb:to", ID)
BIND_MOVE = route("gb:move", ID)
BIND_KEEP = route("gb:keep")
SIGN_NEW = route("ck:new", KIND)
SIGN_IN = route("ck:in", ID)
SIGN_LEAVE = route("ck:lv", ID)
SIGN_END = route("ck:end", ID)
SIGN_NAMES = route("ck:pk", ID, PAGE)
SIGN_NAME = route("ck:me", ID, ID)
SIGN_NOT_LISTED = route("ck:nf", ID)
MAKEUP_DONE = route("mk:done", ID)

# The team (bot.handlers.team, team_invites): branch, then the member's user id.
ROLE = Choice(invitations.INVITABLE)
REF = Word(rf"[0-9a-f]{{{invitations.REF_LENGTH}}}", "f" * invitations.REF_LENGTH)
TEAM = route("tm:l", ID)
TEAM_INVITE = route("tm:i", ID)
TEAM_INVITE_AS = route("tm:ic", ID, ROLE)
TEAM_INVITATIONS = route("tm:il", ID)
TEAM_REVOKE = route("tm:ir", ID, REF)
TEAM_MEMBER = route("tm:m", ID, USER)
TEAM_ROLE = route("tm:r", ID, USER, ROLE)
TEAM_REMOVE = route("tm:x", ID, USER)
TEAM_HAND_OVER = route("tm:h", ID, USER)
TEAM_REMOVE_SURE = route("tm:xx", ID, USER)
TEAM_HAND_OVER_SURE = route("tm:hh", ID, USER)
TEAM_LEAVE = route("tm:q", ID)
TEAM_LEAVE_SURE = route("tm:qq", ID)
ADMIN_INVITATIONS = route("tm:a")
ADMIN_INVITE = route("tm:ac")
ADMIN_REVOKE = route("tm:ar", REF)

# 民主评议党员 (bot.handlers.appraisal): the record, then the member and the grade.
AP_CARD = route("ap:c", ID)
AP_PICK = route("ap:m", ID, ID)
AP_SET = route("ap:s", ID, ID, Choice(appraisals.GRADES))
AP_REST = route("ap:r", ID)
AP_EXPORT = route("ap:x", ID)

# 党费 (bot.handlers.dues, dues_form): branch, then the month (YYYY-MM), member and page.
DU_CARD = route("du:c", ID, Month(), PAGE)
DU_PAY = route("du:p", ID, ID, Month(), PAGE)
DU_ALL = route("du:a", ID, Month())
DU_ALL_SURE = route("du:aa", ID, Month())
DU_PAID = route("du:pl", ID, Month(), PAGE)
DU_UNPAY = route("du:u", ID, ID, Month(), PAGE)
DU_RATES = route("du:r", ID, PAGE)
DU_RATE = route("du:rm", ID, ID)
DU_EXPORT = route("du:x", ID, YEAR)
# Meeting notices (bot.handlers.notify): the notice, then the member or the page of names; a
# planned 主题党日's notice from /partyday (branch, month).
NF_PLAN = route("nf:pd", ID, Month())
NF_ATTEND = route("nf:a", ID)
NF_LEAVE = route("nf:l", ID)
NF_NAMES = route("nf:pk", ID, PAGE)
NF_NAME = route("nf:me", ID, ID)
NF_NOT_LISTED = route("nf:nf", ID)
NF_CANCEL = route("nf:x", ID)
NF_LOG = route("nf:log", ID)
# 民主测评 in the group (bot.handlers.appraisal_poll): the 民主评议 record.
AP_POLL = route("ap:p", ID)
AP_POLL_STOP = route("ap:ps", ID)
# 发展党员 (bot.handlers.recruitment): the branch, then the person.
RC_LIST = route("rc:l", ID)
RC_CARD = route("rc:o", ID, ID)
RC_NEXT = route("rc:n", ID, ID)
RC_EXPORT = route("rc:x", ID)
