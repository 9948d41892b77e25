"""Human tasks: routing by lane, queues, who may read/claim/complete/reassign, instance control,
and the event log."""

from __future__ import annotations

import pytest

from engine import Conflict, Forbidden, InvalidInput, NotFound
from tests.conftest import actor

OPINIONS = {"opinion_drc": "drc", "opinion_natres": "natres", "opinion_eco": "eco"}


@pytest.fixture
def review(engine, people, open_tasks):
    """A sample_review instance waiting at the three parallel opinions."""
    clerk = people["invest-clerk"]
    inst = engine.start("sample_review", clerk, business_key="ZS-2025-001", title="示例项目")
    (register,) = open_tasks(engine, inst.id).values()
    engine.complete(register.id, clerk, {"project_name": "示例项目"})
    return inst


def _ids(page):
    return {t.id for t in page.items}


def test_each_task_lands_in_its_lanes_department(engine, people, open_tasks):
    clerk = people["invest-clerk"]
    inst = engine.start("sample_review", clerk, business_key="ZS-1")
    (register,) = open_tasks(engine, inst.id).values()
    assert (register.element_id, register.lane, register.department_code) == (
        "register_project",
        "区招商部门",
        "invest",
    )
    assert register.state == "ready"
    assert register.assignee is None
    assert register.form_key == "register_project"
    assert register.candidate_role is None
    engine.complete(register.id, clerk, {})

    opinions = open_tasks(engine, inst.id)
    assert {e: t.department_code for e, t in opinions.items()} == OPINIONS
    assert {e: t.lane for e, t in opinions.items()} == {
        "opinion_drc": "区发改委",
        "opinion_natres": "区自然资源分局",
        "opinion_eco": "区生态环境分局",
    }
    for element_id, task in list(opinions.items())[:2]:
        engine.complete(task.id, people[f"{OPINIONS[element_id]}-clerk"], {})
        # The join waits for the others.
        assert "consolidate_review" not in open_tasks(engine, inst.id)
    (last,) = open_tasks(engine, inst.id).values()
    engine.complete(last.id, people[f"{last.department_code}-clerk"], {})

    (consolidate,) = open_tasks(engine, inst.id).values()
    assert (consolidate.element_id, consolidate.department_code) == ("consolidate_review", "invest")
    engine.complete(consolidate.id, clerk, {"approved": True})
    (sign,) = open_tasks(engine, inst.id).values()
    assert (sign.element_id, sign.department_code, sign.candidate_role) == (
        "sign_agreement",
        "invest",
        "head",
    )


def test_task_lists_by_scope(engine, people, review, open_tasks):
    drc, eco = people["drc-clerk"], people["eco-clerk"]
    opinions = open_tasks(engine, review.id)
    drc_task = opinions["opinion_drc"]

    dept = engine.list_tasks(drc, scope="department")
    assert _ids(dept) == {drc_task.id}
    assert dept.total == 1
    (row,) = dept.items
    assert (row.business_key, row.title) == ("ZS-2025-001", "示例项目")
    assert _ids(engine.list_tasks(people["invest-clerk"], scope="department")) == set()
    assert _ids(engine.list_tasks(drc, scope="mine")) == set()

    engine.claim(drc_task.id, drc)
    assert _ids(engine.list_tasks(drc, scope="mine")) == {drc_task.id}
    assert _ids(engine.list_tasks(people["drc-head"], scope="mine")) == set()
    assert _ids(engine.list_tasks(drc, scope="department", state="claimed")) == {drc_task.id}
    assert _ids(engine.list_tasks(drc, scope="department", state="ready")) == set()

    engine.complete(drc_task.id, drc, {"opinion": "同意"})
    assert _ids(engine.list_tasks(drc, scope="mine")) == set()
    assert _ids(engine.list_tasks(drc, scope="department")) == set()
    done = engine.list_tasks(drc, scope="done")
    assert _ids(done) == {drc_task.id}
    assert done.items[0].state == "completed"
    assert done.items[0].completed_by == "drc-clerk"
    assert _ids(engine.list_tasks(eco, scope="done")) == set()
    assert _ids(engine.list_tasks(eco, scope="department")) == {opinions["opinion_eco"].id}

    with pytest.raises(Forbidden):
        engine.list_tasks(drc, scope="all")
    seen = engine.list_tasks(people["supervisor"], scope="all", state="open", instance_id=review.id)
    assert _ids(seen) == {opinions["opinion_natres"].id, opinions["opinion_eco"].id}
    with pytest.raises(InvalidInput):
        engine.list_tasks(drc, scope="everything")


