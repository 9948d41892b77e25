"""The guards of engine/sandbox.py keep Python's meaning for ordinary code (no database).

The escape corpus and the limits run through the engine in test_script_sandbox.py and
test_script_limits.py; here: what diagram code computes is what Python computes.
"""

from __future__ import annotations

import pytest

from engine import sandbox
from engine.sandbox import Budget, ScriptLimits, ScriptMemoryExceeded, ScriptRejected

LIMITS = ScriptLimits(5, 256)


def run(source: str, data: dict | None = None, limits=LIMITS) -> dict:
    budget = Budget(limits)
    ns = sandbox.namespace({}, None, dict(data or {}), budget)
    with budget.running():
        exec(sandbox.compile_code(source, "exec"), ns)
    budget.check()
    return {k: v for k, v in ns.items() if k not in sandbox.RESTRICTED_NAMES}


def evaluate(expression: str, data: dict | None = None):
    budget = Budget()
    with budget.running():
        return eval(sandbox.compile_code(expression, "eval"),
                    sandbox.namespace({}, None, dict(data or {}), budget))


@pytest.mark.parametrize(("expression", "expected"), [
    ("'%04d-%02d-%02d' % (2026, 3, 1)", "2026-03-01"),
    ("'%(a)s/%(b)s' % {'a': 1, 'b': 2}", "1/2"),
    ("f'{x:>6.2f}|{x!r}|{s:*^7}'", "  3.14|3.14159|**abc**"),
    ("format(1234.5, ',.1f')", "1,234.5"),
    ("[1, 2] + [3] + list((4,))", [1, 2, 3, 4]),
    ("'ab' * 3 + 'c'", "abababc"),
    ("3 * [0]", [0, 0, 0]),
    ("2 ** 10 + 2 ** -1 + (-2) ** 3 + pow(3, 4, 5) + pow(2, 3)", 1024 + 0.5 - 8 + 1 + 8),
    ("7 // 2 + 7 % 3 + (1 << 4) + (-7) // 2", 3 + 1 + 16 - 4),
    ("10 ** 50 // 10 ** 48", 100),
    ("round(2.675, 2) == round(2.675, 2) and round(1234, -2)", 1200),
    ("sum([1, 2, 3]) + sum([[1], [2]], [])[1] + sum((x for x in [1.5]), 0.5)", 6 + 2 + 2.0),
    ("list(range(3)) + list(range(10**6))[-1:]", [0, 1, 2, 999_999]),
    ("len(range(10**6, 0, -1)) + (5 in range(10**6)) + range(10**6)[-1]", 10**6 + 1 + 999_999),
    ("sorted(['b', 'A', 'c'], key=str.lower)", ["A", "b", "c"]),
    ("'-'.join(str(i) for i in range(3)) + ''.join(['x', 'y'])", "0-1-2xy"),
    ("'a,b,,c'.split(',') + 'l1\\nl2'.splitlines()", ["a", "b", "", "c", "l1", "l2"]),
    ("'abc'.replace('b', 'xyz').center(9, '.').upper()", "..AXYZC.."),
    ("{'a': 1}.get('b', 2) + dict.fromkeys(['k'], 3)['k']", 5),
    ("[*[1, 2], *(3,), *range(2)]", [1, 2, 3, 0, 1]),
    ("(lambda a, b=2: a * b)(4)", 8),
    ("[y for x in [[1, 2], [3]] for y in x if y > 1]", [2, 3]),
    ("{k: v for k, v in [('a', 1)]}", {"a": 1}),
    ("(n := 5) + n", 10),
    ("max([3, 1, 2], key=lambda v: -v)", 1),
    ("isinstance(1, int) and not isinstance('x', list)", True),
    ("(3).bit_length() + (2.5).is_integer() + len({1, 2} | {3})", 2 + 0 + 3),
])
def test_expressions_mean_what_python_means(expression, expected):
    assert evaluate(expression, {"x": 3.14159, "s": "abc"}) == expected


