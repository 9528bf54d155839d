"""The standby wired, against a real etcd cluster: the leader's runner journals through etcd,
the follower mirrors the journal into its own local file, and after the leader goes silent
the follower leads and resumes the show from the mirror exactly as a restart would; the old
leader's next journal write is refused (fenced)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import until
from rundowns import ROOT

from control.cluster.client import EtcdClient
from control.cluster.members import EtcdMembers
from control.config import Settings
from control.journal.records import JournalError
from control.journal.store import journal_path, read_journal
from control.runner import Runner
from control.show.commands import Extend, SetMode
from control.wiring.cluster import Mirror, ReplicatedJournal, keys_for, make_cluster
from control.wiring.show import open_show, show_clock

pytestmark = pytest.mark.live
RUNDOWN = ROOT / "rundown" / "rehearsal.yaml"


def settings_for(name: str, etcd: EtcdMembers, state: Path) -> Settings:
    return replace(Settings(), state_dir=state, cluster_endpoints=tuple(etcd.endpoints),
                   cluster_name=name, cluster_url=f"http://{name}.test:8080",
                   cluster_peer_url="http://peer.test:8080")


def test_no_cluster_settings_no_cluster() -> None:
    assert make_cluster(Settings(), RUNDOWN) is None


async def test_the_follower_mirrors_the_journal_and_resumes_the_show_on_takeover(
        etcd: EtcdMembers, tmp_path: Path) -> None:
    main_settings = settings_for("main", etcd, tmp_path / "main")
    backup_settings = settings_for("backup", etcd, tmp_path / "backup")
    main, backup = make_cluster(main_settings, RUNDOWN), make_cluster(backup_settings, RUNDOWN)
    assert main is not None and backup is not None and main.keys == keys_for(RUNDOWN)
    mirror = Mirror(journal_path(backup_settings.state_dir, str(RUNDOWN)), backup.keys)
    follower = EtcdClient(etcd.endpoints)
    tasks: list[asyncio.Task[None]] = []
    try:
        main.node.start()
        await until(main.node.drives, timeout=10, what="main leads")
        backup.node.start()
        opened = open_show(RUNDOWN, main_settings, start="now")
        journal = ReplicatedJournal(opened.journal, main, asyncio.get_running_loop(), 1)
        contents = read_journal(opened.journal.path)
        await journal.seed([contents.session, *contents.records])
        runner = Runner(opened.state, journal, clock=show_clock(opened))
        tasks.append(asyncio.create_task(runner.run()))
        tasks.append(asyncio.create_task(mirror.run(follower)))
        await runner.command(SetMode("live"))
        await until(lambda: runner.state.on_air, timeout=10, what="the show starts")
        await runner.command(Extend(30_000))
        main_file = read_journal(opened.journal.path)
        await until(lambda: mirror.records == 1 + len(main_file.records), timeout=10,
                    what="the mirror has every record")
        mirrored = read_journal(mirror.path)
        assert mirrored.session == main_file.session
        assert mirrored.records == main_file.records
        await main.node.stop()  # main goes silent
        await until(backup.node.drives, timeout=8, what="backup takes over")
        mirror.close()
        resumed = open_show(RUNDOWN, backup_settings)
        assert resumed.resumed and resumed.state.mode == "live"
        assert resumed.state.on_air == runner.state.on_air
        assert resumed.state.rundown == runner.state.rundown
        resumed.journal.close()
        with pytest.raises(JournalError, match=r"no longer leads|does not lead|lease ended"):
            await asyncio.to_thread(journal.append_all, [{"v": 1, "type": "late"}])
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        mirror.close()
        for part in (main, backup):
            if part is not None:
                await part.node.stop()
                await part.client.close()
        await follower.close()