def test_other_department_is_forbidden(engine, people, review, open_tasks):
    drc_task = open_tasks(engine, review.id)["opinion_drc"]
    for username in ("natres-clerk", "natres-head", "invest-clerk"):
        outsider = people[username]
        with pytest.raises(Forbidden):
            engine.get_task(drc_task.id, outsider)
        with pytest.raises(Forbidden):
            engine.claim(drc_task.id, outsider)
        with pytest.raises(Forbidden):
            engine.complete(drc_task.id, outsider, {"opinion": "越权"})
        with pytest.raises(Forbidden):
            engine.unclaim(drc_task.id, outsider)
    # A supervisor reads every department's tasks but works none of them.
    assert engine.get_task(drc_task.id, people["supervisor"]).element_id == "opinion_drc"
    with pytest.raises(Forbidden):
        engine.complete(drc_task.id, people["supervisor"], {})
    with pytest.raises(NotFound):
        engine.get_task("00000000-0000-0000-0000-000000000000", people["drc-clerk"])

    after = engine.get_task(drc_task.id, people["drc-clerk"])
    assert (after.state, after.assignee, after.completed_by) == ("ready", None, None)
    assert after.data is not None and after.data["project_name"] == "示例项目"
    kinds = [e.kind for e in engine.list_events(review.id, people["admin"])]
    assert "task_claimed" not in kinds
    assert kinds.count("task_completed") == 1  # register_project only


def _to_sign(engine, people, open_tasks, review):
    for element_id, task in open_tasks(engine, review.id).items():
        engine.complete(task.id, people[f"{OPINIONS[element_id]}-clerk"], {})
    consolidate = open_tasks(engine, review.id)["consolidate_review"]
    engine.complete(consolidate.id, people["invest-clerk"], {"approved": True})
    return open_tasks(engine, review.id)["sign_agreement"]


def test_candidate_role_head(engine, people, review, open_tasks):
    sign = _to_sign(engine, people, open_tasks, review)
    clerk, head = people["invest-clerk"], people["invest-head"]
    assert engine.get_task(sign.id, clerk).element_id == "sign_agreement"  # may read it
    with pytest.raises(Forbidden):
        engine.claim(sign.id, clerk)
    with pytest.raises(Forbidden):
        engine.complete(sign.id, clerk, {"signed": True})
    with pytest.raises(InvalidInput):
        engine.reassign(sign.id, head, "invest-clerk")  # lacks the role
    assert engine.get_task(sign.id, head).state == "ready"

    done = engine.complete(sign.id, head, {"signed": True})
    assert (done.state, done.completed_by) == ("completed", "invest-head")
    assert engine.get_instance(review.id, head).status == "completed"


def test_claimed_task_cannot_be_completed_by_a_colleague(engine, people, review, open_tasks):
    drc_task = open_tasks(engine, review.id)["opinion_drc"]
    clerk, head = people["drc-clerk"], people["drc-head"]
    claimed = engine.claim(drc_task.id, clerk)
    assert (claimed.state, claimed.assignee) == ("claimed", "drc-clerk")
    assert claimed.claimed_at is not None
    with pytest.raises(Conflict):
        engine.complete(drc_task.id, head, {"opinion": "抢办"})
    with pytest.raises(Conflict):
        engine.claim(drc_task.id, head)
    still = engine.get_task(drc_task.id, clerk)
    assert (still.state, still.assignee) == ("claimed", "drc-clerk")
    # Claiming one's own task again is harmless.
    assert engine.claim(drc_task.id, clerk).assignee == "drc-clerk"
    done = engine.complete(drc_task.id, clerk, {"opinion": "同意"})
    assert (done.state, done.completed_by) == ("completed", "drc-clerk")
    with pytest.raises(Conflict):
        engine.complete(drc_task.id, clerk, {"opinion": "再次提交"})
    with pytest.raises(Conflict):
        engine.claim(drc_task.id, clerk)


