"""Translate the expressions other modelers write (JUEL ``${...}`` of Camunda 7, simple FEEL
``= ...`` of Camunda 8) into the engine's expression language (restricted Python).

A small tokenizer and a recursive-descent parser build a tree, which is printed back as Python
with the parentheses the precedence needs. Whatever the grammar does not cover (method calls,
lambdas, FEEL ranges, lists, ``instanceof`` …) raises ``Untranslatable`` with a Chinese reason:
the importer reports it, it never guesses.
"""

from __future__ import annotations

import keyword
import re

from ..sandbox import ScriptRejected
from ..sandbox import check as check_code


class Untranslatable(ValueError):
    """The expression cannot be translated; ``str(exc)`` says why (Chinese)."""


# A condition of another modeler is a line, not a program: longer or deeper ones are refused
# before the recursive-descent parser (and Python's compiler) would run out of stack.
MAX_LENGTH = 2000
MAX_DEPTH = 50


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%!<>=().,?:\[\]{}])
    )""",
    re.VERBOSE,
)

# word operators of each dialect -> the symbol the parser works with
_JUEL_WORDS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<",
               "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%", "empty": "empty"}
_FEEL_WORDS = {"and": "&&", "or": "||"}
_CONSTANTS = {"true": "True", "false": "False", "null": "None"}
_UNSUPPORTED_WORDS = {"instanceof", "between", "in", "some", "every", "satisfies", "for",
                      "return", "if", "then", "else", "function", "instance", "of"}

# Python precedence of what the printer emits (higher binds tighter)
_PREC = {"?": 0, "||": 1, "&&": 2, "!": 3, "cmp": 4, "+": 6, "-": 6, "*": 7, "/": 7, "%": 7,
         "neg": 8, "atom": 9}
_PY_OP = {"||": "or", "&&": "and", "+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}
_CMP = {"==", "!=", "<", ">", "<=", ">="}


def _tokens(text: str, dialect: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    words = _JUEL_WORDS if dialect == "juel" else _FEEL_WORDS
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Untranslatable(f"无法识别的字符“{text[pos:pos + 10].strip()}”")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "name":
            low = value
            if low in _CONSTANTS:
                out.append(("const", _CONSTANTS[low]))
                continue
            if dialect == "feel" and low == "not":
                out.append(("op", "!"))  # FEEL's not(...) is a function of one argument
                continue
            if low in words:
                out.append(("op", words[low]))
                continue
            if low in _UNSUPPORTED_WORDS:
                raise Untranslatable(f"不支持“{value}”")
        elif kind == "op":
            if value in ("{", "}"):
                raise Untranslatable("不支持嵌套的 ${…} 或集合/上下文字面量")
            if dialect == "feel" and value == "=":
                value = "=="
            elif dialect == "feel" and value in ("&&", "||", "!", "==", "?"):
                raise Untranslatable(f"FEEL 中没有运算符“{value}”")
            elif dialect == "juel" and value == "=":
                raise Untranslatable("JUEL 条件中不能使用赋值“=”，比较请用“==”")
        out.append((kind, value))
    if not out:
        raise Untranslatable("表达式为空")
    return out


class _Parser:
    """Recursive descent over the tokens; each rule returns (python text, precedence)."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Untranslatable(f"表达式嵌套超过 {MAX_DEPTH} 层")

    def peek(self, *values) -> bool:
        if self.pos >= len(self.tokens):
            return False
        kind, value = self.tokens[self.pos]
        return kind == "op" and value in values

    def take(self):
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        if not self.peek(value):
            raise Untranslatable(f"此处缺少“{value}”")
        self.pos += 1

    def parse(self) -> str:
        text, _ = self.ternary()
        if self.pos != len(self.tokens):
            raise Untranslatable(f"多余的内容“{self.tokens[self.pos][1]}”")
        return text

    def ternary(self):
        self.nest()
        cond = self.binary(1)
        if not self.peek("?"):
            self.depth -= 1
            return cond
        self.take()
        yes = self.ternary()
        self.expect(":")
        no = self.ternary()
        self.depth -= 1
        return (f"{_wrap(yes, 1)} if {_wrap(cond, 1)} else {_wrap(no, 0)}", 0)

    # levels: 1 ||, 2 &&, 3 equality, 4 relational, 5 additive, 6 multiplicative
    _LEVELS = {1: ("||",), 2: ("&&",), 3: ("==", "!="), 4: ("<", ">", "<=", ">="),
               5: ("+", "-"), 6: ("*", "/", "%")}

    def binary(self, level: int):
        if level > 6:
            return self.unary()
        left = self.binary(level + 1)
        while self.peek(*self._LEVELS[level]):
            op = self.take()[1]
            right = self.binary(level + 1)
            if op in _CMP:
                # Python chains comparisons; JUEL/FEEL do not: both sides atomic enough
                left = (f"{_wrap(left, 5)} {op} {_wrap(right, 5)}", _PREC["cmp"])
            else:
                prec = _PREC[op]
                left = (f"{_wrap(left, prec)} {_PY_OP[op]} {_wrap(right, prec + 1)}", prec)
        return left

    def unary(self):
        self.nest()
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self):
        if self.peek("!"):
            self.take()
            operand = self.unary()
            return (f"not {_wrap(operand, _PREC['!'])}", _PREC["!"])
        if self.peek("-"):
            self.take()
            operand = self.unary()
            return (f"-{_wrap(operand, _PREC['neg'])}", _PREC["neg"])
        if self.peek("empty"):
            self.take()
            operand = _wrap(self.unary(), _PREC["cmp"] + 1)
            return (f"({operand} is None or {operand} == '' or {operand} == [] "
                    f"or {operand} == {{}})", _PREC["atom"])
        return self.postfix()

    def postfix(self):
        text, prec = self.primary()
        while True:
            if self.peek("."):
                self.take()
                kind, name = self.take() if self.pos < len(self.tokens) else ("", "")
                if kind != "name":
                    raise Untranslatable("“.”之后应为属性名")
                if self.peek("("):
                    raise Untranslatable(f"不支持方法调用“{name}(…)”")
                text, prec = f"{_wrap((text, prec), 9)}[{name!r}]", _PREC["atom"]
            elif self.peek("["):
                self.take()
                index, _ = self.ternary()
                self.expect("]")
                text, prec = f"{_wrap((text, prec), 9)}[{index}]", _PREC["atom"]
            elif self.peek("("):
                raise Untranslatable(f"不支持函数调用“{text}(…)”")
            else:
                return text, prec

    def primary(self):
        if self.pos >= len(self.tokens):
            raise Untranslatable("表达式不完整")
        kind, value = self.take()
        if kind == "number":
            return value, _PREC["atom"]
        if kind == "string":
            return repr(_unquote(value)), _PREC["atom"]
        if kind == "const":
            return value, _PREC["atom"]
        if kind == "name":
            if value.startswith("_"):
                raise Untranslatable(f"变量名“{value}”不能以下划线开头")
            if keyword.iskeyword(value):
                raise Untranslatable(f"变量名“{value}”是 Python 关键字")
            return value, _PREC["atom"]
        if kind == "op" and value == "(":
            inner = self.ternary()
            self.expect(")")
            return f"({inner[0]})", _PREC["atom"]
        raise Untranslatable(f"此处不应出现“{value}”")


