"""Import a diagram exported by another modeler into kunflow's dialect.

Accepted as BPMN allows it, rewritten to what the engine reads:

- timers written as bare ISO 8601 literals (``PT2H``, ``P7D``, ``R3/PT1H``, a date-time) or as
  FEEL / JUEL expressions -> the engine's expression (a quoted literal, translated code);
- conditions in JUEL (``${...}``) or simple FEEL (``= ...``) -> the engine's expression;
- Camunda 7 (``camunda:candidateGroups / assignee / formKey / dueDate / decisionRef``), Camunda
  8 (``zeebe:assignmentDefinition / formDefinition / taskSchedule / calledDecision``) and
  SpiffArena (``formJsonSchemaFilename``) settings -> ``spiffworkflow:`` properties;
- Signavio / bpmn.io plain BPMN passes as is (only its timers and conditions are translated).

Every rewrite is listed (``Translation``); what cannot run is a ``Problem`` per element with
what to change. A translated attribute is removed; one that could not be translated stays, so
that a deploy of the result still refuses it (``rules.foreign``).
"""

from __future__ import annotations

from lxml import etree

from ..dto import ImportReport, Problem, Translation
from .common import (
    BPMN_NS,
    CAMUNDA_NS,
    NS,
    SPIFF_NS,
    label,
    local,
    ns_of,
    owner,
    parse_xml,
    problem,
    properties,
    unsupported,
)
from .expressions import Untranslatable, dialect_of, translate
from .rules import _TIMER_PARSE, DMN, check_model
from .xmledit import (
    clock_hours,
    drop,
    extension_elements,
    feel_time_literal,
    has_flow,
    indent,
    iso_ok,
    local_attr,
    num,
    rename_process,
    set_property,
)

NOT_EXECUTABLE = "import/not-executable"
EXPRESSION = "import/expression"
MAPPING = "import/mapping"
UNSUPPORTED = "import/unsupported"


