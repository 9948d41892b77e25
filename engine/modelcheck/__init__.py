"""The server's model check (kunflow rules, the same codes as the browser's lint) and the
import of diagrams from other modelers (Camunda 7 / 8, Signavio, bpmn.io, SpiffArena).

Pure functions over XML: no database. ``validate`` is what a deploy runs first.
"""

from __future__ import annotations

from ..definitions import LoadedSpec, ParsedDefinition, parse
from ..dto import ModelReport, Problem
from ..errors import InvalidModel
from .importer import import_diagram
from .rules import check_model

__all__ = ["check_model", "import_diagram", "problems_of", "validate"]

PARSE = "kunflow/parse"


def problems_of(exc: InvalidModel) -> list[Problem]:
    """The parser's ``{file, element_id, message, line}`` errors as problems."""
    out = []
    for e in exc.errors or [{"message": exc.message}]:
        if "rule" in e:
            out.append(Problem(**{k: e.get(k) for k in
                                  ("element_id", "element_type", "rule", "message", "hint",
                                   "file", "line")}))
        else:
            out.append(Problem(e.get("element_id"), None, PARSE, e.get("message") or "",
                               "按提示修改流程图", file=e.get("file"), line=e.get("line")))
    return out


def validate(filename: str, bpmn: bytes, files: dict[str, bytes] | None,
             directory: dict[str, str]
             ) -> tuple[ModelReport, ParsedDefinition | None, LoadedSpec | None]:
    """The model check and the engine's parse together: (report, parsed, loaded); parsed and
    loaded are None when the report has errors. Raises InvalidModel only when ``bpmn`` is not
    a BPMN XML document at all."""
    report = check_model(filename, bpmn, files, directory)
    errors = list(report.errors)
    parsed = loaded = None
    try:
        parsed, loaded = parse(filename, bpmn, files)
    except InvalidModel as exc:
        seen = {p.element_id for p in errors if p.element_id}
        errors += [p for p in problems_of(exc) if not (p.element_id and p.element_id in seen)]
    if errors:
        return ModelReport(tuple(errors), report.warnings), None, None
    return report, parsed, loaded


def summary(filename: str, errors) -> str:
    first = errors[0]
    where = f"元素 {first.element_id}：" if first.element_id else ""
    more = f"（另有 {len(errors) - 1} 处问题）" if len(errors) > 1 else ""
    hint = f"（{first.hint}）" if first.hint else ""
    return f"{filename} 无法部署：{where}{first.message}{hint}{more}"
