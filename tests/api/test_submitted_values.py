"""Submitted data as the case timeline shows it (web/caseworker/submitted.py): every JSON shape
reads, labelled by the form where the form knows it; nothing raises."""

from __future__ import annotations

from engine.forms import FieldLabel
from web.caseworker.submitted import MAX_ITEMS, Shown, show, submitted_pairs

UNIT = FieldLabel("责任单位", {"drc": "区发改委", "eco": "区生态环境分局"})
LEDGER = FieldLabel("督查台账", nested={"row_id": FieldLabel("台账编号"), "unit": UNIT})
FILES = {"a" * 32: "现场照片.png"}


def text(value, field=None) -> str:
    shown = show(value, field, FILES)
    assert shown.kind == "text", shown
    return shown.text


def test_plain_values_read_as_text_with_option_labels():
    assert [text(v) for v in (None, True, False, "文本", 3, 2.5, {}, [])] == [
        "—", "是", "否", "文本", "3", "2.5", "—", "—"]
    assert text("drc", UNIT) == "区发改委" and text("other", UNIT) == "other"
    assert text(["drc", "eco", 1, None], UNIT) == "区发改委、区生态环境分局、1、—"  # a checklist
    many = text(list(range(MAX_ITEMS + 5)))
    assert many.endswith(f" 等 {MAX_ITEMS + 5} 项") and f"、{MAX_ITEMS}" not in many


def test_attachment_ids_read_as_links():
    shown = show(["a" * 32, "not-uploaded"], None, FILES)
    assert shown == Shown("files", links=(("a" * 32, "现场照片.png"), (None, "not-uploaded")))
    assert show(["b" * 32], FieldLabel("附件", files=True), FILES).kind == "files"


def test_a_list_of_rows_is_a_table_with_the_lists_labels():
    rows = [{"row_id": "DB-01", "unit": "drc"}, {"row_id": "DB-02", "extra": {"k": [1]}}]
    table = show(rows, LEDGER, FILES)
    assert table.kind == "table"
    assert table.columns == (("row_id", "台账编号"), ("unit", "责任单位"), ("extra", "extra"))
    first, second = table.rows
    assert [c.text for c in first] == ["DB-01", "区发改委", ""]  # a missing cell is blank
    assert second[2].kind == "pairs" and second[2].pairs[0][2].text == "1"
    unlabelled = show(rows, None, FILES)
    assert unlabelled.columns[1] == ("unit", "unit") and unlabelled.rows[0][1].text == "drc"


def test_objects_mixed_lists_and_deep_nesting_read_without_error():
    shown = show({"unit": "eco", "list": [[1, 2], "x"]}, LEDGER, FILES)
    assert shown.kind == "pairs"
    (label, key, unit), (_, _, mixed) = shown.pairs
    assert (label, key, unit.text) == ("责任单位", "unit", "区生态环境分局")
    assert mixed.kind == "items" and mixed.items[0].text == "1、2"
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    leaf = show(deep, None, FILES)
    for _ in range(4):
        leaf = leaf.pairs[0][2]
    assert leaf == Shown("text", '{"e": {"f": 1}}')  # the rest as JSON text
    huge = show([{"n": i} for i in range(MAX_ITEMS + 1)], None, FILES)
    assert len(huge.rows) == MAX_ITEMS and huge.more == 1


def test_a_completion_reads_as_labelled_pairs_whatever_it_holds():
    pairs = submitted_pairs({"ledger": [{"unit": "drc"}], "note": "说明", "7": None},
                            {"ledger": LEDGER}, FILES)
    assert [(label, key) for label, key, _ in pairs] == [
        ("督查台账", "ledger"), ("note", "note"), ("7", "7")]
    assert pairs[0][2].rows[0][0].text == "区发改委"
    ((label, key, value),) = submitted_pairs(["not", "an", "object"], {}, FILES)
    assert (label, key, value.text) == ("提交的数据", "data", "not、an、object")