class _Import:
    def __init__(self, root, filename: str, directory: dict[str, str]):
        self.root = root
        self.filename = filename
        self.directory = directory
        self.translations: list[Translation] = []
        self.problems: list[Problem] = []

    def note(self, node, kind: str, original: str, translated: str) -> None:
        el = owner(node)
        self.translations.append(Translation(el.get("id") if el is not None else None, kind,
                                             original, translated))

    def report(self, node, rule: str, message: str, hint: str) -> None:
        self.problems.append(problem(node, rule, message, hint, self.filename))

    # -------------------------------------------------------------- expressions

    def expression(self, node, text: str, what: str) -> str | None:
        """The engine's expression for ``text``; None (and a problem) when untranslatable."""
        try:
            return translate(text)
        except Untranslatable as exc:
            self.report(node, EXPRESSION, f"{what}“{label(owner(node))}”的表达式“{text}”无法转换：{exc}",
                        "改写为引擎的表达式（Python 语法，如 amount > 1000 and region == 'north'）")
            return None

    def timers(self) -> None:
        for kind in _TIMER_PARSE:
            for node in self.root.iterfind(f".//bpmn:{kind}", NS):
                original = (node.text or "").strip()
                new = self.timer(node, kind, original)
                if new is not None and new != original:
                    node.text = new
                    self.note(node, "timer", original, new)

    def timer(self, node, kind: str, text: str) -> str | None:
        if not text:
            return None  # the model check reports an empty timer
        if iso_ok(kind, text):
            return f'"{text}"'
        dialect = dialect_of(text)
        if dialect == "feel":
            literal = feel_time_literal(text[1:].strip())
            if literal is not None and iso_ok(kind, literal):
                return f'"{literal}"'
        if dialect is not None:
            return self.expression(node, text, "定时器")
        return text  # already the engine's expression (the model check looks at it)

    def conditions(self) -> None:
        for node in self.root.iterfind(".//bpmn:conditionExpression", NS):
            original = (node.text or "").strip()
            language = (node.get("language") or "").lower()
            if language and not any(w in language for w in ("python", "juel", "feel")):
                self.report(node, EXPRESSION,
                            f"连线“{label(node.getparent())}”的条件使用 {language} 脚本，无法转换",
                            "改写为引擎的表达式（Python 语法）")
                continue
            if dialect_of(original):
                new = self.expression(node, original, "连线")
                if new is not None:
                    node.text = new
                    node.attrib.pop("language", None)
                    self.note(node, "condition", original, new)

    # -------------------------------------------------------------- extensions

    def extensions(self) -> None:
        for node in list(self.root.iter()):
            if ns_of(node) != BPMN_NS:
                continue
            name = local(node)
            if name in ("userTask", "manualTask"):
                self.camunda_task(node)
                self.zeebe_task(node)
                self.spiffarena_task(node)
            elif name == "startEvent":
                attr = f"{{{CAMUNDA_NS}}}formKey"
                if node.get(attr):
                    self.form(node, node.get(attr), attr)
                for ext in node.iterfind("bpmn:extensionElements/zeebe:formDefinition", NS):
                    if self.form(node, ext.get("formKey") or ext.get("formId") or "", None):
                        ext.getparent().remove(ext)
            elif name == "businessRuleTask":
                self.decision(node)
            elif name == "serviceTask" or name == "sendTask":
                self.service(node)
            elif name == "scriptTask":
                fmt = (node.get("scriptFormat") or "python").lower()
                if fmt not in ("python", "text/x-python"):
                    self.report(node, UNSUPPORTED,
                                f"脚本任务“{label(node)}”使用 {fmt} 脚本，引擎只运行 Python",
                                "把脚本改写为 Python，并把脚本格式设为 python")
            elif name == "process" and node.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups"):
                self.report(node, MAPPING, f"流程“{label(node)}”的发起组设置不会被沿用",
                            "在流程属性中填写发起部门（start_departments）")

    def camunda_task(self, node) -> None:
        attrs = {local_attr(a): a for a in node.attrib if a.startswith(f"{{{CAMUNDA_NS}}}")}
        if "candidateGroups" in attrs:
            self.group(node, node.get(attrs["candidateGroups"]), attrs["candidateGroups"])
        if "assignee" in attrs:
            self.assignee(node, node.get(attrs["assignee"]), attrs["assignee"])
        if "formKey" in attrs:
            self.form(node, node.get(attrs["formKey"]), attrs["formKey"])
        if "dueDate" in attrs:
            self.due(node, node.get(attrs["dueDate"]), attrs["dueDate"])
        if "candidateUsers" in attrs:
            self.report(node, MAPPING, f"用户任务“{label(node)}”的候选人（candidateUsers）无法沿用",
                        "改用部门泳道，或填写办理人表达式（assignee）")

    def zeebe_task(self, node) -> None:
        for ext in node.iterfind("bpmn:extensionElements/zeebe:assignmentDefinition", NS):
            done = True
            if ext.get("candidateGroups"):
                done = self.group(node, ext.get("candidateGroups"), None) and done
            if ext.get("assignee"):
                done = self.assignee(node, ext.get("assignee"), None) and done
            if ext.get("candidateUsers"):
                done = False
                self.report(node, MAPPING,
                            f"用户任务“{label(node)}”的候选人（candidateUsers）无法沿用",
                            "改用部门泳道，或填写办理人表达式（assignee）")
            if done:
                ext.getparent().remove(ext)
        for ext in node.iterfind("bpmn:extensionElements/zeebe:formDefinition", NS):
            value = ext.get("formKey") or ext.get("formId") or ""
            if self.form(node, value, None):
                ext.getparent().remove(ext)
        for ext in node.iterfind("bpmn:extensionElements/zeebe:taskSchedule", NS):
            ok = True
            if ext.get("dueDate"):
                ok = self.due(node, ext.get("dueDate"), None)
            if ext.get("followUpDate"):
                self.report(node, MAPPING, f"用户任务“{label(node)}”的跟进日期不会被沿用",
                            "如需提醒，请用定时边界事件")
            if ok:
                ext.getparent().remove(ext)
        for ext in node.iterfind("bpmn:extensionElements/zeebe:userTask", NS):
            ext.getparent().remove(ext)  # "Camunda user task" marker: every user task is one

    def spiffarena_task(self, node) -> None:
        props = properties(node)
        schema = props.get("formJsonSchemaFilename")
        if schema and not props.get("form_key"):
            key = schema.rsplit("/", 1)[-1]
            for suffix in ("-schema.json", ".json", ".form"):
                if key.endswith(suffix):
                    key = key[: -len(suffix)]
                    break
            set_property(node, "form_key", key)
            self.note(node, "form_key", schema, key)

    def group(self, node, value: str, attr: str | None) -> bool:
        groups = [g.strip() for g in (value or "").replace("，", ",").split(",") if g.strip()]
        if len(groups) == 1 and dialect_of(groups[0]) is None:
            code = self.directory.get(groups[0])
            if code:
                set_property(node, "department", groups[0])
                self.note(node, "candidate_group", value, f"department = {groups[0]}")
                drop(node, attr)
                return True
            self.report(node, MAPPING,
                        f"用户任务“{label(node)}”的候选组“{groups[0]}”不是组织机构中的部门",
                        "把任务放入对应部门的泳道，或把候选组改为部门名称")
            return False
        if dialect_of(value or ""):
            new = self.expression(node, value, "候选组")
            if new is None:
                return False
            set_property(node, "department_expression", new)
            self.note(node, "candidate_group", value, f"department_expression = {new}")
            drop(node, attr)
            return True
        self.report(node, MAPPING, f"用户任务“{label(node)}”有多个候选组“{value}”",
                    "引擎的任务只属于一个部门：请只保留一个部门，或用泳道表示部门")
        return False

    def assignee(self, node, value: str, attr: str | None) -> bool:
        value = (value or "").strip()
        if dialect_of(value):
            new = self.expression(node, value, "办理人")
            if new is None:
                return False
        else:
            new = repr(value)  # a user name: the expression giving it
        set_property(node, "assignee", new)
        self.note(node, "assignee", value, new)
        drop(node, attr)
        return True

    def form(self, node, value: str, attr: str | None) -> bool:
        value = (value or "").strip()
        if not value or dialect_of(value):
            self.report(node, MAPPING, f"用户任务“{label(node)}”的表单“{value}”无法沿用",
                        "在属性面板中选择表单（随流程部署的 .form 文件）")
            return False
        key = value.split(":")[-1].rsplit("/", 1)[-1]
        for suffix in (".form", ".json", ".html"):
            if key.endswith(suffix):
                key = key[: -len(suffix)]
        set_property(node, "form_key", key)
        self.note(node, "form_key", value, key)
        drop(node, attr)
        return True

    def due(self, node, value: str, attr: str | None) -> bool:
        value = (value or "").strip()
        dialect = dialect_of(value)
        literal = value if dialect is None else (
            feel_time_literal(value[1:].strip()) if dialect == "feel" else None)
        if literal and iso_ok("timeDuration", literal):
            hours = clock_hours(literal)
            if hours is not None:
                set_property(node, "due_hours", num(hours))
                self.note(node, "due", value, f"due_hours = {num(hours)}")
                drop(node, attr)
                return True
        if literal and iso_ok("timeDate", literal):
            set_property(node, "due_expression", f'"{literal}"')
            self.note(node, "due", value, f'due_expression = "{literal}"')
            drop(node, attr)
            return True
        if dialect is not None:
            new = self.expression(node, value, "办理时限")
            if new is not None:
                set_property(node, "due_expression", new)
                self.note(node, "due", value, f"due_expression = {new}")
                drop(node, attr)
                return True
            return False
        self.report(node, MAPPING, f"用户任务“{label(node)}”的办理时限“{value}”无法转换",
                    "在属性面板中填写办理时限（工作日、小时或表达式）")
        return False

    def decision(self, node) -> None:
        attr = f"{{{CAMUNDA_NS}}}decisionRef"
        decision = node.get(attr)
        zeebe = node.find("bpmn:extensionElements/zeebe:calledDecision", NS)
        if decision is None and zeebe is not None:
            decision = zeebe.get("decisionId")
        if not decision:
            return
        if dialect_of(decision):
            self.report(node, MAPPING, f"业务规则任务“{label(node)}”的决策表由表达式“{decision}”决定",
                        "引擎只支持固定的决策表标识：请填写决策表的 id")
            return
        ext = extension_elements(node)
        for old in ext.iterfind("spiffworkflow:calledDecisionId", NS):
            ext.remove(old)
        etree.SubElement(ext, f"{{{SPIFF_NS}}}calledDecisionId").text = decision
        self.note(node, "decision", decision, f"calledDecisionId = {decision}")
        node.attrib.pop(attr, None)
        node.attrib.pop(f"{{{CAMUNDA_NS}}}mapDecisionResult", None)
        node.attrib.pop(f"{{{CAMUNDA_NS}}}resultVariable", None)
        if zeebe is not None:
            zeebe.getparent().remove(zeebe)

    def service(self, node) -> None:
        camunda = [local_attr(a) for a in node.attrib if a.startswith(f"{{{CAMUNDA_NS}}}")
                   and local_attr(a) in ("class", "delegateExpression", "expression", "type",
                                         "topic")]
        zeebe = node.find("bpmn:extensionElements/zeebe:taskDefinition", NS)
        if camunda or zeebe is not None:
            what = "、".join(camunda) if camunda else f"作业类型 {zeebe.get('type')}"
            self.report(node, UNSUPPORTED,
                        f"服务任务“{label(node)}”的实现（{what}）在引擎中不存在",
                        "改为引擎已注册的服务（spiffworkflow:serviceTaskOperator），"
                        "或改为脚本任务 / 用户任务")

    # -------------------------------------------------------------- the whole diagram

    def processes(self) -> tuple[str | None, str | None, bool]:
        processes = list(self.root.iterfind(".//bpmn:process", NS))
        if not processes:
            self.problems.append(Problem(None, None, NOT_EXECUTABLE, "文件中没有流程（process）",
                                         "请导出包含流程的 BPMN 文件", file=self.filename))
            return None, None, False
        executable = [p for p in processes if p.get("isExecutable") == "true"]
        for p in processes:
            if p.get("isExecutable") != "true" and has_flow(p):
                self.report(p, NOT_EXECUTABLE,
                            f"流程“{label(p)}”未标记为可执行（isExecutable=\"false\"）",
                            "可以先保存为草稿；部署前在流程属性中勾选“可执行”")
        main = (executable or processes)[0]
        return main.get("id"), main.get("name") or main.get("id"), bool(executable)


