"""Department kinds of the org chart in diagrams: a dotted kind (``street.town``) counts under
each group it names (``street``: every 街镇, ``town``: the 镇), for ``start_departments =
kind:…`` and for diagram code (``departments_of_kind``), so that a step can go to every 街镇 at
once; and ``starter_department``, which records the starting user's department in the case."""

from __future__ import annotations

import pytest

from engine import Forbidden, InvalidModel
from engine.routing import kind_groups
from tests.conftest import FIXTURES, actor

SUBDISTRICTS = [
    "aerding",
    "anshandao",
    "baiyunlu",
    "huanghexi",
    "kunbei",
    "kungonglu",
    "linyinlu",
    "qianjindao",
    "shaoxianlu",
    "shifudong",
    "tuanjie",
    "youyi",
    "zhaotan",
]
TOWNS = ["buerhantu", "kunhe"]
STREETS = sorted(SUBDISTRICTS + TOWNS)


def _bpmn() -> bytes:
    return (FIXTURES / "bpmn" / "every_street.bpmn").read_bytes()


def _open(engine, iid):
    return engine.get_instance(iid, actor(engine, "admin")).tasks


def test_a_dotted_kind_counts_under_each_group_it_names():
    assert kind_groups("street.town") == ("street.town", "street", "town")
    assert kind_groups("a.b.c") == ("a.b.c", "a", "a.b", "c")
    assert kind_groups("bureau") == ("bureau",)
    assert kind_groups(" street . subdistrict ") == ("street.subdistrict", "street", "subdistrict")
    assert kind_groups("") == () and kind_groups(None) == ()


def test_the_org_chart_has_every_street_by_kind(engine):
    kinds = engine.department_kinds()
    assert list(kinds["street"]) == STREETS
    assert list(kinds["subdistrict"]) == SUBDISTRICTS == list(kinds["street.subdistrict"])
    assert list(kinds["town"]) == TOWNS
    assert "gov-office" in kinds["office"] and "supervision" in kinds["office"]
    assert {
        "education",
        "health",
        "finance",
        "hrss",
        "civil-affairs",
        "market",
        "urban",
        "culture",
    } <= set(kinds["bureau"])


def test_a_step_goes_to_every_street_and_the_starter_is_recorded(engine):
    """kind:town lets only the two 镇 start; the script lists each kind; the multi-instance
    step routes one task to each of the 15 街镇, each done by that 街镇's caseworker."""
    info = engine.deploy("every_street.bpmn", _bpmn(), actor=actor(engine, "admin")).definition
    assert info.warnings == ()  # the 街镇 lane's task is routed by its department_expression
    assert info.start_departments == tuple(TOWNS)
    with pytest.raises(Forbidden):
        engine.start("every_street", actor(engine, "kunbei-clerk"))  # a 街道, not a 镇

    iid = engine.start(
        "every_street", actor(engine, "kunhe-clerk"), data={"origin": "buerhantu"}
    ).id
    data = engine.get_instance(iid, actor(engine, "admin"), with_data=True).data
    assert data["origin"] == "kunhe"  # the starter's department, not what the data said
    assert data["streets"] == STREETS and data["subdistricts"] == SUBDISTRICTS
    assert data["dotted"] == TOWNS and data["unknown"] == []
    assert data["towns"] == [*TOWNS, "changed"] and data["towns_again"] == TOWNS

    tasks = _open(engine, iid)
    assert sorted(t.department_code for t in tasks) == STREETS
    assert {(t.element_id, t.lane) for t in tasks} == {("street_report", "街镇")}
    for t in tasks:
        with pytest.raises(Forbidden):  # another 街镇 cannot do it
            other = "kunhe" if t.department_code != "kunhe" else "kunbei"
            engine.complete(t.id, actor(engine, f"{other}-clerk"), {"report": "x"})
        engine.complete(
            t.id,
            actor(engine, f"{t.department_code}-clerk"),
            {"report": f"{t.department_code} 已报送"},
        )
    (review,) = _open(engine, iid)
    assert (review.element_id, review.department_code) == ("review_reports", "gov-office")
    engine.complete(review.id, actor(engine, "gov-office-clerk"), {})
    final = engine.get_instance(iid, actor(engine, "admin"), with_data=True)
    assert final.status == "completed"
    assert sorted(final.data["reports"]) == [f"{s} 已报送" for s in STREETS]


def test_starter_department_names_a_variable(engine):
    bad = _bpmn().replace(b'value="origin"', b'value="origin department"')
    with pytest.raises(InvalidModel) as refused:
        engine.deploy("every_street.bpmn", bad, actor=actor(engine, "admin"))
    (error,) = refused.value.errors
    assert "starter_department" in error["message"] and error["element_id"] == "every_street"