def test_unclaim(engine, people, review, open_tasks):
    drc_task = open_tasks(engine, review.id)["opinion_drc"]
    clerk, head = people["drc-clerk"], people["drc-head"]
    engine.claim(drc_task.id, clerk)
    back = engine.unclaim(drc_task.id, clerk)
    assert (back.state, back.assignee, back.claimed_at) == ("ready", None, None)
    assert engine.claim(drc_task.id, head).assignee == "drc-head"
    # A clerk cannot take a colleague's claim away; the head can.
    with pytest.raises(Forbidden):
        engine.unclaim(drc_task.id, clerk)
    engine.unclaim(drc_task.id, head)
    engine.claim(drc_task.id, clerk)
    assert engine.unclaim(drc_task.id, head).state == "ready"
    kinds = [
        e.kind for e in engine.list_events(review.id, people["admin"]) if e.task_id == drc_task.id
    ]
    assert kinds == [
        "task_created",
        "task_claimed",
        "task_unclaimed",
        "task_claimed",
        "task_unclaimed",
        "task_claimed",
        "task_unclaimed",
    ]


def test_reassign(engine, people, review, open_tasks):
    drc_task = open_tasks(engine, review.id)["opinion_drc"]
    head, clerk = people["drc-head"], people["drc-clerk"]

    moved = engine.reassign(drc_task.id, head, "drc-clerk")
    assert (moved.state, moved.assignee) == ("claimed", "drc-clerk")
    assert _ids(engine.list_tasks(clerk, scope="mine")) == {drc_task.id}

    with pytest.raises(Forbidden):
        engine.reassign(drc_task.id, clerk, "drc-head")
    with pytest.raises(Forbidden):
        engine.reassign(drc_task.id, people["eco-head"], "drc-head")  # head of another department
    with pytest.raises(InvalidInput):
        engine.reassign(drc_task.id, head, "eco-clerk")
    with pytest.raises(InvalidInput):
        engine.reassign(drc_task.id, head, "nobody")
    assert engine.get_task(drc_task.id, head).assignee == "drc-clerk"

    assert engine.reassign(drc_task.id, head, "drc-head").assignee == "drc-head"
    with pytest.raises(Conflict):
        engine.complete(drc_task.id, clerk, {})
    assert engine.complete(drc_task.id, head, {}).completed_by == "drc-head"
    events = [e for e in engine.list_events(review.id, people["admin"]) if e.task_id == drc_task.id]
    assert [(e.kind, e.actor, e.data) for e in events[1:3]] == [
        ("task_reassigned", "drc-head", {"assignee": "drc-clerk"}),
        ("task_reassigned", "drc-head", {"assignee": "drc-head"}),
    ]


def test_suspend_and_resume(engine, people, review, open_tasks):
    admin, clerk = people["admin"], people["drc-clerk"]
    drc_task = open_tasks(engine, review.id)["opinion_drc"]
    with pytest.raises(Forbidden):
        engine.suspend(review.id, people["drc-head"])

    assert engine.suspend(review.id, admin).status == "suspended"
    with pytest.raises(Conflict):
        engine.complete(drc_task.id, clerk, {"opinion": "同意"})
    with pytest.raises(Conflict):
        engine.claim(drc_task.id, clerk)
    with pytest.raises(Conflict):
        engine.suspend(review.id, admin)
    assert engine.get_task(drc_task.id, clerk).state == "ready"

    assert engine.resume(review.id, admin).status == "running"
    with pytest.raises(Conflict):
        engine.resume(review.id, admin)
    done = engine.complete(drc_task.id, clerk, {"opinion": "同意"})
    assert done.state == "completed"
    assert set(open_tasks(engine, review.id)) == {"opinion_natres", "opinion_eco"}