def import_diagram(filename: str, bpmn: bytes, directory: dict[str, str],
                   key: str | None = None) -> ImportReport:
    """The diagram in kunflow's dialect with its translations and problems; InvalidModel when
    the upload is not a BPMN XML document (empty, too large, not XML, entities, not BPMN).
    ``key``: the id the main process gets (a draft's key is its process id), e.g. when the
    diagram's id is taken by an existing process; InvalidInput when it cannot be one."""
    root = parse_xml(bpmn, filename, rule="import/xml")
    job = _Import(root, filename, directory)
    found, name, executable = job.processes()
    if key is not None and found is not None and key != found:
        rename_process(root, found, key)
        job.problems.clear()  # what processes() found, named by the new id
        found, name, executable = job.processes()
    key = found
    job.timers()
    job.conditions()
    job.extensions()
    job.problems += unsupported(root, filename)
    etree.cleanup_namespaces(root, top_nsmap={"spiffworkflow": SPIFF_NS})
    for ext in root.iterfind(".//bpmn:extensionElements", NS):
        indent(ext)
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode")
    # What the kunflow rules still find in the result (decisions come with the files later).
    seen = {(p.element_id, p.rule) for p in job.problems}
    seen_elements = {p.element_id for p in job.problems if p.element_id}
    report = check_model(filename, xml.encode("utf-8"), {}, directory)
    for p in report.errors:
        if p.rule == DMN or (p.element_id, p.rule) in seen:
            continue
        if p.rule.startswith("import/") and p.element_id in seen_elements:
            continue  # the import already said why this element could not be translated
        job.problems.append(p)
    return ImportReport(key=key, name=name, bpmn_xml=xml, executable=executable,
                        translations=tuple(job.translations), problems=tuple(job.problems))
