"""A video player that reports what the viewer really watched (Streamlit components v2).

YouTube videos play through the YouTube IFrame API, uploaded files in an HTML5 ``<video>``.
While the video plays the component sends one event every few seconds, and one on play, pause,
a jump back and the end: ``{"kind", "position", "watched", "duration", "from", "seq"}``, where
``watched`` counts seconds actually played (not skipped) in this page view. The page turns them
into a watch session with ``chronos_data.watching``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

__all__ = ["REPORT_EVERY_SECONDS", "render_tracking_player"]

REPORT_EVERY_SECONDS = 5  # often enough for 10 % milestones of a 1-minute video, rare enough to keep reruns cheap

_JS = """
export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  const box = parentElement.querySelector('.chronos-player');
  if (box.dataset.mounted === data.token) { return; }
  box.dataset.mounted = data.token;
  box.innerHTML = '';
  let watched = 0, last = null, seq = 0, timer = null, lastSent = 0;
  const send = (kind, position, duration, extra) => {
    seq += 1;
    setTriggerValue('event', Object.assign({kind, position, watched: Math.round(watched), duration, seq}, extra || {}));
  };
  const tick = (position, duration) => {
    if (last !== null) {
      const step = position - last;
      if (step > 0 && step < 3) { watched += step; }
      else if (step < -1) { send('seek', position, duration, {from: last}); }
    }
    last = position;
    if (Date.now() - lastSent > data.every * 1000) { lastSent = Date.now(); send('progress', position, duration); }
  };
  if (data.src) {
    const video = document.createElement('video');
    video.src = data.src; video.controls = true; video.muted = !!data.muted; video.playsInline = true;
    video.style.width = '100%'; video.style.maxHeight = '460px';
    if (data.start) { video.currentTime = data.start; }
    video.addEventListener('play', () => { last = video.currentTime; send('play', video.currentTime, video.duration); });
    video.addEventListener('timeupdate', () => tick(video.currentTime, video.duration));
    video.addEventListener('pause', () => { if (!video.ended) send('pause', video.currentTime, video.duration); });
    video.addEventListener('ended', () => send('ended', video.duration, video.duration));
    box.appendChild(video);
    box.dataset.ready = 'html5';
    return;
  }
  const holder = document.createElement('div');
  box.appendChild(holder);
  const start = () => {
    const player = new window.YT.Player(holder, {
      width: '100%', height: '420', videoId: data.youtube,
      playerVars: {start: data.start || 0, rel: 0, modestbranding: 1},
      events: {
        onStateChange: (event) => {
          const position = player.getCurrentTime(), duration = player.getDuration();
          if (event.data === window.YT.PlayerState.PLAYING) {
            last = position; send('play', position, duration);
            clearInterval(timer);
            timer = setInterval(() => tick(player.getCurrentTime(), player.getDuration()), 1000);
          } else if (event.data === window.YT.PlayerState.PAUSED) {
            clearInterval(timer); send('pause', position, duration);
          } else if (event.data === window.YT.PlayerState.ENDED) {
            clearInterval(timer); send('ended', duration, duration);
          }
        },
      },
    });
    box.dataset.ready = 'youtube';
  };
  if (window.YT && window.YT.Player) { start(); return; }
  const previous = window.onYouTubeIframeAPIReady;
  window.onYouTubeIframeAPIReady = () => { if (previous) previous(); start(); };
  if (!document.querySelector('script[data-chronos-yt]')) {
    const script = document.createElement('script');
    script.src = 'https://www.youtube.com/iframe_api'; script.dataset.chronosYt = '1';
    script.onerror = () => { box.textContent = 'The YouTube player could not load (offline?).'; };
    document.head.appendChild(script);
  }
}
"""

_player = st.components.v2.component("chronos_tracking_player", html='<div class="chronos-player"></div>', js=_JS,
                                     isolate_styles=False)


def render_tracking_player(*, key: str, token: str, youtube_id: str | None = None, src: str | None = None,
                           start_seconds: int = 0, muted: bool = False) -> dict[str, Any] | None:
    """Mount the player; returns the event that caused this rerun (or None).

    Args:
        token: changes when another video is shown (the player is rebuilt only then).
        src: a URL the browser can load for an uploaded file; ``youtube_id`` otherwise.
    """
    result = _player(key=key, data={"token": token, "youtube": youtube_id, "src": src, "start": start_seconds,
                                    "every": REPORT_EVERY_SECONDS, "muted": muted},
                     on_event_change=lambda: None)
    return getattr(result, "event", None)
