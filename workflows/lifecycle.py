"""The project lifecycle's stages and phases (项目全生命周期, 昆府发〔2026〕1号).

The plan groups thirteen stages into four phases, its goal words 引得来、落得快、建得好、运营稳.
Every user task of ``bpmn/project_lifecycle.bpmn`` names its stage and phase, and the engine
copies them onto the instance row (the dashboard's read model); this module is the ordered map
the dashboard and the service handler read: which phase a stage belongs to, its position in
the plan, and which of several open stages is the furthest along.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PHASES = ("引得来", "落得快", "建得好", "运营稳")


@dataclass(frozen=True)
class Stage:
    number: int  # 1..13, the order of the plan
    name: str  # as the diagram's ``stage`` property spells it
    phase: str
    lead: tuple[str, ...]  # department codes that lead the stage (DOMAIN.md)


STAGES = tuple(
    Stage(n, name, phase, lead)
    for n, (name, phase, lead) in enumerate(
        [
            ("线索登记/首次洽谈", "引得来", ("invest", "leaders")),
            ("项目研判", "引得来", ("invest",)),
            ("签约", "引得来", ("invest",)),
            ("注册落地", "落得快", ("gov-data",)),
            ("立项", "落得快", ("drc", "miit")),
            ("用地/规划", "落得快", ("natres",)),
            ("前期手续", "落得快", ("eco", "drc", "emergency", "agri")),
            ("施工许可", "建得好", ("housing",)),
            ("开工建设", "建得好", ("buerhantu", "kunbei", "leaders")),
            ("竣工验收", "建得好", ("housing",)),
            ("投产", "运营稳", ("miit",)),
            ("运营/达产", "运营稳", ("miit",)),
            ("退出", "运营稳", ("drc", "natres", "miit")),
        ],
        start=1,
    )
)
_BY_NAME = {s.name: s for s in STAGES}


def stage(name: str | None) -> Stage | None:
    return _BY_NAME.get((name or "").strip())


def phase_of(stage_name: str | None) -> str | None:
    """The phase (引得来 … 运营稳) of a lifecycle stage; None for a name that is not one."""
    found = stage(stage_name)
    return found.phase if found else None


def furthest_stage(stage_names: Iterable[str | None]) -> str | None:
    """Of the stages a project's open tasks stand in, the one furthest along the plan (a project
    answering a 三在三找 request while 运营 goes on stands in 运营/达产, not behind it)."""
    known = [s for s in map(stage, stage_names) if s is not None]
    return max(known, key=lambda s: s.number).name if known else None


def stage_phase(data: dict, stage: str | None = None) -> dict:
    """Service handler ``lifecycle_stage_phase``: the phase and number of ``stage`` (or of the
    task data's ``stage``). An unknown stage raises, so a misspelt diagram property becomes a
    visible incident rather than an empty dashboard column."""
    name = stage if stage is not None else data.get("stage")
    found = _BY_NAME.get(str(name or "").strip())
    if found is None:
        raise ValueError(f"“{name}”不是项目全生命周期的阶段（共 {len(STAGES)} 个阶段）")
    return {"stage": found.name, "phase": found.phase, "stage_number": found.number,
            "lead_departments": list(found.lead)}
