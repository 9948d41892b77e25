"""版本对比 /admin/processes/<key>/diff?a=&b= and the one-file editor
/admin/processes/<key>/files/<name> (a DMN table or a form of the process's draft, edited alone).

The pages are shells: the admin bundle mounts the diagram comparison (``mountDiff``) and the
editors (``mountDmnEditor`` / ``mountFormEditor``, saving into the draft through the API)."""

from __future__ import annotations

from flask import current_app, g, render_template, request

from engine import NotFound

from ..errors import ApiError
from . import bp

FILE_KINDS = {".dmn": "dmn", ".form": "form", ".json": "form"}


def _engine():
    return current_app.extensions["kunflow"]


def _has_draft(key: str) -> bool:
    try:
        draft = _engine().get_process_draft(key, g.actor)
    except NotFound:
        return False
    # with no saved draft the engine offers the newest version as one (revision 0): not a draft
    return draft is not None and draft.saved


def _version_arg(name: str, versions: list[int], default, draft: bool):
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    if raw == "draft":
        if not draft:
            raise ApiError(404, "该流程没有草稿")
        return "draft"
    if not raw.isdigit() or int(raw) not in versions:
        raise ApiError(404, f"版本 {raw} 不存在")
    return int(raw)


@bp.get("/processes/<key>/diff")
def diff(key: str):
    definitions = _engine().list_definition_versions(key)  # NotFound -> 404 page
    versions = [d.version for d in definitions]
    draft = _has_draft(key)
    newest = versions[-1]
    default_b = "draft" if draft else newest
    default_a = newest if draft else (versions[-2] if len(versions) > 1 else newest)
    a = _version_arg("a", versions, default_a, draft)
    b = _version_arg("b", versions, default_b, draft)
    return render_template(
        "admin/diff.html", key=key, name=definitions[-1].name, definitions=definitions,
        draft=draft, a=a, b=b,
    )


@bp.get("/processes/<key>/files/<name>")
def edit_file(key: str, name: str):
    kind = next((k for suffix, k in FILE_KINDS.items() if name.endswith(suffix)), None)
    if kind is None or "/" in name or name.startswith("."):
        raise ApiError(404, f"不支持编辑文件“{name}”：只能编辑 .dmn 决策表和 .form 表单")
    definition = _engine().get_definition(key)  # the newest version; NotFound -> 404 page
    return render_template(
        "admin/file_editor.html", key=key, name=definition.name, filename=name, kind=kind,
        definition=definition,
    )
