"""The API's definition JSON (web/serialize.py) carries who starts a process and with which
form (DefinitionInfo.manual_start, start_departments, start_form_key), and the OpenAPI
Definition schema describes every field it returns."""

from __future__ import annotations

from engine import Engine
from tests.conftest import FIXTURES, actor
from tests.engine.test_department_kinds import STREETS
from web.api.document import SCHEMAS
from web.api.schemas import definition_json

START_FORM = {"start_case.form": (FIXTURES / "forms" / "start_case.form").read_bytes()}


def _deploy(engine: Engine, name: str, files=None):
    return engine.deploy(f"{name}.bpmn", (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes(),
                         files, actor=actor(engine, "admin")).definition


def test_definition_json_says_who_starts_it_and_with_which_form(engine, rebuild):
    _deploy(engine, "start_rules", START_FORM)
    _deploy(engine, "timer_start")
    for eng in (engine, rebuild()):
        body = definition_json(eng.get_definition("start_rules"))
        assert body["manual_start"] is True
        assert body["start_departments"] == sorted([*STREETS, "drc", "emergency", "invest"])
        assert body["start_form_key"] == "start_case"
        timer = definition_json(eng.get_definition("timer_start"))
        assert timer["manual_start"] is False and timer["start_form_key"] is None
        described = SCHEMAS["Definition"]["properties"]
        assert set(body) == set(described)
        for name in ("manual_start", "start_departments", "start_form_key"):
            assert described[name].get("description")


def test_definition_json_start_departments_as_in_the_definition(engine):
    for key in ("sample_review", "sample_loop"):
        info = engine.get_definition(key)
        body = definition_json(info)
        expected = None if info.start_departments is None else list(info.start_departments)
        assert body["start_departments"] == expected
        assert body["manual_start"] is info.manual_start
