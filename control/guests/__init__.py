"""Remote guests: the program mixer (video composition, audio mix and mix-minus) and its
MPEG-TS output to OBS.

The mixer never talks to WebRTC itself: a guest's pictures arrive through a ``FrameSource``
(``video.LatestFrame``) and its sound through ``AudioMixer.push``, so the aiortc gateway and
an SFU subscriber (the growth path in docs/scaling.md) feed it the same way.

One module per concept: ``layouts`` (boxes as data), ``video`` (frames, latest-frame holder,
compositor), ``slate`` (named placeholder pictures), ``audio`` (20 ms mixer, mix-minus),
``clock`` (a periodic thread), ``avframes`` (PyAV conversions), ``output`` (H.264/AAC in
MPEG-TS over UDP), ``mixer`` (the wiring of all of it behind one object).
"""
