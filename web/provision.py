"""What ``kunflow init`` does: migrate, sync the org chart, seed the working-day calendar,
deploy the process library; on a database upgraded from before the 驾驶舱's read model, fill its
tables from the cases (``workflows.dashboard.projection.rebuild``).

Idempotent: rerunning changes nothing that is already in place, and two nodes running it at the
same moment take turns (``Engine.setup_lock``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from engine import SYSTEM, DeployResult, Engine, EngineError, calendar_service
from workflows.dashboard.projection import needs_rebuild, rebuild
from workflows.org import load_org

from .auth.passwords import DEMO_PASSWORD, hash_password

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_DMN_NS = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)


@dataclass(frozen=True)
class OrgSummary:
    departments: int
    users: int
    demo_passwords_set: int


def sync_org(engine: Engine, org_file: str | Path, *, demo: bool) -> OrgSummary:
    """Departments and users from the org chart file. In demo mode a user who has no password
    yet gets the demo password; outside demo mode no password is set (``users set-password``)."""
    departments, users = load_org(org_file)
    # Who has no password yet is decided by the engine inside its write transaction: two nodes
    # starting at once must not both seed (each with its own salt) and the second "change" it.
    # One hash for all demo users: the password is public anyway, and argon2 is slow by design.
    seeded = engine.sync_org(departments, users,
                             initial_password_hash=hash_password(DEMO_PASSWORD) if demo else None)
    return OrgSummary(len(departments), len(users), seeded)


def library_files(bpmn_dir: str | Path) -> list[tuple[Path, dict[str, bytes]]]:
    """Every ``*.bpmn`` of the directory (sorted) with the DMN files whose decisions it calls
    and the ``forms/<form_key>.form`` files of its tasks."""
    directory = Path(bpmn_dir)
    decisions = _decision_files(directory)
    forms_dir = directory / "forms"
    result = []
    for path in sorted(directory.glob("*.bpmn")):
        extra: dict[str, bytes] = {}
        called, form_keys = _references(path.read_bytes())
        for decision_id in sorted(called):
            dmn = decisions.get(decision_id)
            if dmn is not None:
                extra[dmn.name] = dmn.read_bytes()
        for key in sorted(form_keys):
            form = forms_dir / f"{key}.form"
            if form.is_file():
                extra[form.name] = form.read_bytes()
        result.append((path, extra))
    return result


def deploy_library(
    engine: Engine, bpmn_dir: str | Path
) -> list[tuple[Path, DeployResult | EngineError]]:
    """Deploy the process library as the system; unchanged files create no new version.

    A file that cannot be deployed is reported with its error; the others still deploy.
    """
    results: list[tuple[Path, DeployResult | EngineError]] = []
    for path, extra in library_files(bpmn_dir):
        try:
            results.append((path, engine.deploy(path.name, path.read_bytes(), extra, actor=SYSTEM)))
        except EngineError as exc:
            results.append((path, exc))
    return results


def _decision_files(directory: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(directory.glob("*.dmn")):
        try:
            root = etree.fromstring(path.read_bytes(), _XML_PARSER)
        except etree.XMLSyntaxError:
            continue  # the deploy of a BPMN that calls it reports the missing decision
        for ns in _DMN_NS:
            for node in root.iterfind(f".//{{{ns}}}decision"):
                if node.get("id"):
                    found.setdefault(node.get("id"), path)
    return found


def _references(bpmn: bytes) -> tuple[set[str], set[str]]:
    """Decision ids the diagram calls and the form keys of its tasks."""
    try:
        root = etree.fromstring(bpmn, _XML_PARSER)
    except etree.XMLSyntaxError:
        return set(), set()  # deploy reports the syntax error
    decisions, forms = set(), set()
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        if local == "calledDecisionId" and (node.text or "").strip():
            decisions.add(node.text.strip())
        elif local == "property" and node.get("name") == "form_key" and node.get("value"):
            forms.add(node.get("value"))
        for attr, value in node.attrib.items():
            if etree.QName(attr).localname == "decisionRef" and value:
                decisions.add(value)
    return decisions, forms


def initialize(engine: Engine, settings: dict):
    """``kunflow init``: schema, org chart, calendar, process library. Returns what was done.

    Runs under the database's set-up lock: a second node initialising the same database at the
    same moment waits, then finds everything in place and changes nothing.
    """
    with engine.setup_lock:
        engine.migrate()
        org = sync_org(engine, settings["ORG_FILE"], demo=bool(settings["DEMO"]))
        # Official years from chinesecalendar, estimates up to the year after next; keeps
        # imported and manual data, writes nothing when already in place.
        calendar_service(engine).seed()
        deployed = deploy_library(engine, settings["BPMN_DIR"])
        if needs_rebuild(engine):  # upgraded: the 驾驶舱's tables from the cases so far
            rebuild(engine)
    return org, deployed
