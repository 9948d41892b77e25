"""Diagram code cannot escape its sandbox (issue 9, item 2).

A corpus of known escapes from Python sandboxes, each run as a script task, and the ones that
fit in an expression also as a gateway condition, an assignee, deadline and department
expression and a timer: every one ends in an incident naming the element, and neither the
sentinel secrets (a module global of the engine where the format-string escape of the issue
found the signing key, and an environment variable) nor the environment's content show up in
the instance's data, state, task rows, events, incidents or the logs.

The diagrams are deployed without the deploy-time checks ("an older deploy"), so that the run
time must refuse on its own; ``test_deploy_refuses`` checks that deploy refuses what the
restricted compiler refuses, naming the element.
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

import engine.diagram_helpers
import engine.scripting
from engine import InvalidModel
from engine.model import event, incident, instance, task
from tests.conftest import _backends
from tests.engine.sandbox_support import (
    ELEMENT,
    deploy_unchecked,
    diagram,
    seeded_engine,
)

SECRET = "kf-signing-key-5c1e9f2a7d"  # stands for the session signing key
ENV_SECRET = "kf-env-secret-0b8e4d6c13"  # stands for a secret in os.environ
SECRETS = (SECRET, ENV_SECRET, "environ({")

# name -> (script, refused when deployed). Each stores what it reaches in ``leak``.
SCRIPTS = {
    # the escape: attribute paths inside a format string
    "format_globals": (
        'leak = "{0.__globals__[KUNFLOW_TEST_SECRET]}".format(business_key)', False),
    "format_environ": (
        'leak = "{0.__globals__[json].codecs.sys.modules[os].environ}".format(business_key)',
        False),
    "format_map": (
        'leak = "{f.__globals__[KUNFLOW_TEST_SECRET]}".format_map({"f": business_key})', False),
    "str_format_unbound": (
        'leak = str.format("{0.__globals__[KUNFLOW_TEST_SECRET]}", business_key)', False),
    "format_swallowed": (
        'try:\n'
        '    leak = "{0.__globals__[KUNFLOW_TEST_SECRET]}".format(business_key)\n'
        'except Exception:\n'
        '    pass\n'
        'after = "went on"', False),
    "format_in_helper_closure": (
        'leak = "{0.__globals__[KUNFLOW_TEST_SECRET]}".format(now)', False),
    # getattr / vars / type / __class__ chains
    "getattr": ('leak = getattr(business_key, "__glo" + "bals__")["KUNFLOW_TEST_SECRET"]', False),
    "vars": ('leak = vars(business_key)', False),
    "type_bases": ('leak = type(()).__bases__[0].__subclasses__()', True),
    "class_mro": ('leak = ().__class__.__mro__[1].__subclasses__()', True),
    "closure": ('leak = now.__closure__[0].cell_contents', True),
    # generators' frames
    "generator_frame": (
        'g = (g.gi_frame.f_back for _ in [1])\n'
        'f = next(g)\n'
        'while f is not None:\n'
        '    if "sys" in f.f_globals:\n'
        '        leak = f.f_globals["sys"].modules["engine.scripting"].KUNFLOW_TEST_SECRET\n'
        '        break\n'
        '    f = f.f_back', True),
    "generator_code": ('leak = (x for x in [1]).gi_code.co_consts', True),
    # f-strings
    "fstring": ('leak = f"{business_key.__globals__}"', True),
    "fstring_format_spec": ('leak = f"{business_key!r:{business_key.__name__}}"', True),
    # __builtins__ lookups
    "builtins_name": ('leak = __builtins__["__import__"]("os").environ', True),
    "builtins_attribute": ('leak = business_key.__builtins__', True),
    "import": ('import os\nleak = os.environ', True),
    "eval": ('leak = eval("business_key.__globals__")', True),
    # decorators
    "decorator": (
        'def grab(f):\n'
        '    return f.__globals__\n'
        '@grab\n'
        'def g():\n'
        '    pass\n'
        'leak = g["KUNFLOW_TEST_SECRET"]', True),
    # lambda defaults
    "lambda_default": (
        'f = lambda g=(x for x in [1]): g.gi_frame.f_globals\nleak = f()', True),
    # class definitions
    "class_definition": ('class Leak(Exception):\n    pass\nleak = Leak.__subclasses__()', True),
    # exception tracebacks
    "traceback": (
        'try:\n    1 / 0\nexcept Exception as e:\n    leak = e.__traceback__.tb_frame.f_globals',
        True),
    "traceback_frame": (
        'try:\n    1 / 0\nexcept Exception as e:\n    t = e.with_traceback(None)\n'
        '    leak = t.tb_frame', True),
    "global": ('global leak\nleak = 1', True),
}

# name -> (expression, refused when deployed)
EXPRESSIONS = {
    "format_globals": ('"{0.__globals__[KUNFLOW_TEST_SECRET]}".format(business_key)', False),
    "format_environ": (
        '"{0.__globals__[json].codecs.sys.modules[os].environ[KUNFLOW_TEST_SECRET]}"'
        '.format(business_key)', False),
    "generator_frame": (
        '[(g := (g.gi_frame.f_back.f_back.f_globals for _ in [1])), next(g)][1]', True),
    "fstring": ('f"{business_key.__globals__}"', True),
    "class_chain": ('().__class__.__base__.__subclasses__()', True),
    "lambda_default": ('(lambda g=(x for x in [1]): g.gi_frame.f_globals)()', True),
}
EXPRESSION_KINDS = ("condition", "assignee", "due", "department", "timer")


@pytest.fixture(autouse=True, scope="module")
def sentinels():
    """Secrets where the old sandbox let diagram code reach them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine.scripting, "KUNFLOW_TEST_SECRET", SECRET, raising=False)
        patch.setattr(engine.diagram_helpers, "KUNFLOW_TEST_SECRET", SECRET, raising=False)
        patch.setenv("KUNFLOW_TEST_SECRET", ENV_SECRET)
        yield


