"""Reusable UI pieces, the cached resources pages share, and pure plotly figure builders."""
