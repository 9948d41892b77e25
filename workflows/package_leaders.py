"""县级领导包联负责制: the one place that decides a project's 包联 leader and lead department.

The rules are data (``package_leaders.yaml`` beside this file): the first rule whose conditions
hold names a district leader (a user of the org chart's leadership department) and the lead
department. The table is checked against the org chart when it is loaded, so a leader who left
or a misspelt department stops the app at start instead of routing a project to nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from config.org import SAFE_LOADER
from engine import DepartmentInfo, UserInfo

RULES_FILE = Path(__file__).with_name("package_leaders.yaml")
_CONDITIONS = {"is_mine", "min_investment", "industry_category", "street"}


@dataclass(frozen=True)
class Rule:
    name: str
    when: dict
    leader: UserInfo
    lead_department: str

    def matches(self, facts: dict) -> bool:
        for key, wanted in self.when.items():
            value = facts.get(key)
            if key == "is_mine":
                if bool(value) is not bool(wanted):
                    return False
            elif key == "min_investment":
                try:
                    if float(value or 0) < float(wanted):
                        return False
                except (TypeError, ValueError):
                    return False
            else:
                allowed = wanted if isinstance(wanted, list) else [wanted]
                if value not in allowed:
                    return False
        return True


class PackageLeaders:
    """The 包联 rules bound to an org chart."""

    def __init__(self, rules: list[Rule], key_project_investment: float):
        if not rules or rules[-1].when:
            raise ValueError("包联规则的最后一条须为无条件的兜底规则（when: {}）")
        self.rules = rules
        self.key_project_investment = key_project_investment

    @classmethod
    def load(cls, departments: list[DepartmentInfo], users: list[UserInfo],
             rules_file: str | Path = RULES_FILE) -> PackageLeaders:
        with open(rules_file, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=SAFE_LOADER) or {}  # noqa: S506 (a safe loader)
        kinds = {d.code: d.kind for d in departments}
        by_name = {u.username: u for u in users}
        rules = []
        for n, raw in enumerate(doc.get("rules") or [], start=1):
            where = f"{Path(rules_file).name} 第 {n} 条规则"
            when = raw.get("when") or {}
            unknown = set(when) - _CONDITIONS
            if unknown:
                raise ValueError(f"{where}：不认识的条件 {', '.join(sorted(unknown))}")
            leader = by_name.get(raw.get("leader"))
            if leader is None or kinds.get(leader.department_code) != "leadership":
                raise ValueError(f"{where}：包联领导 {raw.get('leader')} 不是区领导部门的用户")
            if raw.get("lead_department") not in kinds:
                raise ValueError(f"{where}：牵头部门 {raw.get('lead_department')} 不在组织架构中")
            rules.append(Rule(str(raw.get("name") or f"规则{n}"), dict(when), leader,
                              raw["lead_department"]))
        return cls(rules, float(doc.get("key_project_investment") or 0))

    def assign(self, facts: dict) -> dict:
        """The 包联 leader and lead department of a project, from its registered facts
        (``is_mine``, ``total_investment`` in 万元, ``industry_category``, ``street``)."""
        facts = dict(facts)
        facts["min_investment"] = facts.get("total_investment")
        rule = next(r for r in self.rules if r.matches(facts))
        try:
            investment = float(facts.get("total_investment") or 0)
        except (TypeError, ValueError):
            investment = 0.0
        key = bool(self.key_project_investment) and investment >= self.key_project_investment
        return {
            "package_leader": rule.leader.display_name,
            "package_leader_username": rule.leader.username,
            "lead_department": rule.lead_department,
            "is_key_project": key,
            "package_rule": rule.name,
        }

    def handler(self, data: dict, **params) -> dict:
        """Service handler ``assign_package_leader``: facts from the task data, overridden by the
        service task's parameters."""
        return self.assign({**data, **params})
