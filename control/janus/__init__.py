"""Janus (Debian's janus, VideoRoom plugin, HTTP API) as the SFU in front of the mixer:
the sans-I/O API (protocol), its asyncio client, RTP forwarders received and decoded
(forward), a private Janus for tests (server). docs/scaling.md says what is built."""
