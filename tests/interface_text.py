"""Find English interface texts left on a Japanese page: any catalogue msgid shown untranslated.

The page's visible text is read node by node; elements marked lang="en" (reviewers' English
notes, a country's English name) and <code> are skipped, since they are English on purpose.
A one-word msgid ("Route") counts only when it is a whole text node, so the word inside a
recipient's or a law's own name does not; a longer one counts wherever it appears, with its
placeholders matching anything.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).resolve().parent.parent / "transfer_gate" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@functools.cache
def _matchers() -> tuple[tuple[str, re.Pattern, bool], ...]:
    with open(CATALOGUE, "rb") as f:
        catalogue = read_po(f, locale="ja")
    out = []
    for message in catalogue:
        msgids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for msgid in msgids:
            literal = _PLACEHOLDER.sub("", msgid).strip(" :.,;“”")
            if not msgid or len(literal) < 3 or msgid in strings:
                continue
            pattern = ".+?".join(re.escape(part) for part in _PLACEHOLDER.split(msgid.replace("%%", "%")))
            whole = " " not in msgid.strip()
            out.append((msgid, re.compile(rf"^\W*{pattern}\W*$" if whole else pattern), whole))
    return tuple(out)


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its text skipped?
        self.nodes: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        attrs = dict(attrs)
        skipped = bool(self.stack and self.stack[-1]) or tag in ("code", "script", "style") or attrs.get("lang") == "en"
        self.stack.append(skipped)

    def handle_endtag(self, tag):
        if tag not in _VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not (self.stack and self.stack[-1]):
            self.nodes.append(text)


def english_interface_texts(html: str) -> list[str]:
    """Every catalogue msgid that the page shows in English (for a page that should be Japanese)."""
    body = html.split("<body", 1)[-1]
    parser = _VisibleText()
    parser.feed(body)
    found = []
    for msgid, pattern, _whole in _matchers():
        if any(pattern.search(node) for node in parser.nodes):
            found.append(msgid)
    return found
