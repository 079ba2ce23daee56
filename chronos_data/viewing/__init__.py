"""Viewing: how students watch, from the player's first event to the dashboards.

- ``watching``: a watch session as a player records it (start, progress, rewinds, end).
- ``event_batch`` and ``event_import``: events sent in batches (the collector) and from files.
- ``played``: played ranges, the measure of how far a viewing got.
- ``rollups`` and ``students``: the daily rollups and student sets the dashboards read.
- ``dashboards``: the Analytics page's numbers; ``usage``: what the workspace used and spent.
- ``analytics``: the seeds' event vocabulary and ``track_video_event``.
"""
