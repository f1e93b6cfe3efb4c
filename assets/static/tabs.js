// The room's event stream across many tabs. A browser opens at most six
// HTTP/1.1 connections to one site, and a live tab holds one of them for its
// stream; a seventh stream would wait for ever, and so would every page and
// every message sent meanwhile. Over plain HTTP the tabs of one browser
// therefore agree (BroadcastChannel) that at most five of them stream at
// once, which leaves a connection for pages and posts; the others say
// "live updates paused" until a tab closes. A stream that stays connecting
// for a few seconds over plain HTTP says the same. Over HTTPS (HTTP/2) every
// tab streams over one connection and none of this applies.
//
// A tab hidden for a while closes its stream and, shown again, opens it
// again from the last event it had: the server replays what it missed.
//
// htmx's SSE extension makes the stream through htmx.createEventSource; here
// that returns a stand-in that opens the real EventSource when the tab may,
// and can close and reopen it without the extension noticing.
(function () {
  "use strict";
  if (!window.htmx || !window.EventSource) return;

  var plain = location.protocol === "http:";
  var maxLive = 5;         // streams per browser over plain HTTP
  var helloWait = 150;     // ms a tab listens for the others before streaming
  var stuckAfter = 3000;   // ms connecting before a stream counts as stuck
  var heartbeat = 10000;   // ms between a streaming tab's announcements
  var forgetAfter = 30000; // ms after which a silent tab no longer counts
  var hiddenAfter = 60000; // ms hidden before a tab closes its stream; an
  // element #app with data-hidden-after="N" sets it (tests use that)
  var pausedText = "live updates paused: too many Parley tabs open over plain HTTP";

  var me = Math.random().toString(36).slice(2) + Date.now().toString(36);
  var channel = plain && "BroadcastChannel" in window ? new BroadcastChannel("parley-streams") : null;
  var others = {};       // id → {since, seen} of the other tabs that stream or wait
  var since = 0;         // when this tab began to want a stream; 0: it does not
  var current = null;    // the page's stream, a Stream
  var asleep = false;    // the stream is closed because the tab is hidden
  var decideTimer = 0;
  var stuckTimer = 0;
  var hiddenTimer = 0;

  function app() { return document.getElementById("app"); }

  // Stream stands in for an EventSource: the extension sets its handlers
  // and listeners, which go on every real EventSource it opens.
  function Stream(url) {
    this.url = url;
    this.withCredentials = true;
    this.onopen = null;
    this.onerror = null;
    this.onmessage = null;
    this.inner = null;
    this.closed = false;
    this.listeners = [];
  }

  Object.defineProperty(Stream.prototype, "readyState", {
    get: function () {
      if (this.closed) return EventSource.CLOSED;
      return this.inner ? this.inner.readyState : EventSource.CONNECTING;
    },
  });

  Stream.prototype.addEventListener = function (type, fn) {
    this.listeners.push([type, fn]);
    if (this.inner) this.inner.addEventListener(type, fn);
  };

  Stream.prototype.removeEventListener = function (type, fn) {
    this.listeners = this.listeners.filter(function (l) { return l[0] !== type || l[1] !== fn; });
    if (this.inner) this.inner.removeEventListener(type, fn);
  };

  Stream.prototype.close = function () {
    this.closed = true;
    this.stop();
    if (current === this) {
      current = null;
      update();
    }
  };

  // start opens the real stream from the page's cursor, which the page
  // keeps in its stream URL.
  Stream.prototype.start = function () {
    if (this.inner || this.closed) return;
    var self = this;
    var a = app();
    var s = new EventSource((a && a.getAttribute("data-sse-connect")) || this.url, { withCredentials: true });
    s.onopen = function (e) {
      clearTimeout(stuckTimer);
      showPaused(false);
      if (self.onopen) self.onopen(e);
    };
    s.onerror = function (e) {
      watch(s);
      if (self.onerror) self.onerror(e);
    };
    s.onmessage = function (e) { if (self.onmessage) self.onmessage(e); };
    this.listeners.forEach(function (l) { s.addEventListener(l[0], l[1]); });
    this.inner = s;
    watch(s);
  };

  Stream.prototype.stop = function () {
    if (!this.inner) return;
    this.inner.close();
    this.inner = null;
    clearTimeout(stuckTimer);
  };

  // watch shows the paused state when s is still connecting, with no error
  // meanwhile, after stuckAfter: over plain HTTP, all the connections are
  // taken, by streams of tabs this one cannot hear.
  function watch(s) {
    clearTimeout(stuckTimer);
    if (!plain) return;
    stuckTimer = setTimeout(function () {
      if (current && current.inner === s && s.readyState === EventSource.CONNECTING) showPaused(true);
    }, stuckAfter);
  }

  function showPaused(on) {
    var el = document.getElementById("status");
    if (!el) return;
    if (on) {
      el.textContent = pausedText;
      el.className = "status paused";
    } else if (el.classList.contains("paused")) {
      el.textContent = "";
      el.className = "status";
    }
  }

  function send(type) {
    if (channel) channel.postMessage({ type: type, id: me, since: since });
  }

  // update makes the tab want a stream or not, tells the others, and
  // decides again.
  function update() {
    var want = !!current && !asleep;
    if (want && !since) {
      since = Date.now();
      send("hello");
      clearTimeout(decideTimer);
      decideTimer = setTimeout(decide, channel ? helloWait : 0);
      return;
    }
    if (!want && since) {
      since = 0;
      send("bye");
    }
    decide();
  }

  // ahead counts the tabs that wanted a stream before this one.
  function ahead() {
    var n = 0;
    var now = Date.now();
    for (var id in others) {
      var o = others[id];
      if (now - o.seen > forgetAfter) {
        delete others[id];
      } else if (o.since < since || (o.since === since && id < me)) {
        n++;
      }
    }
    return n;
  }

  function decide() {
    clearTimeout(decideTimer);
    if (!current) return;
    if (asleep) {
      current.stop();
      return;
    }
    if (current.inner || !since) return;
    if (!channel || ahead() < maxLive) {
      current.start();
    } else {
      showPaused(true);
    }
  }

  if (channel) {
    channel.onmessage = function (e) {
      var m = e.data;
      if (!m || typeof m.id !== "string" || m.id === me) return;
      if (m.type === "bye") {
        delete others[m.id];
        decide();
        return;
      }
      others[m.id] = { since: Number(m.since) || 0, seen: Date.now() };
      if (m.type === "hello" && since) send("here");
    };
    setInterval(function () {
      if (since) send("here");
      decide(); // forgets silent tabs
    }, heartbeat);
    window.addEventListener("pagehide", function () {
      if (since) send("bye");
      since = 0;
    });
    window.addEventListener("pageshow", function (e) {
      if (e.persisted) update();
    });
  }

  // Hidden tabs

  function sleepAfter() {
    var a = app();
    var n = a ? Number(a.dataset.hiddenAfter) : NaN;
    return n >= 0 ? n : hiddenAfter;
  }

  // A tab whose reader asked for desktop notifications keeps its stream:
  // they come from it while the tab is hidden.
  function notifies() {
    return "Notification" in window && Notification.permission === "granted";
  }

  function visibility() {
    clearTimeout(hiddenTimer);
    if (document.visibilityState === "hidden") {
      if (!current || notifies()) return;
      hiddenTimer = setTimeout(function () {
        if (document.visibilityState !== "hidden") return;
        asleep = true;
        update();
      }, sleepAfter());
    } else if (asleep) {
      asleep = false;
      update();
    }
  }

  document.addEventListener("visibilitychange", visibility);

  // A stream the extension builds anew (after one failed for good) keeps
  // the tab's place among the others.
  htmx.createEventSource = function (url) {
    var old = current;
    current = new Stream(url);
    if (old) old.close();
    update();
    if (document.visibilityState === "hidden") visibility();
    return current;
  };
})();
