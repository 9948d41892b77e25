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
  ``_LAZY_RANGE`` elements check it as they yield; the engine checks it before every engine
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
"""

from __future__ import annotations

import ast
import operator
import os
import re
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

# ---------------------------------------------------------------------------- errors, limits


class ScriptViolation(Exception):  # noqa: N818 - the family name reads better without "Error"
    """Diagram code was stopped: refused, out of time or out of memory."""

    reason = "脚本安全限制"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail
        self.task = None  # the SpiffWorkflow task whose code was running, when known

    def incident_message(self, element_id: str | None) -> str:
        where = f"元素 {element_id} " if element_id else ""
        return f"{self.reason}：{where}{self.detail}"


class ScriptRejected(ScriptViolation):
    """Code that uses what the restricted environment does not allow."""

    reason = "脚本安全限制"


class ScriptTimeout(ScriptViolation):
    reason = "脚本超时"


class ScriptMemoryExceeded(ScriptViolation):
    reason = "脚本内存超限"


@dataclass(frozen=True)
class ScriptLimits:
    """Limits of diagram code (``SCRIPT_TIME_LIMIT`` seconds, ``SCRIPT_MEMORY_MB``)."""

    seconds: float = 2.0
    memory_mb: int = 256

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_mb) * 1024 * 1024


DEFAULT_LIMITS = ScriptLimits()

# Integers beyond this many bits are refused as operands/results of *, **, <<, //, % and pow:
# CPython multiplies and divides such numbers in super-linear time, inside one C call.
MAX_INT_BITS = 1 << 17
_BIG_ALLOCATION = 1 << 20  # estimated allocations above this compare the resident memory
_MEMORY_EVERY = 1024  # checks between two looks at the resident memory
_LAZY_RANGE = 100_000  # longer ranges check the limits as they are iterated
_MAX_ROUND_DIGITS = 10_000

# ---------------------------------------------------------------------------- resident memory

_statm: list = [None, -1]  # [pid, fd]: one descriptor per process, read with pread
_statm_lock = threading.Lock()


def resident_bytes() -> int:
    """The process's resident memory in bytes (/proc/self/statm; else the peak from getrusage)."""
    pid, fd = _statm
    if pid != os.getpid():
        with _statm_lock:
            if _statm[0] != os.getpid():
                if _statm[1] >= 0:  # the parent's, inherited by a fork
                    try:
                        os.close(_statm[1])
                    except OSError:
                        pass
                try:
                    new_fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    new_fd = -1
                _statm[:] = [os.getpid(), new_fd]  # a forked child reads its own file
            pid, fd = _statm
    if fd >= 0:
        try:
            return int(os.pread(fd, 128, 0).split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


try:
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
    _PAGE = 4096

# ---------------------------------------------------------------------------- the budget

_BUDGET: ContextVar[Budget | None] = ContextVar("kunflow_script_budget", default=None)


class Budget:
    """Time and memory of diagram code for one instance in one command.

    ``running()`` marks the stretches that count (diagram code and engine steps); time spent
    elsewhere (database work between them) does not. The first violation is kept and raised
    again by every later check.
    """

    __slots__ = ("limits", "used", "depth", "start", "deadline", "ticks", "rss_base",
                 "violation")

    def __init__(self, limits: ScriptLimits = DEFAULT_LIMITS):
        self.limits = limits
        self.used = 0.0
        self.depth = 0
        self.start = 0.0
        self.deadline = float("inf")
        self.ticks = 0
        self.rss_base = 0
        self.violation: ScriptViolation | None = None

    @contextmanager
    def running(self):
        token = _BUDGET.set(self)
        self.depth += 1
        if self.depth == 1:
            self.start = time.monotonic()
            self.deadline = self.start + (self.limits.seconds - self.used)
            if self.violation is not None:
                self.deadline = float("-inf")
            self.rss_base = resident_bytes()
        try:
            yield self
        finally:
            self.depth -= 1
            if self.depth == 0:
                self.used += time.monotonic() - self.start
                self.deadline = float("inf")
            _BUDGET.reset(token)

    def tick(self) -> bool:
        """The check compiled into loops, functions and comprehensions."""
        if time.monotonic() > self.deadline:
            self._out_of_time()
        self.ticks += 1
        if not self.ticks % _MEMORY_EVERY:
            self.check_memory(0)
        return True

    def step(self, task=None) -> None:
        """Before each engine step: the same clock bounds a run that loops without diagram
        code doing much (a gateway that leads back to a script task forever)."""
        if time.monotonic() > self.deadline:
            self._out_of_time(task)
        self.ticks += 1
        if not self.ticks % 64:
            self.check_memory(0, task)

    def check(self) -> None:
        """Raise the violation diagram code (or a library) may have swallowed."""
        if self.violation is not None:
            raise self.violation

    def check_memory(self, extra: int, task=None) -> None:
        limit = self.limits.memory_bytes
        if extra > limit:
            self.fail(ScriptMemoryExceeded(_memory_text(limit)), task)
        if self.depth and resident_bytes() + extra - self.rss_base > limit:
            self.fail(ScriptMemoryExceeded(_memory_text(limit)), task)

    def fail(self, violation: ScriptViolation, task=None):
        if self.violation is None:
            if task is not None and violation.task is None:
                violation.task = task
            self.violation = violation
            self.deadline = float("-inf")  # every later check raises it again
        raise self.violation

    def _out_of_time(self, task=None):
        if self.violation is not None:
            raise self.violation
        seconds = f"{self.limits.seconds:g}"
        self.fail(ScriptTimeout(f"运行超过 {seconds} 秒的时间限制，已停止"), task)


def _memory_text(limit: int) -> str:
    return f"占用内存超过 {limit // (1024 * 1024)} MB 的限制，已停止"


def current_budget() -> Budget | None:
    return _BUDGET.get()


def step(task=None) -> None:
    """``will_complete_task`` hook for ``do_engine_steps``: the budget in force checks its
    clock before each engine step."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.step(task)


@contextmanager
def evaluation(limits: ScriptLimits = DEFAULT_LIMITS):
    """The budget in force (the command's), or a new one for a lone evaluation."""
    budget = _BUDGET.get()
    if budget is None:
        budget = Budget(limits)
    with budget.running():
        budget.tick()
        yield budget
    budget.check()


def _alloc(nbytes: int) -> None:
    """Refuse an allocation estimated at ``nbytes`` beyond the memory limit."""
    if nbytes <= _BIG_ALLOCATION:
        return
    budget = _BUDGET.get()
    if budget is None:
        if nbytes > DEFAULT_LIMITS.memory_bytes:
            raise ScriptMemoryExceeded(_memory_text(DEFAULT_LIMITS.memory_bytes))
        return
    budget.check_memory(nbytes)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _reject(detail: str):
    budget = _BUDGET.get()
    violation = ScriptRejected(detail)
    if budget is not None:
        budget.fail(violation)
    raise violation


def _too_big_number():
    violation = ScriptMemoryExceeded(f"数值超过 {MAX_INT_BITS} 位，已停止")
    budget = _BUDGET.get()
    if budget is not None:
        budget.fail(violation)
    raise violation


# ---------------------------------------------------------------------------- the compiler


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, stricter, with the limit checks compiled in."""

    def _call(self, name: str, args: list, node) -> ast.Call:
        call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
        copy_locations(call, node)
        return call

    def _tick_stmt(self, node) -> ast.Expr:
        stmt = ast.Expr(self._call("_tick_", [], node))
        copy_locations(stmt, node)
        return stmt

    # refused outright ---------------------------------------------------------------
    def visit_Import(self, node):
        self.error(node, "脚本中不允许 import")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.error(node, "脚本中不允许定义类（class）")

    def visit_Global(self, node):
        self.error(node, "脚本中不允许 global / nonlocal")

    visit_Nonlocal = visit_Global

    def visit_Yield(self, node):
        self.error(node, "脚本中不允许 yield（生成器函数）")

    visit_YieldFrom = visit_Yield

    # time: a check in every loop, function and comprehension --------------------------
    def visit_While(self, node):
        node = super().visit_While(node)
        node.body.insert(0, self._tick_stmt(node))
        return node

    def visit_For(self, node):
        node = super().visit_For(node)
        node.body.insert(0, self._tick_stmt(node))
        return node

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        node.body.insert(0, self._tick_stmt(node))
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        body = ast.BoolOp(op=ast.And(), values=[self._call("_tick_", [], node), node.body])
        copy_locations(body, node)
        node.body = body
        return node

    def visit_comprehension(self, node):
        node = super().visit_comprehension(node)
        node.ifs.insert(0, self._call("_tick_", [], node.iter))
        return node

    # memory: operations that allocate in one C call ------------------------------------
    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        name = _GUARDED_OPS.get(type(node.op))
        if name is None:
            return node
        # Constants too: the compiler folds only small results ('x' * 10000000000 is left to
        # run time).
        return self._call(name, [node.left, node.right], node)

    def visit_FormattedValue(self, node):
        node = super().visit_FormattedValue(node)
        if node.format_spec is None:
            return node
        value = self._call("_format_value_",
                           [node.value, ast.Constant(node.conversion), node.format_spec], node)
        new = ast.FormattedValue(value=value, conversion=-1, format_spec=None)
        copy_locations(new, node)
        return new

    def visit_Starred(self, node):
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            node.value = self._call("_star_", [node.value], node)
        return node


_GUARDED_OPS = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Mod: "_mod_",
    ast.FloorDiv: "_floordiv_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
}

_CACHE: dict[tuple[str, str], object] = {}
_CACHE_SIZE = 4096
_FILENAME = "<string>"  # SpiffWorkflow reads script line numbers from frames of this name


def compile_code(source: str, mode: str = "exec"):
    """Compiled restricted code for ``source`` (``exec`` or ``eval``), cached by (mode, source).

    Raises SyntaxError for invalid Python and ScriptRejected for code the policy refuses.
    """
    key = (mode, source)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _compile(source, mode)
        if len(_CACHE) >= _CACHE_SIZE:
            try:
                _CACHE.pop(next(iter(_CACHE)))
            except (StopIteration, KeyError, RuntimeError):
                pass
        _CACHE[key] = cached
    if isinstance(cached, BaseException):
        error = type(cached)(*cached.args)
        budget = _BUDGET.get()
        if budget is not None and isinstance(error, ScriptRejected):
            budget.fail(error)  # sticky, like a refusal at run time
        raise error
    return cached


def _compile(source: str, mode: str):
    try:
        ast.parse(source, _FILENAME, mode)
    except SyntaxError as exc:
        return SyntaxError(*exc.args)
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(source, _FILENAME, policy=_Policy)
    if result.errors or result.code is None:
        return ScriptRejected("；".join(_readable(e) for e in result.errors) or "代码被拒绝")
    return result.code


_LINE = re.compile(r"^Line (\d+): ")
_MESSAGES = (  # RestrictedPython's messages, in the language of the incidents
    (re.compile(r'^"(.+)" is an invalid attribute name because it starts with "_"\.?$'),
     "不允许访问以下划线开头的属性：{0}"),
    (re.compile(r'^"(.+)" is an invalid variable name because it starts with "_"\.?$'),
     "不允许使用以下划线开头的名称：{0}"),
    (re.compile(r'^"(.+)" is a restricted name, that is forbidden to access in RestrictedPython\.$'),
     "不允许访问 {0}（帧、代码或回溯对象的属性）"),
    (re.compile(r"^(Exec|Eval) calls are not allowed\.$"), "不允许调用 exec / eval"),
    (re.compile(r'^"(.+)" is a reserved name\.$'), "不允许使用保留名称：{0}"),
    (re.compile(r"^(\w+) statements are not allowed\.$"), "不允许使用 {0} 语句"),
    (re.compile(r"^Augmented assignment of .+ is not allowed\.$"),
     "不允许对属性、元素或切片使用增量赋值（请写成 x[k] = x[k] + 1）"),
)


def _readable(error: str) -> str:
    """RestrictedPython's "Line 3: ..." as "第 3 行：...", in Chinese where we know it."""
    match = _LINE.match(error)
    text = error[match.end():] if match else error
    for pattern, message in _MESSAGES:
        found = pattern.match(text)
        if found:
            text = message.format(*found.groups())
            break
    return f"第 {match.group(1)} 行：{text}" if match else text


def check(source: str, mode: str = "exec") -> None:
    """Compile ``source`` as diagram code; raises SyntaxError or ScriptRejected."""
    compile_code(source, mode)


# ---------------------------------------------------------------------------- attribute policy

_STR_METHODS = frozenset(
    "capitalize casefold count endswith find index isalnum isalpha isascii isdecimal isdigit "
    "isidentifier islower isnumeric isprintable isspace istitle isupper lower lstrip partition "
    "removeprefix removesuffix rfind rindex rpartition rstrip startswith strip swapcase title "
    "upper encode".split())
_BYTES_METHODS = (_STR_METHODS - {"casefold", "encode", "isdecimal", "isidentifier",
                                  "isnumeric", "isprintable"}) | {"decode", "hex"}
_GROWING_STR_METHODS = frozenset(
    "center ljust rjust zfill expandtabs replace join split rsplit splitlines".split())
_NUMBER_ATTRS = frozenset("real imag conjugate bit_length bit_count as_integer_ratio "
                          "is_integer numerator denominator".split())
_LIST_METHODS = frozenset("append clear copy count index insert pop remove reverse sort".split())
_DICT_METHODS = frozenset("clear copy get items keys pop popitem setdefault update values"
                          .split())
_SET_METHODS = frozenset(
    "add clear copy difference difference_update discard intersection intersection_update "
    "isdisjoint issubset issuperset pop remove symmetric_difference "
    "symmetric_difference_update union update".split())
_FROZENSET_METHODS = frozenset(
    "copy difference intersection isdisjoint issubset issuperset symmetric_difference union"
    .split())

_ALLOWED = {
    str: _STR_METHODS,
    bytes: _BYTES_METHODS,
    int: _NUMBER_ATTRS,
    bool: _NUMBER_ATTRS,
    float: _NUMBER_ATTRS | {"hex"},
    complex: _NUMBER_ATTRS,
    list: _LIST_METHODS,
    tuple: frozenset({"count", "index"}),
    dict: _DICT_METHODS,
    set: _SET_METHODS,
    frozenset: _FROZENSET_METHODS,
    range: frozenset({"start", "stop", "step", "count", "index"}),
}
# On the types themselves: their plain methods (``sorted(names, key=str.lower)``) and a few
# constructors.
_TYPE_EXTRA = {dict: frozenset({"fromkeys"}), str: frozenset({"maketrans"})}


def guarded_getattr(obj, name, *default):
    """``obj.name`` for diagram code (``_getattr_``)."""
    if type(name) is not str:
        raise TypeError("属性名必须是字符串")
    if name.startswith("_"):
        _reject(f"不允许访问以下划线开头的属性：{name}")
    kind = type(obj)
    allowed = _ALLOWED.get(kind)
    if allowed is not None and name in allowed:
        return getattr(obj, name, *default)
    if kind is list and name == "extend":
        return _list_extend(obj)
    if (kind is str or kind is bytes) and name in _GROWING_STR_METHODS:
        return _growing_str_method(obj, name)
    if kind is _LongRange and name in _RANGE_ATTRS:
        return getattr(obj, name)
    if name == "args" and isinstance(obj, BaseException):
        return obj.args
    if isinstance(obj, type) and obj in _ALLOWED and (
            name in _ALLOWED[obj] or name in _TYPE_EXTRA.get(obj, ())):
        return getattr(obj, name, *default)
    if name in ("format", "format_map") and (kind is str or obj is str):
        _reject(f"不允许使用 str.{name}（格式化字段可以读取对象的属性）")
    if not hasattr(obj, name):
        return getattr(obj, name, *default)  # AttributeError, as Python would say
    what = obj.__name__ if isinstance(obj, type) else f"{kind.__name__} 对象"
    _reject(f"不允许访问 {what}的属性 {name}")


_RANGE_ATTRS = frozenset({"start", "stop", "step", "count", "index"})


def _char_size(value) -> int:
    return 1 if isinstance(value, bytes) or (isinstance(value, str) and value.isascii()) else 4


def _growing_str_method(obj, name: str):
    method = getattr(obj, name)
    size = _char_size(obj)

    if name in ("center", "ljust", "rjust", "zfill"):
        def padded(width, *fill):
            if isinstance(width, int):
                _alloc(width * size)
            return method(width, *fill)
        return padded

    if name == "expandtabs":
        def expanded(tabsize=8):
            if isinstance(tabsize, int) and tabsize > 0:
                _alloc((len(obj) + obj.count(_tab(obj)) * tabsize) * size)
            return method(tabsize)
        return expanded

    if name == "replace":
        def replaced(old, new, count=-1):
            if isinstance(old, type(obj)) and isinstance(new, type(obj)) and len(new) > len(old):
                hits = obj.count(old) if old else len(obj) + 1
                if count is not None and count >= 0:
                    hits = min(hits, count)
                _alloc((len(obj) + hits * (len(new) - len(old))) * 4)
            return method(old, new, count)
        return replaced

    if name == "join":
        def joined(iterable):
            items = iterable if isinstance(iterable, list | tuple) else list(_star(iterable))
            total = len(obj) * max(len(items) - 1, 0)
            for item in items:
                if isinstance(item, str | bytes):
                    total += len(item)
            _alloc(total * 4)
            return method(items)
        return joined

    # split, rsplit, splitlines: a list of new strings
    def split(*args, **kwargs):
        sep = args[0] if args else kwargs.get("sep")
        if name == "splitlines":
            pieces = obj.count(_newline(obj)) + 1
        elif sep:
            pieces = obj.count(sep) + 1 if isinstance(sep, type(obj)) else 1
        else:
            pieces = len(obj) // 2 + 1
        _alloc(pieces * 64)
        return method(*args, **kwargs)
    return split


def _tab(obj):
    return b"\t" if isinstance(obj, bytes) else "\t"


def _newline(obj):
    return b"\n" if isinstance(obj, bytes) else "\n"


def _list_extend(lst: list):
    def extend(iterable):
        if isinstance(iterable, list | tuple | str | dict | set | frozenset):
            _alloc((len(lst) + len(iterable)) * 8)
            return lst.extend(iterable)
        return lst.extend(_star(iterable))
    return extend


# ---------------------------------------------------------------------------- operators

_SIZED = (str, bytes, list, tuple)
_CONTAINERS = (str, bytes, list, tuple, dict, set, frozenset)


def _itemsize(seq) -> int:
    return 8 if isinstance(seq, list | tuple) else _char_size(seq)


def _check_ints(*values) -> None:
    for v in values:
        if type(v) is int and v.bit_length() > MAX_INT_BITS:
            _too_big_number()


def guarded_add(a, b):
    ta = type(a)
    if ta is int or ta is float:
        return a + b
    if ta in _SIZED and type(b) is ta:
        n = len(a) + len(b)
        if n > _LAZY_RANGE:
            _alloc(n * _itemsize(a))
    return a + b


def guarded_mul(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            _too_big_number()
        return a * b
    if ta is float or tb is float:
        return a * b
    if tb is int or tb is bool:
        seq, n = a, b
    elif ta is int or ta is bool:
        seq, n = b, a
    else:
        return a * b
    if isinstance(seq, _SIZED) and n > 1:
        _alloc(len(seq) * n * _itemsize(seq))
    return a * b


def guarded_pow(a, b, mod=None):
    if mod is not None:
        _check_ints(a, b, mod)
        return pow(a, b, mod)
    if type(a) in (int, bool) and type(b) in (int, bool) and b > 0 and a not in (0, 1, -1):
        if b > MAX_INT_BITS or abs(a).bit_length() * b > MAX_INT_BITS:
            _too_big_number()
    elif type(a) is int or type(b) is int:
        _check_ints(a, b)
    return a ** b


def guarded_lshift(a, b):
    if type(a) in (int, bool) and type(b) in (int, bool) and a and b > 0:
        if b > MAX_INT_BITS or a.bit_length() + b > MAX_INT_BITS:
            _too_big_number()
    return a << b


def guarded_floordiv(a, b):
    _check_ints(a, b)
    return a // b


_SPEC_NUMBERS = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(rb"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def guarded_mod(a, b):
    ta = type(a)
    if ta is int or ta is float:
        _check_ints(a, b)
        return a % b
    if ta is str or ta is bytes:
        _check_percent(a, b)
    return a % b


def _check_percent(fmt, args) -> None:
    """%-formatting: widths and precisions (written or given by ``*``), and the arguments
    repeated by many conversions."""
    raw = fmt.encode("utf-8", "replace") if isinstance(fmt, str) else fmt
    if b"%" not in raw:
        return
    values = args if isinstance(args, tuple) else (args,)
    biggest = 0
    stars = False
    conversions = 0
    for match in _PERCENT_SPEC.finditer(raw):
        conversions += 1
        for group in match.groups():
            if group == b"*":
                stars = True
            elif group:
                biggest = max(biggest, int(group[:12]))
    if stars:
        for value in values:
            if type(value) is int:
                biggest = max(biggest, abs(value))
    longest = max((len(v) for v in values if isinstance(v, str | bytes)), default=0)
    _alloc((len(raw) + conversions * (biggest + longest)) * 4)


def _check_spec(spec) -> None:
    """A format spec's width/precision (``f"{x:>{n}}"``, ``format(x, spec)``)."""
    if isinstance(spec, str) and spec:
        for number in _SPEC_NUMBERS.findall(spec):
            if len(number) > 7 or int(number) > _BIG_ALLOCATION:
                _alloc(int(number[:12]) * 4)


def format_value(value, conversion: int, spec):
    """f-string ``{value!conversion:spec}`` once the spec is known."""
    if conversion == 115:
        value = str(value)
    elif conversion == 114:
        value = repr(value)
    elif conversion == 97:
        value = ascii(value)
    _check_spec(spec)
    return format(value, spec)


def guarded_format(value, spec=""):
    _check_spec(spec)
    return format(value, spec)


_INPLACE = {
    "+=": (operator.iadd, guarded_add),
    "-=": (operator.isub, None),
    "*=": (operator.imul, guarded_mul),
    "/=": (operator.itruediv, None),
    "%=": (operator.imod, guarded_mod),
    "**=": (operator.ipow, guarded_pow),
    "<<=": (operator.ilshift, guarded_lshift),
    ">>=": (operator.irshift, None),
    "|=": (operator.ior, None),
    "^=": (operator.ixor, None),
    "&=": (operator.iand, None),
    "//=": (operator.ifloordiv, guarded_floordiv),
    "@=": (operator.imatmul, None),
}


def guarded_inplace(op: str, target, value):
    """``x op= y`` (``_inplacevar_``): the operator's guard, then the operation."""
    inplace, guard = _INPLACE[op]
    if type(target) is list and op in ("+=", "*="):
        # a list changes in place: check its growth, keep the in-place semantics
        if op == "*=":
            if type(value) is int:
                _alloc(len(target) * value * 8)
        elif isinstance(value, _CONTAINERS):
            _alloc((len(target) + len(value)) * 8)
        else:
            value = _star(value)
        return inplace(target, value)
    if guard is not None:
        return guard(target, value)
    return inplace(target, value)


# ---------------------------------------------------------------------------- iteration


class _LongRange:
    """A ``range`` longer than _LAZY_RANGE: iterating it checks the limits (``sum``, ``list``,
    ``map`` … iterate in C, where no compiled-in check runs)."""

    __slots__ = ("_r",)

    def __init__(self, r: range):
        self._r = r

    def __iter__(self):
        budget = _BUDGET.get()
        for value in self._r:
            if budget is not None:
                budget.tick()
            yield value

    def __reversed__(self):
        return iter(_LongRange(self._r[::-1]))

    def __len__(self):
        n = len(self._r)
        _alloc(n * 8)  # list(), tuple() and extend() allocate len() slots up front
        return n

    def __contains__(self, value):
        if type(value) in (int, bool):
            return value in self._r
        return any(value == x for x in self)

    def __getitem__(self, index):
        item = self._r[index]
        return _range_of(item) if isinstance(item, range) else item

    def __eq__(self, other):
        return isinstance(other, _LongRange) and self._r == other._r

    def __hash__(self):
        return hash(self._r)

    def __repr__(self):
        return repr(self._r)

    @property
    def start(self):
        return self._r.start

    @property
    def stop(self):
        return self._r.stop

    @property
    def step(self):
        return self._r.step

    def count(self, value):
        return self._r.count(value) if type(value) in (int, bool) else sum(
            1 for x in self if x == value)

    def index(self, value):
        return self._r.index(value)


def _range_of(r: range):
    try:
        long = len(r) > _LAZY_RANGE
    except OverflowError:
        long = True
    return _LongRange(r) if long else r


def guarded_range(*args):
    return _range_of(range(*args))


def _star(iterable):
    """``*iterable`` in a display or a call, ``join`` and ``extend`` of an iterator: check the
    limits as it is consumed (containers only have their size checked)."""
    if isinstance(iterable, _CONTAINERS):
        if len(iterable) > _LAZY_RANGE:
            _alloc(len(iterable) * 8)
        return iterable
    return _ticking(iterable)


def _ticking(iterable):
    budget = _BUDGET.get()
    for value in iterable:
        if budget is not None:
            budget.tick()
        yield value


def guarded_sum(iterable, start=0):
    if isinstance(start, int | float | complex):
        return sum(iterable, start)
    total = start
    budget = _BUDGET.get()
    for value in iterable:
        if budget is not None:
            budget.tick()
        total = guarded_add(total, value)
    return total


def guarded_round(number, ndigits=None):
    if ndigits is not None and type(ndigits) is int and abs(ndigits) > _MAX_ROUND_DIGITS:
        _reject(f"round() 的位数 {ndigits} 过大")
    _check_ints(number)
    return round(number, ndigits)


def guarded_divmod(a, b):
    _check_ints(a, b)
    return divmod(a, b)


def _getitem(obj, index):
    return obj[index]


def _apply(func, *args, **kwargs):
    return func(*args, **kwargs)


class _ListWriter:
    """``lst[a:b] = values`` may grow a list by any amount in one C call: check it."""

    __slots__ = ("_lst",)

    def __init__(self, lst):
        self._lst = lst

    def __setitem__(self, key, value):
        if isinstance(key, slice):
            if isinstance(value, _CONTAINERS):
                _alloc((len(self._lst) + len(value)) * 8)
            else:
                value = list(_star(value))
        self._lst[key] = value

    def __delitem__(self, key):
        del self._lst[key]


def guarded_write(obj):
    """``_write_``: item writes on the dicts and lists diagram code holds; nothing else."""
    kind = type(obj)
    if kind is dict:
        return obj
    if kind is list:
        return _ListWriter(obj)
    _reject(f"不允许修改 {kind.__name__} 对象（只能给字典和列表的元素赋值）")


# ---------------------------------------------------------------------------- builtins

_SAFE_BUILTIN_NAMES = (
    "abs all any bool dict enumerate filter float frozenset int isinstance "
    "issubclass len list map max min next repr reversed set slice sorted str "
    "tuple zip ValueError KeyError TypeError Exception AttributeError IndexError LookupError "
    "ZeroDivisionError ArithmeticError True False None"
).split()


def _builtins() -> dict:
    import builtins

    names = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    names.update({
        "range": guarded_range,
        "pow": guarded_pow,
        "round": guarded_round,
        "divmod": guarded_divmod,
        "sum": guarded_sum,
        "format": guarded_format,
    })
    return names


SAFE_BUILTINS = _builtins()

# The names compiled code calls (RestrictedPython's and ours); diagram code cannot name them
# (names starting with "_" are refused) nor shadow them (they are set after the task data).
RESTRICTED_NAMES = {
    "__builtins__": SAFE_BUILTINS,
    "_getattr_": guarded_getattr,
    "_getitem_": _getitem,
    "_getiter_": iter,  # loops check the limits in their body
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": guarded_write,
    "_inplacevar_": guarded_inplace,
    "_apply_": _apply,
    "_add_": guarded_add,
    "_mul_": guarded_mul,
    "_mod_": guarded_mod,
    "_floordiv_": guarded_floordiv,
    "_pow_": guarded_pow,
    "_lshift_": guarded_lshift,
    "_format_value_": format_value,
    "_star_": _star,
    "_tick_": _tick,
}


def namespace(helpers: dict, external: dict | None, data: dict, budget: Budget) -> dict:
    """Globals of one evaluation: helpers, then data, then the restricted names."""
    ns = dict(helpers)
    if external:
        ns.update(external)
    ns.update(data)
    ns.update(RESTRICTED_NAMES)
    ns["_tick_"] = budget.tick
    return ns
