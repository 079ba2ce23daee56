"""A video player that reports what the viewer really watched (Streamlit components v2).

YouTube videos play through the YouTube IFrame API, uploaded files in an HTML5 ``<video>``.
While the video plays the component sends one event every few seconds, and one on play, pause,
a jump back and the end: ``{"kind", "viewing", "position", "watched", "duration", "played", "from",
"seq"}``. ``viewing`` names one viewing: a new one each time the player is mounted (every visit of
the page) and for each play after the end. ``played`` lists the ranges of the video played in
that viewing, merged (``[[start, end], ...]`` seconds; a jump forward plays nothing in between),
and ``watched`` counts the seconds played in it. Each event carries the whole viewing so far, so
one swallowed in a burst of reruns costs nothing but its kind; the latest is sent again until the
page says it recorded it (``on_event``). The preview page records them with
``chronos_data.viewing.watching.record_player_event``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

__all__ = ["REPORT_EVERY_SECONDS", "RESEND_SECONDS", "render_tracking_player"]

REPORT_EVERY_SECONDS = 5  # often enough for 10 % milestones of a 1-minute video, rare enough to keep reruns cheap
RESEND_SECONDS = 3  # an event not recorded after this long is sent again; a slow rerun's duplicate changes nothing

_JS = """
export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  const box = parentElement.querySelector('.chronos-player');
  // Each rerun hands over a fresh setTriggerValue and what the page recorded last; the listeners
  // below outlive the first call.
  box.chronosSend = setTriggerValue;
  box.chronosRecorded = data.recorded;
  if (box.dataset.mounted === data.token) { return; }
  box.dataset.mounted = data.token;
  box.innerHTML = '';
  // One viewing runs from this mount, or from a play after the end, to the end: the page records
  // each in a watch session of its own. Played ranges are the spans actually played in it.
  let viewing, watched, ranges, run, last, finished, seq = 0, timer = null, lastSent = 0;
  let pending = null, pendingAt = 0;  // the latest event sent, and when
  const begin = () => {
    viewing = Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
    watched = 0; ranges = []; run = null; last = null; finished = false;
  };
  begin();
  // A step longer than this between two readings is a jump (YouTube does not say when it jumps).
  const maxStep = data.src ? Infinity : 3;
  const START_SLACK = 0.5;
  const played = () => {
    const all = (run ? ranges.concat([run]) : ranges).filter(r => r[1] > r[0]).map(r => [r[0], r[1]]);
    all.sort((a, b) => a[0] - b[0]);
    const merged = [];
    for (const r of all) {
      const top = merged[merged.length - 1];
      if (top && r[0] <= top[1]) { top[1] = Math.max(top[1], r[1]); } else { merged.push(r); }
    }
    return merged.map(r => [Math.round(r[0] * 100) / 100, Math.round(r[1] * 100) / 100]);
  };
  const send = (kind, position, duration, extra) => {
    seq += 1;
    pending = Object.assign({kind, viewing, position, watched: Math.round(watched),
      duration: Number.isFinite(duration) ? duration : null, played: played(), seq}, extra || {});
    pendingAt = Date.now();
    box.chronosSend('event', pending);
  };
  // A trigger sent while the page reruns can be swallowed by the next one, and the last event of
  // a viewing (its end) has no next one: until the page says it recorded the latest event, send
  // it again. Each event carries the whole viewing, so recording one twice changes nothing.
  const recorded = () => {
    const r = box.chronosRecorded;
    return r && r.viewing === pending.viewing && r.seq >= pending.seq;
  };
  const watchdog = setInterval(() => {
    if (!box.isConnected) { clearInterval(watchdog); clearInterval(timer); return; }
    if (data.resend && pending && !recorded() && Date.now() - pendingAt > data.resend * 1000) {
      seq += 1;
      pending = Object.assign({}, pending, {seq, kind: pending.kind === 'ended' ? 'ended' : 'progress'});
      delete pending.from;  // a jump back is kept once
      pendingAt = Date.now();
      box.chronosSend('event', pending);
    }
  }, 1000);
  // The playhead moved to position without playing: a new range starts there.
  const jump = (position, duration) => {
    const from = last;
    if (run) { ranges = ranges.concat([run]); }
    // A play from the start is first read a frame or two in: count it from 0:00.
    run = [position < START_SLACK ? 0 : position, position]; last = position;
    // A jump back over something played (the browser's own return to 0:00 on a replay is not one).
    if (from !== null && position < from - 1 && played().length) {
      send('seek', position, duration, {from}); lastSent = Date.now();
    }
  };
  // Reads the playhead: a step forward was played, anything else is a jump.
  const advance = (position, duration) => {
    const step = last === null ? null : position - last;
    if (step !== null && step >= 0 && step < maxStep) { watched += step; run[1] = position; last = position; }
    else { jump(position, duration); }
  };
  const tick = (position, duration) => {
    if (finished) { return; }
    advance(position, duration);
    if (Date.now() - lastSent > data.every * 1000) { lastSent = Date.now(); send('progress', position, duration); }
  };
  const started = (position, duration) => {
    if (finished) { begin(); }
    advance(position, duration); send('play', position, duration);
  };
  const ended = (duration) => {
    if (finished) { return; }
    advance(duration, duration); finished = true; send('ended', duration, duration);
  };
  if (data.src) {
    const video = document.createElement('video');
    video.src = data.src; video.controls = true; video.muted = !!data.muted; video.playsInline = true;
    video.style.width = '100%'; video.style.maxHeight = '460px';
    if (data.start) { video.currentTime = data.start; }
    video.addEventListener('seeking', () => { if (!finished) jump(video.currentTime, video.duration); });
    video.addEventListener('play', () => started(video.currentTime, video.duration));
    // While a jump is under way the playhead already reads its target: the seeking event counts it.
    video.addEventListener('timeupdate', () => { if (!video.seeking) tick(video.currentTime, video.duration); });
    video.addEventListener('pause', () => { if (!video.ended) send('pause', video.currentTime, video.duration); });
    video.addEventListener('ended', () => ended(video.duration));
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
            started(position, duration);
            clearInterval(timer);
            timer = setInterval(() => tick(player.getCurrentTime(), player.getDuration()), 1000);
          } else if (event.data === window.YT.PlayerState.PAUSED) {
            clearInterval(timer); send('pause', position, duration);
          } else if (event.data === window.YT.PlayerState.ENDED) {
            clearInterval(timer); ended(duration);
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
                           start_seconds: int = 0, muted: bool = False,
                           on_event: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any] | None:
    """Mount the player; returns the event that caused this rerun (or None).

    Args:
        token: changes when another video is shown (the player is rebuilt only then).
        src: a URL the browser can load for an uploaded file; ``youtube_id`` otherwise.
        on_event: records one event; returns False to have it sent again (the database was
            out of reach). It runs as the widget's callback, before the page script, so the
            player hears in the same rerun that its event was recorded; an event it does not
            hear back about within ``RESEND_SECONDS`` is sent again.
    """
    recorded_key = f"{key}__recorded"

    def handle() -> None:
        event = (st.session_state.get(key) or {}).get("event")
        if not isinstance(event, dict):
            return
        if on_event is not None and not on_event(event):
            return
        st.session_state[recorded_key] = {"viewing": event.get("viewing"), "seq": event.get("seq")}

    result = _player(key=key, data={"token": token, "youtube": youtube_id, "src": src, "start": start_seconds,
                                    "every": REPORT_EVERY_SECONDS, "muted": muted,
                                    "resend": RESEND_SECONDS if on_event else 0,
                                    "recorded": st.session_state.get(recorded_key)},
                     on_event_change=handle)
    return getattr(result, "event", None)
