"""The mixer's wiring: the show's desired outputs in, the metrics' read model out."""

from __future__ import annotations

import numpy as np
from guests.support import solid, tone

from control.guests.layouts import Program
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.video import LatestFrame
from control.metrics.guests import GuestCollector
from control.show.desired import Desired


def test_desired_outputs_drive_picture_and_sound() -> None:
    mixer = ProgramMixer(MixerSettings(port=1, layouts={"wide": [{"x": 0, "y": 0, "w": 100,
                                                                  "h": 50}]}))
    mixer.apply(Desired(program_scene="Remote Guest", transition=None, preview_scene=None,
                        guests=("zhu", "gou"), layout="two-up"))
    assert mixer.feed.program == Program(("zhu", "gou"), "two-up")
    assert mixer.audio.settings.on_air == ("zhu", "gou")
    holder = mixer.frames("zhu")
    assert isinstance(holder, LatestFrame) and mixer.frames("zhu") is holder
    mixer.set_program(Program(("zhu",), "wide"))  # a layout from config
    assert mixer.audio.settings.on_air == ("zhu",)


def test_stats_feed_the_metrics_collector() -> None:
    mixer = ProgramMixer(MixerSettings(port=1))
    mixer.set_program(Program(("zhu", "gou"), "two-up"))
    mixer.frames("zhu").put(solid("red", 64, 36))
    for guest in ("zhu", "gou"):
        mixer.push_audio(guest, tone(450.0, 4 * 960, 0.5))
    for _ in range(3):
        mixer._audio_tick(0, 0.0)  # the audio clock's tick, without its thread
    stats = mixer.stats()
    assert stats["audio_peak_dbfs"] > -1.0  # two guests at -6 dBFS: a hot mix
    peaks = {g["id"]: g["audio_peak_dbfs"] for g in stats["guests"]}
    assert np.isclose(peaks["zhu"], -6.02, atol=0.2) and np.isclose(peaks["gou"], -6.02, atol=0.2)
    names = {f.name for f in GuestCollector(lambda: stats["guests"], lambda: stats).collect()}
    assert {"showctl_mix_fps", "showctl_audio_peak_dbfs"} <= names
