"""Serving: a local KServe-v2 (Open Inference Protocol) endpoint that behaves like OpenVINO Model Server,
and the `jukebox predict` client.

Modules: `contract` (the model directory contract), `engine` (OpenVINO inference), `protocol` (v2 request
validation and response bodies), `server` (the aiohttp app), `client` (talking to any v2 endpoint),
`songs` (building feature rows), `report` (table, JSON, chart), `cli` (`jukebox serve`, `jukebox predict`).
"""