def _wrap(node, min_prec: int) -> str:
    text, prec = node
    return text if prec >= min_prec else f"({text})"


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def dialect_of(text: str) -> str | None:
    """``juel`` for ``${…}`` / ``#{…}``, ``feel`` for ``= …``, None for anything else."""
    stripped = (text or "").strip()
    if (stripped.startswith("${") or stripped.startswith("#{")) and stripped.endswith("}"):
        return "juel"
    if stripped.startswith("=") and not stripped.startswith("=="):
        return "feel"
    return None


def translate(text: str) -> str:
    """The engine's expression for a JUEL or FEEL expression; raises Untranslatable.

    The result is compiled with the engine's restricted compiler before it is returned.
    """
    dialect = dialect_of(text)
    stripped = text.strip()
    if dialect == "juel":
        body = stripped[2:-1]
        if "${" in body or "#{" in body:
            raise Untranslatable("不支持多段或嵌套的 ${…} 表达式")
    elif dialect == "feel":
        body = stripped[1:]
    else:
        raise Untranslatable("不是 JUEL（${…}）或 FEEL（= …）表达式")
    if len(body) > MAX_LENGTH:
        raise Untranslatable(f"表达式超过 {MAX_LENGTH} 个字符")
    try:
        python = _Parser(_tokens(body, dialect)).parse()
        check_code(python, "eval")
    except (SyntaxError, ScriptRejected) as exc:
        raise Untranslatable(f"转换结果不符合引擎的表达式规则：{exc}") from None
    except (RecursionError, MemoryError):
        raise Untranslatable("表达式过于复杂（嵌套过深），请简化后手工填写") from None
    return python
