"""The guest's full-quality recording (ISO) in Firefox ESR (Debian's, through
tests/firefox.py), as test_iso_browser.py does it in Chromium: recorded while on air, held at
chunk 2 and the tab closed, completed from a new tab of the same browser; the file whole,
decodable to the end, as long as the time on air. Re-runs itself in a loopback-only
namespace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from firefox import FIREFOX, FirefoxError, available, launch_firefox
from guests.test_iso_browser import check_file, recorded_and_resumed
from helpers import until
from netns import only_inside, rerun_inside

pytestmark = [pytest.mark.browser, pytest.mark.live]
INNER = "SHOWCTL_TEST_NETNS_ISO_FIREFOX"


def test_iso_firefox_in_a_loopback_namespace():
    out = rerun_inside(__file__, "::test_firefox_records_and_resumes -s", INNER, timeout=300,
                       needs=(FIREFOX, "node", "ffmpeg", "ffprobe"))
    print(*(line[line.index("ISO:"):] for line in out.splitlines() if "ISO:" in line), sep="\n")


@pytest.mark.timeout(280)
async def test_firefox_records_and_resumes(tmp_path: Path):
    only_inside(INNER, "test_iso_firefox_in_a_loopback_namespace")
    if why := available():
        pytest.skip(why)
    async with launch_firefox() as firefox:  # one browser: its IndexedDB, its rejoin secret
        # the first tab stays blank: closing the guest's tab must not close the window
        async def open_tab(link: str) -> Any:
            tab = await firefox.new_page()
            await tab.goto(link)

            async def loaded() -> bool:
                try:
                    return bool(await tab.evaluate("window.showctlGuest !== undefined"))
                except FirefoxError:  # still navigating: no context to evaluate in yet
                    return False

            await until(loaded, 15, "the page's script", interval=0.1)
            return tab

        got = await recorded_and_resumed(tmp_path, open_tab)
    check_file(got, f"firefox {firefox.version}")
