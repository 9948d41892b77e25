"""The one restricted compiler for diagram code, its run-time guards and its limits.

Every script, condition and expression of a diagram (script tasks, pre/post scripts, gateway
conditions, timer, assignee, deadline and routing expressions, loop cardinalities, message
payloads, DMN cells, service-task parameters) is compiled here with RestrictedPython
(``compile_restricted``) and our own node transformer, and runs with the guards below:

- attribute access goes through ``guarded_getattr``: only plain data (str, numbers, lists,
  dicts, sets, ranges, exception ``args``) has attributes, and of those only an allowlist of
  methods; ``str.format``/``format_map`` and every name starting with an underscore are refused.
  Functions, generators, frames, modules and everything else have no attributes at all. There
  is no ``type``, ``vars``, ``getattr``, ``globals``, ``open``, ``compile``, ``eval``, ``exec``
  or ``__import__``; ``import``, ``class``, ``global``, ``nonlocal`` and ``yield`` are refused
  when the code is compiled (at deploy, and again at run time for older deploys);
- a time limit: the transformer puts a check (``_tick_()``) at the top of every ``while`` and
  ``for`` body, every function and lambda, and every comprehension step; ranges longer than
  ``LAZY_RANGE`` elements check it as they yield; the engine checks it before every engine
  step. The clock counts the time spent in diagram code and engine steps of one instance in one
  command (``Budget``), not database time;
- a memory limit: the operations that allocate a lot in one C call are estimated before they
  run (``*``, ``+``, ``%``, ``**``, ``<<`` and ``//`` on sequences and numbers, long ranges
  turned into lists, string padding, ``replace``, ``join``, ``split``, ``expandtabs``, format
  widths in f-strings, ``format()`` and ``%``, list growth by slice assignment or ``extend``), and
  the process's resident memory is compared with its size when the run began every 1024 checks
  and before any allocation estimated above 1 MB.

A refused operation, a run past the time limit or past the memory limit raises a
``ScriptViolation``. The violation is sticky: if diagram code catches it, the next check, and
the end of the evaluation, raise it again, so it always ends the run as an incident. The
approach is cooperative: see docs/scripting.md for what it does not cover.

The package, one concern per module (this module re-exports the names the engine and the tests
use):

- ``errors``: ``ScriptViolation`` and its kinds (refused, timeout, memory);
- ``limits``: ``ScriptLimits``, resident memory, ``Budget`` and the sticky refusals;
- ``policy``: the node transformer that refuses statements and compiles the checks in;
- ``compiler``: ``compile_code`` (cached) and ``check``, messages in Chinese;
- ``attributes``: ``guarded_getattr`` and its allowlists, growing string and list methods;
- ``operators``: the operator, formatting and number-builtin guards;
- ``iteration``: long ranges and ``*`` unpacking that check the limits as they are consumed;
- ``environment``: the safe builtins, ``RESTRICTED_NAMES``, ``guarded_write``, ``namespace``.
"""

from __future__ import annotations

from .attributes import guarded_getattr
from .compiler import check, compile_code
from .environment import RESTRICTED_NAMES, SAFE_BUILTINS, guarded_write, namespace
from .errors import ScriptMemoryExceeded, ScriptRejected, ScriptTimeout, ScriptViolation
from .iteration import guarded_range
from .limits import (
    DEFAULT_LIMITS,
    MAX_INT_BITS,
    Budget,
    ScriptLimits,
    current_budget,
    evaluation,
    resident_bytes,
    step,
)
from .operators import (
    format_value,
    guarded_add,
    guarded_divmod,
    guarded_floordiv,
    guarded_format,
    guarded_inplace,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    guarded_round,
    guarded_sum,
)

__all__ = [
    "DEFAULT_LIMITS", "MAX_INT_BITS", "RESTRICTED_NAMES", "SAFE_BUILTINS", "Budget",
    "ScriptLimits", "ScriptMemoryExceeded", "ScriptRejected", "ScriptTimeout", "ScriptViolation",
    "check", "compile_code", "current_budget", "evaluation", "format_value", "guarded_add",
    "guarded_divmod", "guarded_floordiv", "guarded_format", "guarded_getattr", "guarded_inplace",
    "guarded_lshift", "guarded_mod", "guarded_mul", "guarded_pow", "guarded_range",
    "guarded_round", "guarded_sum", "guarded_write", "namespace", "resident_bytes", "step",
]
