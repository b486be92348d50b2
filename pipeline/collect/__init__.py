"""The collection's logic: roster, versions, states, finding identity, diffs, 说明, coverage,
cross-year checks and the recorder a run calls after each chunk. No SQL (pipeline/store does
that) and no HTTP: the command line (collect_cli.py) and the web desk call these same functions.
One module per concern; this package re-exports their names (callers write `collect.find`).
"""
from __future__ import annotations

from ..check.keys import finding_key, finding_keys, org_key  # noqa: F401  (re-exported)
from ..store import StoreError, now  # noqa: F401
from .base import ACCEPTED, DEFAULT_STORE, WEB_FOLDER, EXPLAINED, HAS_ERRORS, KEY_HEADER, NEEDS_NOTE, NEXT_ACTOR, NOTE_HEADER, NOT_SUBMITTED, RETURNED, RETURN_SHEET, STATES, name_key, open_store, store_target, who  # noqa: F401
from .roster import ROSTER_COLUMNS, Roster, _cell_text, _table_rows, import_roster, read_roster  # noqa: F401
from .notes import has_return_sheet, match_notes, note_counts, read_notes  # noqa: F401
from .states import ActionRefused, UnitYear, _after, _utc, act, collection, derive, explained, find, settings  # noqa: F401
from .diffs import CHANGE_COLUMNS, EXPLAINED_F, NEW, PERSISTING, RESOLVED, _num, amounts, changes, diff_amounts, diff_findings  # noqa: F401
from .coverage import Coverage, REMIND_HEADER, _local, coverage, parse_deadline, reminders, write_reminders  # noqa: F401
from .context import Preview, RunContext, VersionBook, previous_year  # noqa: F401
from .recorder import Recorded, Recorder, RunView, _Form, _figures_json  # noqa: F401
from .submit import explain, submission_problems  # noqa: F401