def test_terminate_cancels_open_tasks(engine, people, review, open_tasks):
    admin = people["admin"]
    opinions = open_tasks(engine, review.id)
    engine.claim(opinions["opinion_eco"].id, people["eco-clerk"])
    with pytest.raises(Forbidden):
        engine.terminate(review.id, people["invest-head"], reason="越权")

    info = engine.terminate(review.id, admin, reason="项目撤回")
    assert info.status == "terminated"
    assert info.ended_at is not None
    assert info.tasks == ()
    for task in opinions.values():
        row = engine.get_task(task.id, admin)
        assert row.state == "cancelled"
        assert row.completed_by is None
    assert open_tasks(engine, review.id) == {}
    assert _ids(engine.list_tasks(people["drc-clerk"], scope="department")) == set()
    assert _ids(engine.list_tasks(people["eco-clerk"], scope="mine")) == set()
    with pytest.raises(Conflict):
        engine.complete(opinions["opinion_drc"].id, people["drc-clerk"], {})
    with pytest.raises(Conflict):
        engine.resume(review.id, admin)
    with pytest.raises(Conflict):
        engine.terminate(review.id, admin)

    events = engine.list_events(review.id, admin)
    tail = events[-4:]
    assert tail[0].kind == "instance_terminated"
    assert (tail[0].actor, tail[0].data) == ("admin", {"reason": "项目撤回"})
    assert sorted(e.kind for e in tail[1:]) == ["task_cancelled"] * 3
    assert {e.task_id for e in tail[1:]} == {t.id for t in opinions.values()}
    assert all(e.actor == "admin" for e in tail[1:])


def test_event_log_records_every_command_in_order(engine, people, open_tasks):
    invest, head, admin = people["invest-clerk"], people["invest-head"], people["admin"]
    inst = engine.start(
        "sample_review", invest, business_key="ZS-9", title="日志", data={"area_mu": 120}
    )
    (register,) = open_tasks(engine, inst.id).values()
    engine.claim(register.id, invest)
    engine.complete(register.id, invest, {"project_name": "风电装备"})
    opinions = open_tasks(engine, inst.id)
    order = ["opinion_eco", "opinion_drc", "opinion_natres"]
    for element_id in order:
        engine.complete(
            opinions[element_id].id,
            people[f"{OPINIONS[element_id]}-clerk"],
            {"opinion": element_id},
        )
    consolidate = open_tasks(engine, inst.id)["consolidate_review"]
    engine.suspend(inst.id, admin)
    engine.resume(inst.id, admin)
    engine.complete(consolidate.id, invest, {"approved": True, "note": "通过"})
    sign = open_tasks(engine, inst.id)["sign_agreement"]
    engine.reassign(sign.id, head, "invest-head")
    engine.complete(sign.id, head, {"signed": True})

    events = engine.list_events(inst.id, admin)
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert all(e.instance_id == inst.id for e in events)
    got = [(e.kind, e.actor, e.task_id, e.data) for e in events]
    created = {
        t.element_id: t.id
        for t in engine.list_tasks(admin, scope="all", state="completed", instance_id=inst.id).items
    }

    def made(element_id, dept, assignee=None):
        return (
            "task_created",
            None,
            created[element_id],
            {"element_id": element_id, "department": dept, "assignee": assignee},
        )

    expected = [
        (
            "instance_started",
            "invest-clerk",
            None,
            {
                "process_key": "sample_review",
                "version": 1,
                "business_key": "ZS-9",
                "title": "日志",
                "data": {"area_mu": 120},
            },
        ),
        made("register_project", "invest"),
        ("task_claimed", "invest-clerk", register.id, {"assignee": "invest-clerk"}),
        ("task_completed", "invest-clerk", register.id, {"project_name": "风电装备"}),
        # the split creates three tasks in one command: their order is the engine's
        "SPLIT",
        *[("task_completed", f"{OPINIONS[e]}-clerk", created[e], {"opinion": e}) for e in order],
        made("consolidate_review", "invest"),
        ("instance_suspended", "admin", None, None),
        ("instance_running", "admin", None, None),
        ("task_completed", "invest-clerk", consolidate.id, {"approved": True, "note": "通过"}),
        made("sign_agreement", "invest"),
        ("task_reassigned", "invest-head", sign.id, {"assignee": "invest-head"}),
        ("task_completed", "invest-head", sign.id, {"signed": True}),
        ("instance_completed", None, None, None),
    ]
    split = expected.index("SPLIT")
    opinion_created = got[split : split + 3]
    assert sorted(opinion_created, key=lambda g: g[2]) == sorted(
        (made(e, d) for e, d in OPINIONS.items()), key=lambda g: g[2]
    )
    assert got[:split] + got[split + 3 :] == expected[:split] + expected[split + 1 :]


