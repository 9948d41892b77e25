"""Small diagrams around one piece of diagram code, for the sandbox and limits tests.

Every diagram sits in the lane of 区发改委 (``drc-clerk`` starts it); the element that runs the
code has a fixed id (``ELEMENT``) so that a test can check that the incident names it.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from xml.sax.saxutils import escape, quoteattr

import sqlalchemy as sa

from tests.conftest import BPMN, PG_URL, district_engine, seed_org

ELEMENT = {
    "script": "escape",
    "condition": "route",
    "assignee": "work",
    "due": "work",
    "department": "work",
    "timer": "wait",
}

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="{key}_definitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{key}" name="测试：{key}" isExecutable="true">
    <bpmn:laneSet id="{key}_lanes">
      <bpmn:lane id="lane_drc" name="区发改委">{refs}</bpmn:lane>
    </bpmn:laneSet>
"""
_TAIL = """  </bpmn:process>
</bpmn:definitions>
"""


def _diagram(key: str, nodes: list[tuple[str, str]], flows: list[tuple]) -> bytes:
    """``nodes``: (id, XML); ``flows``: (id, source, target[, condition XML])."""
    refs = "".join(f"<bpmn:flowNodeRef>{node_id}</bpmn:flowNodeRef>" for node_id, _ in nodes)
    body = [_HEAD.format(key=key, refs=refs)]
    body += [xml for _, xml in nodes]
    for flow in flows:
        fid, source, target = flow[:3]
        condition = flow[3] if len(flow) > 3 else ""
        body.append(f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"'
                    + (f">{condition}</bpmn:sequenceFlow>\n" if condition else " />\n"))
    body.append(_TAIL)
    return "".join(body).encode("utf-8")


def _task(node_id: str, props: dict | None = None, kind: str = "userTask") -> str:
    ext = ""
    if props:
        items = "".join(f"<spiffworkflow:property name={quoteattr(k)} value={quoteattr(v)} />"
                        for k, v in props.items())
        ext = (f"<bpmn:extensionElements><spiffworkflow:properties>{items}"
               "</spiffworkflow:properties></bpmn:extensionElements>")
    return f'    <bpmn:{kind} id="{node_id}" name="{node_id}">{ext}</bpmn:{kind}>\n'


def _events(*nodes) -> list[tuple[str, str]]:
    return [("start", '    <bpmn:startEvent id="start" />\n'), *nodes,
            ("finish", '    <bpmn:endEvent id="finish" />\n')]


def script_diagram(key: str, script: str, after: str = "after") -> bytes:
    """start -> script task ``escape`` -> user task ``after`` -> end."""
    nodes = _events(
        ("escape", f'    <bpmn:scriptTask id="escape" name="脚本"><bpmn:script>{escape(script)}'
                   "</bpmn:script></bpmn:scriptTask>\n"),
        (after, _task(after)),
    )
    return _diagram(key, nodes, [("f1", "start", "escape"), ("f2", "escape", after),
                                 ("f3", after, "finish")])


def task_then_script_diagram(key: str, script: str) -> bytes:
    """start -> user task ``fill`` -> script task ``escape`` -> end."""
    nodes = _events(
        ("fill", _task("fill")),
        ("escape", f'    <bpmn:scriptTask id="escape" name="脚本"><bpmn:script>{escape(script)}'
                   "</bpmn:script></bpmn:scriptTask>\n"),
    )
    return _diagram(key, nodes, [("f1", "start", "fill"), ("f2", "fill", "escape"),
                                 ("f3", "escape", "finish")])


def condition_diagram(key: str, expression: str) -> bytes:
    """start -> gateway ``route``: ``expression`` to user task ``a``, otherwise ``b``."""
    nodes = _events(
        ("route", '    <bpmn:exclusiveGateway id="route" default="to_b" />\n'),
        ("a", _task("a")), ("b", _task("b")),
    )
    condition = ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" '
                 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                 f"{escape(expression)}</bpmn:conditionExpression>")
    flows = [("f1", "start", "route"), ("to_a", "route", "a", condition), ("to_b", "route", "b"),
             ("f4", "a", "finish"), ("f5", "b", "finish")]
    return _diagram(key, nodes, flows)


