"""The entry points that compile diagram code: ``compile_code`` (cached) and ``check``, with
RestrictedPython's messages put in the language of the incidents."""

from __future__ import annotations

import ast
import re

from RestrictedPython import compile_restricted_eval, compile_restricted_exec

from .errors import ScriptRejected
from .limits import current_budget
from .policy import DiagramCodePolicy

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
        budget = current_budget()
        if budget is not None and isinstance(error, ScriptRejected):
            budget.fail(error)  # sticky, like a refusal at run time
        raise error
    return cached


_TOO_DEEP = "代码嵌套过深或过于复杂（请拆成几步）"


def _compile(source: str, mode: str):
    try:
        ast.parse(source, _FILENAME, mode)
    except SyntaxError as exc:
        return SyntaxError(*exc.args)
    except (RecursionError, MemoryError):  # CPython's parser on deeply nested code
        return ScriptRejected(_TOO_DEEP)
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        result = compiler(source, _FILENAME, policy=DiagramCodePolicy)
    except (RecursionError, MemoryError):  # the policy's visitor recurses per AST level
        return ScriptRejected(_TOO_DEEP)
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
