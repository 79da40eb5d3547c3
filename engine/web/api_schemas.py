"""The shapes of the JSON API's answers, as JSON Schema (OpenAPI 3.1 schema objects).

engine/web/openapi.py puts every entry of `SHAPES` under ``components/schemas``; a view's
docstring names one by its key (``schema: Task``). The form documents inside them are not
described here: they refer to the forms' own schemas (``FormDraft.<form>``), which the
document takes from the definitions in the store.

Keys the answers always carry are ``required``; objects stay open
(``additionalProperties`` allowed) so that adding a key is not a breaking change.
"""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "string"}
_INT = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}
_OBJECT = {"type": "object"}
_NEXT = {"type": ["string", "null"],
         "description": "The cursor of the next page (pass it as ``cursor``); null on the "
                        "last page."}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None,
            description: str = "") -> dict[str, Any]:
    shape = {"type": "object", "required": sorted(required),
             "properties": {**required, **(optional or {})}}
    return {"description": description, **shape} if description else shape


SHAPES: dict[str, dict[str, Any]] = {
    "Problem": _object(
        {"error": {"type": "string", "description": "What went wrong, a name without spaces: "
                   "NotFound, NotPermitted, Conflict, ReasonRequired, BadRequest, ..."},
         "message": {"type": "string", "description": "What to do, in Bahasa Indonesia."}},
        description="Every error answer of the API (any status), with context keys beside "
                    "(region, stage, ...). Nothing was changed."),
    "Trigger": _object({"trigger": _TEXT, "name": _TEXT,
                        "by": {"type": "array", "items": _TEXT},
                        "reason": {"type": "boolean",
                                   "description": "A reason is required to fire it."}}),
    "Blocker": _object(
        {"kind": {"enum": ["opens", "after", "waits_for"]}, "message": _TEXT},
        {"stage": _TEXT, "state": _TEXT, "level": _TEXT, "opens_at": _TIME,
         "quorum_percent": _INT, "have": _INT, "need": _INT, "total": _INT,
         "regions": {"type": "array", "items": _TEXT},
         "children": {"type": "array", "items": _object(
             {"code": _TEXT, "name": _TEXT, "state": {"type": ["string", "null"]},
              "due_at": {"type": ["string", "null"], "format": "date-time"}})}},
        description="One reason a stage is still locked."),
    "Part": _object({"unit": _TEXT, "state": _TEXT, "version": _INT},
                    {"updated_at": {"type": ["string", "null"], "format": "date-time"},
                     "updated_by": {"type": ["string", "null"]},
                     "note": {"type": ["string", "null"]}},
                    description="One unit's part of a stage's documents."),
    "Task": _object(
        {"task_id": _INT, "region": _TEXT, "region_name": _TEXT, "level": _TEXT, "year": _INT,
         "stage": _TEXT, "stage_name": _TEXT, "state": _TEXT, "state_name": _TEXT,
         "version": _INT, "opens_at": _TIME, "due_at": _TIME, "timezone": _TEXT,
         "overdue": {"type": "boolean"},
         "triggers": {"type": "array", "items": {"$ref": "#/components/schemas/Trigger"},
                      "description": "What the caller may fire now."},
         "blockers": {"type": "array", "items": {"$ref": "#/components/schemas/Blocker"}},
         "history": {"type": "array", "items": _object(
             {"id": _INT, "at": _TIME, "kind": _TEXT},
             {"actor": {"type": ["string", "null"]}, "from": {"type": ["string", "null"]},
              "to": {"type": ["string", "null"]}, "payload": {}})},
         "data": {"anyOf": [{"$ref": "#/components/schemas/Documents"}, {"type": "null"}]},
         "parts": {"type": "object",
                   "additionalProperties": {"$ref": "#/components/schemas/Part"}},
         "sent_back": {"type": ["object", "null"],
                       "description": "The return waiting for a new submission."}},
        description="One stage of one region and year; the list leaves history, blockers "
                    "and data empty."),
    "TaskPage": _object(
        {"year": _INT, "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
         "next": _NEXT}),
    "ActResult": _object({"task_id": _INT, "trigger": _TEXT, "from_state": _TEXT,
                          "to_state": _TEXT, "version": _INT,
                          "opened": {"type": "array"}}),
    "StageProgress": _object(
        {"level": _TEXT, "stage": _TEXT, "stage_name": _TEXT, "total": _INT, "done": _INT,
         "done_percent": {"type": "number"}, "overdue": _INT,
         "by_state": {"type": "object", "additionalProperties": _INT}}),
    "Progress": _object(
        {"year": _INT, "areas": {"type": "array", "items": _TEXT},
         "stages": {"type": "array", "items": {"$ref": "#/components/schemas/StageProgress"}}}),
    "FormProblem": _object({"message": _TEXT}, {"severity": _TEXT},
                           description="A problem of the documents, in Bahasa Indonesia."),
    "Forms": _object(
        {"region": _TEXT, "stage": _TEXT, "year": _INT, "state": _TEXT,
         "parts": {"type": "object", "additionalProperties": _OBJECT},
         "documents": {"$ref": "#/components/schemas/Documents"},
         "problems": {"type": "array", "items": {"$ref": "#/components/schemas/FormProblem"}},
         "completeness": {"type": "object", "additionalProperties": _object(
             {"filled": _INT, "required": _INT})},
         "previous": {"type": "object",
                      "description": "Last year's approved values, per form."}}),
    "FormsSave": _object(
        {"data": {"$ref": "#/components/schemas/Documents"}},
        {"unit": {"type": ["string", "null"], "description": "The caller's unit, when they "
                  "hold more than one."},
         "expected_version": {"type": ["integer", "null"],
                              "description": "The part's version read (409 if it moved)."}},
        description="A draft of the caller's part: per form, the fields to write."),
    "SavedPart": _object({"unit": _TEXT, "version": _INT,
                          "problems": {"type": "array",
                                       "items": {"$ref": "#/components/schemas/FormProblem"}}}),
    "Action": {"type": "object", "properties": {
        "reason": {"type": ["string", "null"]}, "data": _OBJECT,
        "marks": {"type": "array", "items": _TEXT, "description": "A return with the cells "
                  "concerned (form.section[.row].field), as the stage page's; without data."},
        "expected_version": {"type": ["integer", "null"],
                             "description": "The task's version read (409 if it moved)."}}},
    "InboxItem": _object(
        {"id": _INT, "at": _TIME, "role": _TEXT, "region": _TEXT,
         "units": {"type": ["array", "null"], "items": _TEXT,
                   "description": "The units whose parts it is about (null: the whole stage)."},
         "task": _object({"region": _TEXT, "stage": _TEXT, "year": _INT}),
         "message": _TEXT, "kind": _TEXT, "days": {"type": ["integer", "null"]},
         "due_at": _TIME, "timezone": _TEXT, "role_name": _TEXT, "region_name": _TEXT,
         "task_region_name": _TEXT, "level": _TEXT, "stage_name": _TEXT,
         "state_name": _TEXT, "done": {"type": "boolean"},
         "read": {"type": "boolean", "description": "Read by the caller."}},
        description="A reminder or escalation; state_name and done are the stage's now."),
    "InboxPage": _object(
        {"items": {"type": "array", "items": {"$ref": "#/components/schemas/InboxItem"}},
         "next": _NEXT, "unread": {"type": "integer", "description": "Unread items of the "
                                   "caller, counted up to a cap."}}),
    "MarkRead": {"type": "object", "properties": {
        "ids": {"type": "array", "maxItems": 1000, "items": {"type": "integer", "minimum": 1}},
        "up_to": {"type": "integer", "minimum": 1}}},
    "Marked": _object({"marked": _INT, "unread": _INT}),
    "OverdueRow": _object(
        {"year": _INT, "region": _TEXT, "region_name": _TEXT,
         "parent": {"type": ["string", "null"]}, "parent_name": {"type": ["string", "null"]},
         "level": _TEXT, "level_name": _TEXT, "stage": _TEXT, "stage_name": _TEXT,
         "state": _TEXT, "state_name": _TEXT, "due_at": _TIME, "timezone": _TEXT,
         "days_late": _INT, "nudged_today": {"type": "boolean"},
         "waiting_for": {"type": "array", "items": _object(
             {"role": _TEXT, "role_name": _TEXT, "region": _TEXT,
              "level": {"type": ["string", "null"]}, "unit": {"type": ["string", "null"]},
              "holders": {"type": "array", "items": _object(
                  {"username": _TEXT, "display_name": {"type": ["string", "null"]}})}},
             description="A role (of one unit's part) the stage waits for, and who holds it.")},
         "blockers": {"type": "array", "items": {"$ref": "#/components/schemas/Blocker"}}}),
    "OverduePage": _object(
        {"total": _INT, "page": _INT, "per_page": _INT, "pages": _INT,
         "other_total": {"type": "integer", "description": "How many the other list has "
                         "(locked ones when this is late work, and back)."},
         "rows": {"type": "array", "items": {"$ref": "#/components/schemas/OverdueRow"}},
         "next": _NEXT}),
    "Tally": _object({name: _INT for name in (
        "total", "due", "done", "done_due", "on_time", "done_late", "overdue", "blocked",
        "percent")}, description="Stages by how they stand: overdue is real late work, "
        "blocked is past its deadline still locked behind late work elsewhere."),
    "Cell": _object({"state": _TEXT, "state_name": _TEXT, "done": {"type": "boolean"},
                     "late": {"type": "boolean"},
                     "kind": {"enum": ["done", "done-late", "overdue", "waiting", "running"]},
                     "due_at": _TIME}),
    "Dashboard": _object(
        {"region": {"type": ["string", "null"], "description": "null: the whole country."},
         "year": _INT, "now": _TIME, "child_level": {"type": ["string", "null"]},
         "lower_levels": {"type": "array", "items": _TEXT},
         "progress": {"$ref": "#/components/schemas/Tally"},
         "children": {"type": "array", "items": _object(
             {"code": _TEXT, "name": _TEXT, "level": {"type": ["string", "null"]},
              "rank": _INT, "band": {"type": ["string", "null"]},
              "progress": {"$ref": "#/components/schemas/Tally"},
              "stages": {"type": "object", "description": "The matrix row: stage id -> cell.",
                         "additionalProperties": {"$ref": "#/components/schemas/Cell"}},
              "below": {"type": "object", "description": "Per lower level, its stages below.",
                        "additionalProperties": {"$ref": "#/components/schemas/Tally"}}})},
         "stages": {"type": "array", "items": {"allOf": [
             {"$ref": "#/components/schemas/Cell"}, _object({"stage": _TEXT})]}},
         "weeks": {"type": "array", "items": _object(
             {"week": _INT, "starts": {"type": "string", "format": "date"}, "due": _INT,
              "done": _INT})}}),
    "Reminded": _object(
        {"days_late": _INT, "recipients": {"type": "array", "items": _object(
            {"role": _TEXT, "role_name": _TEXT, "region": _TEXT,
             "unit": {"type": ["string", "null"]}})}}),
    "Extension": {"type": "object", "required": ["until", "reason"], "properties": {
        "until": {"type": "string", "format": "date",
                  "description": "The new due day (end of day, each region's zone)."},
        "reason": {"type": "string", "description": "Required, at most 2,000 characters."},
        "area": {"type": ["string", "null"], "description": "Extend the stage in every "
                 "region of its level within this area (which holds the region)."}}},
    "Extended": _object({"extended": {"type": "array", "items": _TEXT},
                         "skipped_done": {"type": "array", "items": _TEXT},
                         "notices": _INT}),
    "StoredFile": _object({"sha256": _TEXT, "nama": _TEXT, "ukuran": _INT, "jenis": _TEXT},
                          description="Put this object into the file field with a save."),
    "Upload": _object({"file": {"type": "string", "contentMediaType": "application/octet-stream"},
                       "field": {"type": "string",
                                 "description": "form.section.field of a file field"}}),
}