_PROPERTY = {"assignee": "assignee", "due": "due_expression",
             "department": "department_expression"}


def property_diagram(key: str, kind: str, expression: str) -> bytes:
    """start -> user task ``work`` whose ``assignee``/``due_expression``/
    ``department_expression`` is ``expression`` -> end."""
    nodes = _events(("work", _task("work", {_PROPERTY[kind]: expression})))
    return _diagram(key, nodes, [("f1", "start", "work"), ("f2", "work", "finish")])


def timer_diagram(key: str, expression: str) -> bytes:
    """start -> timer catch event ``wait`` (timeDate ``expression``) -> user task -> end."""
    timer = ('    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
             f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression" '
             f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{escape(expression)}'
             "</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n")
    nodes = _events(("wait", timer), ("after", _task("after")))
    return _diagram(key, nodes, [("f1", "start", "wait"), ("f2", "wait", "after"),
                                 ("f3", "after", "finish")])


def timer_script_diagram(key: str, script: str) -> bytes:
    """start -> timer ``wait`` (one hour) -> script ``escape`` -> user task ``after`` -> end."""
    timer = ('    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
             '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"PT1H"'
             "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n")
    nodes = _events(
        ("wait", timer),
        ("escape", f'    <bpmn:scriptTask id="escape" name="脚本"><bpmn:script>{escape(script)}'
                   "</bpmn:script></bpmn:scriptTask>\n"),
        ("after", _task("after")),
    )
    return _diagram(key, nodes, [("f1", "start", "wait"), ("f2", "wait", "escape"),
                                 ("f3", "escape", "after"), ("f4", "after", "finish")])


def loop_diagram(key: str) -> bytes:
    """start -> script ``count`` -> gateway ``again`` -> back to ``count`` (always): an
    automatic run that never reaches a wait state."""
    nodes = _events(
        ("count", '    <bpmn:scriptTask id="count" name="计数"><bpmn:script>n = 1'
                  "</bpmn:script></bpmn:scriptTask>\n"),
        ("again", '    <bpmn:exclusiveGateway id="again" default="out" />\n'),
    )
    condition = ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" '
                 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">n &gt; 0'
                 "</bpmn:conditionExpression>")
    flows = [("f1", "start", "count"), ("f2", "count", "again"),
             ("back", "again", "count", condition), ("out", "again", "finish")]
    return _diagram(key, nodes, flows)


def diagram(kind: str, key: str, code: str) -> bytes:
    if kind == "script":
        return script_diagram(key, code)
    if kind == "condition":
        return condition_diagram(key, code)
    if kind == "timer":
        return timer_diagram(key, code)
    return property_diagram(key, kind, code)


def deploy_unchecked(engine, monkeypatch, filename: str, bpmn: bytes, admin) -> None:
    """Deploy without the deploy-time code checks: a diagram deployed by an older version,
    whose code the run time must refuse on its own."""
    with monkeypatch.context() as patch:
        patch.setattr("engine.definitions._compile_check", lambda *args, **kwargs: [])
        engine.deploy(filename, bpmn, actor=admin)



@contextmanager
def seeded_engine(backend: str, tmp_dir, **options):
    """A migrated, org-seeded engine with the samples deployed, on a fresh SQLite file or a
    fresh PostgreSQL schema (for module-scoped fixtures: many tests, one database)."""
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / 'kunflow.db'}"
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin_db = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin_db.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    eng = district_engine(url, **options)
    try:
        eng.migrate()
        seed_org(eng)
        admin = eng.get_user("admin").actor()
        eng.deploy("sample_review.bpmn", (BPMN / "sample_review.bpmn").read_bytes(), actor=admin)
        yield eng
    finally:
        eng.db.dispose()
        if schema is not None:
            with admin_db.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin_db.dispose()
