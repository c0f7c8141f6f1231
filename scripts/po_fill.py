"""Fill a catalogue's translations from a Python file that defines ``T = {msgid: msgstr}``.

    .venv/bin/python scripts/po_fill.py src/okpay/web/locale/zh_Hans/LC_MESSAGES/django.po zh_Hans translations.py

Sets the header (language, charset), clears the fuzzy flag, reports msgids still untranslated.
"""

from __future__ import annotations

import runpy
import sys

import polib


def main(po_path: str, language: str, table_path: str) -> int:
    table: dict[str, str] = runpy.run_path(table_path)["T"]
    po = polib.pofile(po_path)
    po.metadata.update({"Language": language, "Content-Type": "text/plain; charset=UTF-8",
                        "Project-Id-Version": "OKPay", "Language-Team": "OKPay"})
    po.metadata_is_fuzzy = False
    missing = []
    for entry in po:
        if entry.msgid in table:
            entry.msgstr = table[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        elif not entry.msgstr:
            missing.append(entry.msgid)
    po.save(po_path)
    for msgid in missing:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
