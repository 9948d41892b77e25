"""Where a rule of the process library comes from (issue 12, contract §2): the gazette, a
statute, or the district's own setting. Shared by test_sources.py (the diagrams' `source`
properties and the DMN rules' descriptions) and test_traceability.py (docs/traceability.md).

A gazette quote is the text between “ and ”, copied from the seed text of the gazette beside
the checkout (../shared/seeds). The comparison ignores whitespace (the seed breaks lines inside
sentences); a quote nested in a quote is written ‘…’ (the seed writes it “…”); an ellipsis (…)
inside a quote leaves words out, and the pieces must then occur in that order."""

from __future__ import annotations

import functools
import re

from tests.conftest import ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
PREFIXES = ("gazette:", "statute:", "local:")
QUOTE = re.compile(r"“([^“”]+)”")
ELLIPSIS = re.compile(r"…+")
LAW = re.compile(r"《[^《》]+》")
ARTICLE = re.compile(r"第[一二三四五六七八九十百零〇\d]+条")


def squash(text: str) -> str:
    """Text without whitespace, nested quotes written as the seed writes them."""
    return re.sub(r"\s+", "", text).replace("‘", "“").replace("’", "”")


@functools.cache
def seed_text() -> str:
    """The gazette (2026 No. 1) as the seed gives it, whitespace removed."""
    files = sorted(SEEDS.glob("000_*.txt"))
    assert files, f"the gazette's seed text is not beside the checkout ({SEEDS})"
    return squash(files[0].read_text(encoding="utf-8"))


def quotes(text: str) -> list[str]:
    return QUOTE.findall(text)


def quote_in_gazette(quote: str) -> bool:
    """The quote occurs in the gazette; with an ellipsis, its pieces occur in that order."""
    seed, at = seed_text(), 0
    for piece in (p for p in ELLIPSIS.split(squash(quote)) if p):
        found = seed.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def misquoted(text: str) -> list[str]:
    """The quotes of ``text`` that the gazette does not contain."""
    return [q for q in quotes(text) if not quote_in_gazette(q)]


def source_problem(value: str | None) -> str | None:
    """Why a `source` value (or a DMN rule description) is not a valid source mark, or None.

    - `gazette: “…”`: at least one quote, every quote copied from the gazette;
    - `statute: 《law》第N条 …`: the law in 《》 and its article;
    - `local: …`: what the district decided (any quote in it is the gazette's too)."""
    text = (value or "").strip()
    if not text:
        return "missing (gazette: “…” / statute: 《law》第N条 / local: …)"
    if not text.startswith(PREFIXES):
        return f"does not start with gazette: / statute: / local: ({text[:40]!r})"
    kind = text.split(":", 1)[0]
    if kind == "gazette" and not quotes(text):
        return "gazette without a “…” quote"
    if kind == "statute":
        if not LAW.search(text) or not ARTICLE.search(text):
            return "statute without 《law》 and 第N条"
        return None
    bad = misquoted(text)
    if bad:
        return f"quotes not in the gazette: {bad}"
    return None
