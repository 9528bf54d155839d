"""The console's two languages: the same keys, the same placeholders, no key used but missing.

No browser needed: the dictionaries are JSON files next to the console's code, which uses
keys as string literals (`t("key")`, `data-i18n="key"`) except for the few families built
from a value (listed here with every value they can take).
"""

from __future__ import annotations

import json
import re

from rundowns import ROOT

from control.show.alarms import ALARM_CODES

STATIC = ROOT / "control" / "web" / "static"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# keys built from a value: `status.${status}`, `role.${role}`, `alarm.${level}`, ...
DYNAMIC = {
    *(f"status.{s}" for s in ("done", "on-air", "next", "pending", "skipped")),
    *(f"role.{r}" for r in ("director", "producer", "viewer")),
    *(f"alarm.{level}" for level in ("critical", "warning", "info")),
    *(f"alarm.code.{code}" for code in ALARM_CODES),
    *(f"confirm.{what}_{how}{part}" for what in ("stream", "record") for how in ("start", "stop")
      for part in ("", ".body")),
    *(f"ctl.{what}_{how}" for what in ("stream", "record") for how in ("start", "stop")),
}


def dictionary(lang: str) -> dict[str, str]:
    return json.loads((STATIC / f"i18n.{lang}.json").read_text("utf-8"))


def used_keys() -> set[str]:
    keys = set(DYNAMIC)
    for path in STATIC.glob("*.js"):
        keys |= set(re.findall(r"""\bt\(\s*["']([\w.\-]+)["']""", path.read_text("utf-8")))
    html = (STATIC / "index.html").read_text("utf-8")
    keys |= set(re.findall(r'data-i18n(?:-title|-placeholder|-aria)?="([\w.\-]+)"', html))
    return keys


def test_english_and_chinese_have_the_same_keys():
    en, zh = dictionary("en"), dictionary("zh")
    assert sorted(set(en) - set(zh)) == [], "keys missing in Chinese"
    assert sorted(set(zh) - set(en)) == [], "keys missing in English"


def test_both_languages_fill_the_same_placeholders():
    en, zh = dictionary("en"), dictionary("zh")
    for key in en:
        assert set(PLACEHOLDER.findall(en[key])) == set(PLACEHOLDER.findall(zh[key])), key


def test_every_key_the_console_uses_is_translated():
    en = dictionary("en")
    used = used_keys()
    assert len(used) > 50  # the scan found the console's keys
    assert sorted(used - set(en)) == []


def test_every_translation_is_used():
    # keys also travel as plain literals (a table of keys, a section's heading key)
    literals = set(used_keys())
    for path in STATIC.glob("*.js"):
        literals |= set(re.findall(r"""["']([a-z_]+\.[\w.\-]+)["']""", path.read_text("utf-8")))
    assert sorted(set(dictionary("en")) - literals) == []


def test_chinese_is_chinese():
    en, zh = dictionary("en"), dictionary("zh")
    cjk = re.compile(r"[\u4e00-\u9fff]")
    untranslated = [k for k, v in zh.items()
                    if v and not cjk.search(v) and not PLACEHOLDER.fullmatch(v) and v == en[k]
                    and re.search(r"[A-Za-z]{3,}", v)]
    assert untranslated == [], untranslated
