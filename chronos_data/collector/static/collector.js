/* Chronos viewing collector: sends what a student really watched to Chronos, in batches.

   On the page that plays your lessons:

     <script src="https://YOUR-COLLECTOR/v1/collector.js" data-key="chr_..." data-student="student@example.com"></script>
     <video src="lesson-1.mp4" controls data-chronos-video="Lesson 1"></video>

   data-chronos-video names the Chronos video: its id, its YouTube id or its exact title. Videos
   added later, and a student known only after sign-in, are told with
     Chronos.track(videoElement, {video: "Lesson 1"})
     Chronos.trackYouTube(youtubePlayer, {video: "dQw4w9WgXcQ"})   // a YT.Player of the IFrame API
     Chronos.identify("student@example.com")

   A viewing runs from a play to the end (a play after the end starts another). Each report
   carries the ranges played so far ([[start, end], ...] seconds; a jump forward plays nothing in
   between), so Chronos counts milestones and completion from what was watched, not from where
   the playhead went, and a lost report costs nothing but its moment. Every row has an id of its
   own: a batch sent twice (a retry after a timeout) is stored once. Reports wait in a queue sent
   every few seconds, on pause and end, and when the page is hidden or closed. */
(function () {
  'use strict';
  if (window.Chronos && window.Chronos.version) { return; }
  var script = document.currentScript;
  var settings = {
    endpoint: script ? new URL('/v1/events', script.src).href : null,
    key: script ? script.getAttribute('data-key') : null,
    student: script ? script.getAttribute('data-student') : null,
    every: Number(script && script.getAttribute('data-every')) || 10,
  };
  var SEND_EVERY_MS = 4000;
  var MAX_BATCH = 500;  // rows per request; the collector takes up to 10,000
  var MAX_QUEUE = 5000;  // rows kept while the collector cannot be reached (the oldest are dropped first)
  var MAX_STEP = 3;  // seconds; a longer step between two readings of the playhead is a jump
  var queue = [];
  var sending = false;
  var retryAt = 0;
  var backoff = 2000;
  var failures = 0;  // sends that did not reach the collector or were refused by the browser (CORS)

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') { return window.crypto.randomUUID(); }
    var hex = '';
    for (var i = 0; i < 32; i++) { hex += Math.floor(Math.random() * 16).toString(16); }
    return hex;
  }

  function device() {
    var ua = navigator.userAgent || '';
    if (/iPad|Tablet/i.test(ua) || (/Android/i.test(ua) && !/Mobile/i.test(ua))) { return 'tablet'; }
    return /Mobi|iPhone|Android/i.test(ua) ? 'mobile' : 'desktop';
  }

  function send(keepalive) {
    if (sending || !queue.length || !settings.endpoint || !settings.key) { return; }
    if (!keepalive && Date.now() < retryAt) { return; }
    var batch = queue.slice(0, MAX_BATCH);
    sending = true;
    // The key rides in the address and the body is sent as text: a "simple" request, which needs
    // no preflight (a preflight carries no key, so it could not be checked against the key's
    // origins) and which a closing page may still send. The collector checks the page's Origin
    // against the key's origins and answers a page it does not allow without CORS headers.
    fetch(settings.endpoint + '?key=' + encodeURIComponent(settings.key), {
      method: 'POST', keepalive: !!keepalive, mode: 'cors', credentials: 'omit',
      headers: {'Content-Type': 'text/plain;charset=UTF-8'},
      body: JSON.stringify(batch),
    }).then(function (response) {
      if (response.status === 429 || response.status >= 500) {
        var wait = Number(response.headers.get('Retry-After'));
        throw new Error(wait > 0 ? String(wait * 1000) : '');
      }
      // Stored, duplicates and rejected rows alike leave the queue: sending a refused row again
      // would be refused again. Say why, for whoever wires the player.
      queue.splice(0, batch.length);
      backoff = 2000; retryAt = 0;
      return response.json().then(function (answer) {
        if (!response.ok) { console.warn('Chronos collector refused the batch:', answer.error || response.status); }
        else if (answer.rejected && answer.rejected.length) { console.warn('Chronos collector rejected rows: ' + JSON.stringify(answer.rejected)); }
      }, function () {});
    }).catch(function (error) {
      // Not reached, or busy: the rows stay queued and go again later, with their ids.
      failures += 1;
      var wait = Number(error && error.message);
      retryAt = Date.now() + (wait > 0 ? wait : backoff);
      backoff = Math.min(backoff * 2, 60000);
    }).then(function () {
      sending = false;
      if (queue.length && !retryAt) { send(false); }
    });
  }

  function enqueue(row) {
    queue.push(row);
    if (queue.length > MAX_QUEUE) { queue.splice(0, queue.length - MAX_QUEUE); }
  }

  function Viewing(video, readPosition, readDuration) {
    this.video = video;
    this.read = readPosition;
    this.duration = readDuration;
    this.session = null;
  }
  Viewing.prototype.begin = function () {
    this.session = newId();
    this.ranges = []; this.run = null; this.last = null; this.watched = 0; this.finished = false;
    this.lastReport = 0;
  };
  Viewing.prototype.played = function () {
    var all = (this.run ? this.ranges.concat([this.run]) : this.ranges).filter(function (r) { return r[1] > r[0]; })
      .map(function (r) { return [r[0], r[1]]; });
    all.sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    all.forEach(function (r) {
      var top = merged[merged.length - 1];
      if (top && r[0] <= top[1]) { top[1] = Math.max(top[1], r[1]); } else { merged.push(r); }
    });
    return merged.map(function (r) { return [Math.round(r[0] * 100) / 100, Math.round(r[1] * 100) / 100]; });
  };
  Viewing.prototype.row = function (type, extra) {
    var student = this.student || settings.student;
    if (!student) { return; }
    var length = this.duration();
    var row = {id: newId(), type: type, session: this.session, video: this.video, student_email: student,
               timestamp: new Date().toISOString(), device_type: device()};
    if (Number.isFinite(length) && length > 0) { row.duration = Math.round(length * 100) / 100; }
    if (type !== 'video_started') {
      row.played = this.played();
      row.watch_time_seconds = Math.round(this.watched);
    }
    Object.assign(row, extra || {});
    if (row.end === true) { row.end = row.timestamp; }  // the viewing ends as this report is made
    enqueue(row);
  };
  Viewing.prototype.jump = function (position) {
    if (this.run) { this.ranges.push(this.run); }
    // A play from the start is first read a frame or two in: count it from 0:00.
    this.run = [position < 0.5 ? 0 : position, position];
    this.last = position;
  };
  Viewing.prototype.advance = function (position) {
    var step = this.last === null ? null : position - this.last;
    if (step !== null && step >= 0 && step < MAX_STEP) { this.watched += step; this.run[1] = position; this.last = position; }
    else { this.jump(position); }
  };
  Viewing.prototype.play = function () {
    if (!this.session || this.finished) { this.begin(); this.advance(this.read()); this.row('video_started'); }
    else { this.advance(this.read()); }
  };
  Viewing.prototype.tick = function () {
    if (!this.session || this.finished) { return; }
    this.advance(this.read());
    if (Date.now() - this.lastReport > settings.every * 1000) { this.lastReport = Date.now(); this.row('video_progress'); }
  };
  Viewing.prototype.pause = function () {
    if (!this.session || this.finished) { return; }
    this.advance(this.read()); this.row('video_progress'); send(false);
  };
  Viewing.prototype.end = function () {
    if (!this.session || this.finished) { return; }
    var length = this.duration();
    this.advance(Number.isFinite(length) ? length : this.read());
    this.finished = true;
    this.row('video_progress', {end: true});
    send(false);
  };
  // The page is going away: report where the viewing is, and send while the browser still lets us.
  Viewing.prototype.leave = function () {
    if (this.session && !this.finished) { this.advance(this.read()); this.row('video_progress'); }
  };

  var viewings = [];

  function track(element, options) {
    var name = (options && options.video) || element.getAttribute('data-chronos-video');
    if (!name || element.chronosViewing) { return element.chronosViewing; }
    var viewing = new Viewing(String(name), function () { return element.currentTime; },
                              function () { return element.duration; });
    if (options && options.student) { viewing.student = options.student; }
    element.chronosViewing = viewing;
    viewings.push(viewing);
    element.addEventListener('play', function () { viewing.play(); });
    // While a jump is under way the playhead already reads its target: the seeking event counts it.
    element.addEventListener('seeking', function () { if (viewing.session && !viewing.finished) { viewing.jump(element.currentTime); } });
    element.addEventListener('timeupdate', function () { if (!element.seeking && !element.paused) { viewing.tick(); } });
    element.addEventListener('pause', function () { if (!element.ended) { viewing.pause(); } });
    element.addEventListener('ended', function () { viewing.end(); });
    return viewing;
  }

  function trackYouTube(player, options) {
    var name = options && options.video;
    if (!name) {
      var url = player.getVideoUrl ? player.getVideoUrl() : '';
      var match = /[?&]v=([A-Za-z0-9_-]{11})/.exec(url || '');
      name = match && match[1];
    }
    if (!name) { throw new Error('Chronos.trackYouTube needs {video: <YouTube id or Chronos title>}'); }
    var viewing = new Viewing(String(name), function () { return player.getCurrentTime(); },
                              function () { return player.getDuration(); });
    if (options && options.student) { viewing.student = options.student; }
    viewings.push(viewing);
    var timer = null;
    player.addEventListener('onStateChange', function (event) {
      var state = event.data;
      if (state === 1) {  // playing
        viewing.play();
        clearInterval(timer);
        timer = setInterval(function () { viewing.tick(); }, 1000);
      } else if (state === 2) { clearInterval(timer); viewing.pause(); }
      else if (state === 0) { clearInterval(timer); viewing.end(); }
    });
    return viewing;
  }

  function attachAll(root) {
    (root || document).querySelectorAll('video[data-chronos-video]').forEach(function (element) { track(element); });
  }

  setInterval(function () { send(false); }, SEND_EVERY_MS);
  function leaving() {
    viewings.forEach(function (viewing) { viewing.leave(); });
    send(true);
  }
  document.addEventListener('visibilitychange', function () { if (document.visibilityState === 'hidden') { leaving(); } });
  window.addEventListener('pagehide', leaving);
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', function () { attachAll(); }); }
  else { attachAll(); }

  window.Chronos = {
    version: 1,
    track: track,
    trackYouTube: trackYouTube,
    identify: function (email) { settings.student = email; },
    configure: function (options) { Object.assign(settings, options || {}); },
    flush: function () { send(false); },
    pending: function () { return queue.length; },
    failures: function () { return failures; },
  };
})();