def test_statements_mean_what_python_means():
    out = run(
        "items = [1, 2]\n"
        "alias = items\n"
        "items += [3]\n"  # in place: the alias sees it
        "items *= 2\n"
        "n = 1\n"
        "n += 2\n"
        "n **= 2\n"
        "n //= 2\n"
        "n %= 3\n"
        "n <<= 3\n"
        "text = 'a'\n"
        "text += 'b'\n"
        "text *= 2\n"
        "row = {'k': 1}\n"
        "row['k'] = 2\n"
        "del row['k']\n"
        "grid = [0, 0, 0]\n"
        "grid[0:1] = [9, 9]\n"
        "grid[-1] = 7\n"
        "a, (b, c) = 1, [2, 3]\n"
        "first, *rest = [1, 2, 3]\n"
        "total = 0\n"
        "for i, v in enumerate(['x', 'y']):\n"
        "    total = total + i\n"
        "while total < 10:\n"
        "    total = total + 3\n"
        "def fact(k):\n"
        "    return 1 if k < 2 else k * fact(k - 1)\n"
        "f10 = fact(10)\n"
        "try:\n"
        "    {}['missing']\n"
        "except KeyError as err:\n"
        "    caught = err.args[0]\n"
        "seen = []\n"
        "seen.extend(x * 2 for x in range(3))\n"
        "s = set()\n"
        "s.add(1)\n"
        "s |= {2}\n"
    )
    assert out["alias"] == [1, 2, 3, 1, 2, 3] and out["items"] is out["alias"]
    assert out["n"] == 8 and out["text"] == "abab"
    assert out["row"] == {} and out["grid"] == [9, 9, 0, 7]
    assert (out["a"], out["b"], out["c"], out["first"], out["rest"]) == (1, 2, 3, 1, [2, 3])
    assert out["total"] == 10 and out["f10"] == 3628800 and out["caught"] == "missing"
    assert out["seen"] == [0, 2, 4] and out["s"] == {1, 2}


@pytest.mark.parametrize("source", [
    "x = 'abc'.format()",
    "x = str.format('{}', 1)",
    "x = 'abc'.translate({})",
    "x = (1).to_bytes(2, 'big')",
    "x = [].__class__",
    "x = len.__self__",
    "x = (i for i in []).gi_running",
    "x = {}.keys().mapping",
    "try:\n    1 / 0\nexcept Exception as e:\n    x = e.with_traceback",
    "x = ''\nx.y = 1",
    "x = ()\nx[0] = 1",
    "import math",
    "class A:\n    pass",
    "def g():\n    yield 1",
])
def test_refused(source):
    with pytest.raises(ScriptRejected):
        run(source)


@pytest.mark.parametrize("source", [
    "x = 'x' * 10**10",
    "x = 'x' * 10000000000",
    "x = 2 ** 10000000000",
    "x = [0] * 10000000000",
    "x = [0] * 10**10",
    "x = 10 ** 10**6",
    "x = 1 << 10**6",
    "x = 'a'.zfill(10**10)",
    "x = 'ab'.replace('a', 'x' * 10**5) * 1 + ('a' * 10**5).replace('a', 'x' * 10**4)",
    "x = ('x' * 10**4).join(['a'] * 10**5)",
    "x = '\\t'.expandtabs(10**10)",
    "x = f'{1:{10**10}}'",
    "x = format(1, '>10000000000')",
    "x = '%.*f' % (10**10, 1.0)",
    "x = tuple(range(10**10))",
    "x = [0]\nx[1:] = range(10**10)",
])
def test_too_big(source):
    with pytest.raises(ScriptMemoryExceeded):
        run(source, limits=ScriptLimits(5, 64))


def test_caught_violation_is_raised_again():
    budget = Budget()
    ns = sandbox.namespace({}, None, {}, budget)
    code = sandbox.compile_code(
        "try:\n    x = 'a'.format()\nexcept Exception:\n    x = 'caught'\ny = 1", "exec")
    with pytest.raises(ScriptRejected), budget.running():
        exec(code, ns)
        budget.check()
    assert ns["y"] == 1  # straight-line code ran on; the violation still ends the run
