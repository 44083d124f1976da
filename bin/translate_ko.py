"""Fill Korean translations into locale/ko/LC_MESSAGES/django.po from locale/ko/glossary.json.

Run after `manage.py makemessages -l ko`; then `manage.py compilemessages` (the .mo is committed,
so a machine without gettext still shows Korean).

The glossary maps the English msgid (placeholders such as %(name)s kept as they are) to Korean.
A msgid with a context (pgettext) is looked up as "context\\x04msgid" first, then as the msgid.
Plural entries (ngettext) are looked up by their singular msgid; Korean has one form
(nplurals=1), which goes into msgstr[0]. Every entry the glossary fills loses its fuzzy flag
(makemessages guesses fuzzy translations from similar strings; the guess is replaced).

    bin/translate_ko.py            fill the .po; list msgids still without Korean
    bin/translate_ko.py --missing  print the untranslated msgids as a JSON object to fill in
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO_FILE = ROOT / "locale/ko/LC_MESSAGES/django.po"
GLOSSARY_FILE = ROOT / "locale/ko/glossary.json"
HEADER = {
    "Project-Id-Version": "cdp",
    "PO-Revision-Date": "2026-01-01 00:00+0900",
    "Last-Translator": "cdp contributors (bin/translate_ko.py, locale/ko/glossary.json)",
    "Language-Team": "Korean",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def unquote(lines: list[str]) -> str:
    return "".join(json.loads(line) for line in lines)


def quote(text: str) -> list[str]:
    """A msgstr value as .po lines: one line, or "" then one line per embedded newline."""
    if "\n" not in text[:-1]:
        return [json.dumps(text, ensure_ascii=False)]
    parts = text.split("\n")
    pieces = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return ['""'] + [json.dumps(piece, ensure_ascii=False) for piece in pieces]


class Entry:
    """One block of the .po file, kept as its lines except for what we rewrite."""

    def __init__(self, lines: list[str]) -> None:
        self.comments: list[str] = []
        self.fields: dict[str, list[str]] = {}
        self.order: list[str] = []
        current = ""
        for line in lines:
            if line.startswith("#"):
                self.comments.append(line)
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line)
            if match:
                current = match.group(1)
                self.order.append(current)
                self.fields[current] = [match.group(2)]
            elif line.startswith('"') and current:
                self.fields[current].append(line)

    def get(self, name: str) -> str | None:
        return unquote(self.fields[name]) if name in self.fields else None

    @property
    def is_header(self) -> bool:
        return self.get("msgid") == ""

    @property
    def is_fuzzy(self) -> bool:
        return any(line.startswith("#,") and "fuzzy" in line for line in self.comments)

    @property
    def is_translated(self) -> bool:
        values = [self.get(name) for name in self.order if name.startswith("msgstr")]
        return bool(values) and all(values)

    def set_translation(self, text: str) -> None:
        names = [name for name in self.order if name.startswith("msgstr")]
        for name in names:
            self.fields[name] = quote(text)
        comments = []
        for line in self.comments:
            if line.startswith("#|"):
                continue  # the previous msgid of a fuzzy guess
            if line.startswith("#,"):
                flags = [flag.strip() for flag in line[2:].split(",") if flag.strip() != "fuzzy"]
                if not flags:
                    continue
                line = "#, " + ", ".join(flags)
            comments.append(line)
        self.comments = comments

    def render(self) -> str:
        lines = list(self.comments)
        for name in self.order:
            values = self.fields[name]
            lines.append(f"{name} {values[0]}")
            lines.extend(values[1:])
        return "\n".join(lines)


def parse(text: str) -> list[Entry]:
    blocks = [block for block in text.strip("\n").split("\n\n") if block.strip()]
    return [Entry(block.split("\n")) for block in blocks]


def lookup(entry: Entry, glossary: dict[str, str]) -> str | None:
    msgid = entry.get("msgid") or ""
    context = entry.get("msgctxt")
    if context is not None and f"{context}\x04{msgid}" in glossary:
        return glossary[f"{context}\x04{msgid}"]
    return glossary.get(msgid)


def placeholders_match(entry: Entry, korean: str) -> bool:
    source = (entry.get("msgid_plural") or entry.get("msgid") or "") + (entry.get("msgid") or "")
    wanted = set(PLACEHOLDER.findall(source))
    return set(PLACEHOLDER.findall(korean)) <= wanted and (
        entry.get("msgid_plural") is not None or wanted <= set(PLACEHOLDER.findall(korean))
    )


def main() -> int:
    glossary: dict[str, str] = json.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))
    entries = parse(PO_FILE.read_text(encoding="utf-8"))
    missing: dict[str, str] = {}
    problems: list[str] = []
    for entry in entries:
        if entry.is_header:
            header = entry.get("msgstr") or ""
            header = re.sub(r"Plural-Forms: [^\n]*", "Plural-Forms: nplurals=1; plural=0;", header)
            header = header.replace("Language: \n", "Language: ko\n")
            for field, value in HEADER.items():
                header = re.sub(rf"{field}: [^\n]*", f"{field}: {value}", header)
            entry.fields["msgstr"] = quote(header)
            entry.set_translation(header)
            continue
        korean = lookup(entry, glossary)
        msgid = entry.get("msgid") or ""
        if korean is None:
            # The glossary is the source of truth: a msgstr it does not hold is a guess of
            # makemessages (fuzzy matching) or a leftover, never a reviewed translation.
            key = msgid if entry.get("msgctxt") is None else f"{entry.get('msgctxt')}\x04{msgid}"
            missing[key] = entry.get("msgstr") or entry.get("msgstr[0]") or ""
            continue
        if not placeholders_match(entry, korean):
            problems.append(f"placeholders differ: {msgid!r} -> {korean!r}")
            continue
        entry.set_translation(korean)
    PO_FILE.write_text("\n\n".join(entry.render() for entry in entries) + "\n", encoding="utf-8")
    if "--missing" in sys.argv:
        print(json.dumps(missing, ensure_ascii=False, indent=1))
    else:
        for problem in problems:
            print(problem, file=sys.stderr)
        if missing:
            print(f"{len(missing)} msgids have no Korean yet:", file=sys.stderr)
            for msgid, guess in missing.items():
                print(f"  {msgid!r} (now {guess!r})", file=sys.stderr)
    return 1 if problems or missing else 0


if __name__ == "__main__":
    sys.exit(main())