@pytest.fixture(scope="module", params=_backends())
def sandboxed(request, tmp_path_factory):
    with seeded_engine(request.param, tmp_path_factory.mktemp("sandbox")) as eng:
        yield eng


def _admin(eng):
    return eng.get_user("admin").actor()


def _dump(eng, iid: int) -> str:
    """Everything stored about the instance, as text."""
    parts = []
    with eng.db.connect() as conn:
        for table, column in ((instance, instance.c.id), (task, task.c.instance_id),
                              (event, event.c.instance_id), (incident, incident.c.instance_id)):
            for row in conn.execute(sa.select(table).where(column == iid)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def assert_nothing_leaked(eng, iid: int, caplog, *texts: str) -> None:
    admin = _admin(eng)
    seen = [_dump(eng, iid), caplog.text, repr(eng.get_instance(iid, admin, with_data=True)),
            repr(eng.list_events(iid, admin)), repr(eng.list_incidents(admin, open_only=False)),
            *texts]
    for text in seen:
        for secret in SECRETS:
            assert secret not in text


def assert_incident(eng, iid: int, element: str) -> dict:
    admin = _admin(eng)
    assert eng.get_instance(iid, admin).status == "incident"
    (found,) = eng.list_incidents(admin, instance_id=iid)
    assert found["element_id"] == element, found
    return found


def _run(eng, monkeypatch, caplog, key: str, bpmn: bytes, element: str) -> None:
    deploy_unchecked(eng, monkeypatch, f"{key}.bpmn", bpmn, _admin(eng))
    clerk = eng.get_user("drc-clerk").actor()
    with caplog.at_level(logging.DEBUG):
        inst = eng.start(key, clerk, business_key=f"KEY-{key}", title="沙箱测试")
    assert_incident(eng, inst.id, element)
    assert_nothing_leaked(eng, inst.id, caplog)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_escape_ends_in_an_incident(sandboxed, monkeypatch, caplog, name):
    key = f"esc_script_{name}"
    _run(sandboxed, monkeypatch, caplog, key, diagram("script", key, SCRIPTS[name][0]), "escape")


@pytest.mark.parametrize("kind", EXPRESSION_KINDS)
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_expression_escape_ends_in_an_incident(sandboxed, monkeypatch, caplog, kind, name):
    key = f"esc_{kind}_{name}"
    _run(sandboxed, monkeypatch, caplog, key, diagram(kind, key, EXPRESSIONS[name][0]),
         ELEMENT[kind])


def test_a_stopped_script_leaves_no_data(sandboxed, monkeypatch, caplog):
    """Names a script bound before it was stopped are not kept; a retry stops it again."""
    key = "esc_partial"
    code = 'before = "set"\nleak = "{0.__globals__[KUNFLOW_TEST_SECRET]}".format(business_key)'
    _run(sandboxed, monkeypatch, caplog, key, diagram("script", key, code), "escape")
    admin = _admin(sandboxed)
    (inst,) = sandboxed.list_instances(admin, process_key=key).items
    assert "before" not in sandboxed.get_instance(inst.id, admin, with_data=True).data
    assert sandboxed.retry_incident(inst.id, admin).status == "incident"
    assert_nothing_leaked(sandboxed, inst.id, caplog)


@pytest.mark.parametrize(
    ("kind", "name", "code"),
    [pytest.param("script", n, c, id=f"script-{n}")
     for n, (c, refused) in sorted(SCRIPTS.items()) if refused]
    + [pytest.param(k, n, c, id=f"{k}-{n}") for k in EXPRESSION_KINDS
       for n, (c, refused) in sorted(EXPRESSIONS.items()) if refused],
)
def test_deploy_refuses(sandboxed, kind, name, code):
    key = f"refused_{kind}_{name}"
    with pytest.raises(InvalidModel) as refused:
        sandboxed.deploy(f"{key}.bpmn", diagram(kind, key, code), actor=_admin(sandboxed))
    element = "to_a" if kind == "condition" else ELEMENT[kind]  # the flow that has it
    assert element in [e["element_id"] for e in refused.value.errors]
    assert element in refused.value.message
    assert "安全限制" in refused.value.message


def test_the_shipped_diagrams_still_deploy_and_plain_code_still_runs(sandboxed, monkeypatch):
    """What diagram code does every day goes through the guards unchanged."""
    code = (
        'rows = [{"unit": u, "n": i} for i, u in enumerate(["a", "b", "c"])]\n'
        'by_unit = dict((r["unit"], r) for r in rows)\n'
        'total = sum(r["n"] for r in rows) + len(by_unit)\n'
        'label = "%04d-%02d" % (2026, 3) + f"/{total:>3}" + "-".join(sorted(by_unit))\n'
        'def graded(r):\n'
        '    row = dict(r)\n'
        '    row["big"] = r["n"] * 10 ** 3 // 7 > 100\n'
        '    return row\n'
        'graded_rows = [graded(r) for r in rows]\n'
        'try:\n'
        '    missing_name\n'
        'except Exception:\n'
        '    fallback = "yes"\n'
        'names = " ".join(["x"] * 3).upper().split()\n'
        'key_seen = business_key()\n'
        'del rows\n'
    )
    key = "plain_code"
    eng = sandboxed
    eng.deploy(f"{key}.bpmn", diagram("script", key, code), actor=_admin(eng))
    inst = eng.start(key, eng.get_user("drc-clerk").actor(), business_key="PLAIN-1")
    data = eng.get_instance(inst.id, _admin(eng), with_data=True).data
    assert inst.status == "running", eng.list_incidents(_admin(eng), instance_id=inst.id)
    assert data["total"] == 6 and data["label"] == "2026-03/  6a-b-c"
    assert [r["big"] for r in data["graded_rows"]] == [False, True, True]
    assert data["fallback"] == "yes" and data["names"] == ["X", "X", "X"]
    assert data["key_seen"] == "PLAIN-1" and "rows" not in data and "graded" not in data

