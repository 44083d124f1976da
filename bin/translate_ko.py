"""Fill Korean translations into locale/ko/LC_MESSAGES/django.po from locale/ko/glossary.json.

Run after `manage.py makemessages -l ko`; then `manage.py compilemessages` (the .mo is committed,
so a machine without gettext still shows Korean).
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO_FILE = ROOT / "locale/ko/LC_MESSAGES/django.po"
GLOSSARY = json.loads((ROOT / "locale/ko/glossary.json").read_text(encoding="utf-8"))

text = PO_FILE.read_text(encoding="utf-8")
pattern = re.compile(r'msgid "((?:[^"\\]|\\.)*)"\nmsgstr ""\n(?!")')


def fill(match: re.Match[str]) -> str:
    source = match.group(1)
    translated = GLOSSARY.get(source.replace('\\"', '"'))
    if translated is None:
        return match.group(0)
    escaped = translated.replace('"', '\\"')
    return f'msgid "{source}"\nmsgstr "{escaped}"\n'


text = pattern.sub(fill, text).replace("#, fuzzy\n", "", 1)
text = text.replace(
    '"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"',
    '"Plural-Forms: nplurals=1; plural=0;\\n"',
)
PO_FILE.write_text(text, encoding="utf-8")