def test_instance_stage_and_phase_follow_the_open_task(engine):
    invest, drc = actor(engine, "invest-clerk"), actor(engine, "drc-clerk")
    inst = engine.start("sample_review", invest)
    assert (inst.stage, inst.phase) == ("线索登记", "引得来")
    engine.complete(inst.tasks[0].id, invest, {})
    now = engine.get_instance(inst.id, drc)
    assert (now.stage, now.phase) == ("项目研判", "引得来")
    page = engine.list_instances(actor(engine, "leader"))
    assert page.items[0].stage == "项目研判"


@pytest.mark.parametrize("limit", [0, 10_000], ids=["index scan", "row by row"])
def test_text_search_finds_the_same_cases_either_way(engine, people, open_tasks, monkeypatch,
                                                      limit):
    """``q`` reads a short list's cases one by one and scans the title index for a long one
    (``PER_ROW_SEARCH_LIMIT``): both ways give the same tasks and cases, in every list, the
    title and the business key searched, ASCII letters in either case (on PostgreSQL too),
    LIKE's wildcards taken as plain text."""
    from engine.queries import instances

    monkeypatch.setattr(instances, "PER_ROW_SEARCH_LIMIT", limit)
    clerk, drc = people["invest-clerk"], people["drc-clerk"]
    made = {}
    for key, title in (("ZS-7", "稀土新材料项目"), ("XT-100%", "光伏项目"),
                       ("ZS-8", "稀_土项目"), ("ZS-9", "风电项目")):
        inst = engine.start("sample_review", clerk, business_key=key, title=title)
        (register,) = open_tasks(engine, inst.id).values()
        engine.complete(register.id, clerk, {"project_name": title})
        made[key] = (inst, open_tasks(engine, inst.id)["opinion_drc"])
    engine.claim(made["ZS-7"][1].id, drc)
    engine.claim(made["XT-100%"][1].id, drc)
    engine.complete(made["ZS-9"][1].id, drc, {"opinion": "同意"})

    def keys(page):
        return sorted(t.business_key for t in page.items)

    assert keys(engine.list_tasks(drc, scope="department", q="稀土")) == ["ZS-7"]
    assert keys(engine.list_tasks(drc, scope="department", state="open", q="项目")) == [
        "XT-100%", "ZS-7", "ZS-8"]
    assert keys(engine.list_tasks(drc, scope="mine", q="100%")) == ["XT-100%"]
    assert keys(engine.list_tasks(drc, scope="mine", q="稀_")) == []
    assert keys(engine.list_tasks(drc, scope="done", q="风电")) == ["ZS-9"]
    assert engine.list_tasks(drc, scope="done", q="稀土").total == 0
    every = engine.list_tasks(people["supervisor"], scope="all", state="open", q="稀_土")
    assert keys(every) == ["ZS-8"] * 3 and every.total == 3  # its three opinions

    def cases(page):
        return sorted(i.business_key for i in page.items)

    assert cases(engine.list_instances(clerk, started_by="invest-clerk", q="zs-")) == [
        "ZS-7", "ZS-8", "ZS-9"]
    assert cases(engine.list_instances(drc, q="光伏")) == ["XT-100%"]
    assert engine.list_instances(people["supervisor"], q="稀土", count_only=True).total == 1
    assert cases(engine.list_instances(people["eco-clerk"], q="稀土")) == ["ZS-7"]
