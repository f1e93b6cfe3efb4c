// Parley's page behaviour, on top of htmx and its SSE extension. Without
// JavaScript every form still posts and redirects; this only makes the room
// live and the composer comfortable.
(function () {
  "use strict";

  var app = null;
  var atBottom = true;

  function messages() { return document.getElementById("messages"); }

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  }

  function scrollToEnd() {
    var list = messages();
    if (list) list.scrollTop = list.scrollHeight;
  }

  function setStatus(text, kind) {
    var el = document.getElementById("status");
    if (!el) return;
    el.textContent = text;
    el.className = "status" + (kind ? " " + kind : "");
  }

  // The cursor: the newest message id this page has. It goes into the
  // stream URL, so that a stream rebuilt from scratch (which sends no
  // Last-Event-ID header) still resumes where the page is.
  function setCursor(id) {
    if (!app || !(id > Number(app.dataset.lastId || 0))) return;
    app.dataset.lastId = String(id);
    app.setAttribute("sse-connect", "/rooms/" + app.dataset.room + "/events?last_event_id=" + id);
  }

  var timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  var dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  // localTimes shows message times in the reader's time zone.
  function localTimes(root) {
    var times = root.querySelectorAll ? root.querySelectorAll("time[datetime]") : [];
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      if (t.dataset.local) continue;
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) continue;
      t.textContent = timeFormat.format(d);
      t.title = dateFormat.format(d);
      t.dataset.local = "1";
    }
  }

  function init() {
    app = document.getElementById("app");
    localTimes(document);
    var list = messages();
    if (list) {
      scrollToEnd();
      list.addEventListener("scroll", function () { atBottom = nearBottom(list); }, { passive: true });
    }
  }

  document.addEventListener("DOMContentLoaded", init);

  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    var ev = e.detail;
    if (!ev || ev.type !== "message") return;
    var id = Number(ev.lastEventId);
    if (id && document.getElementById("msg-" + id)) {
      e.preventDefault(); // already on the page: never show a message twice
      return;
    }
    var list = messages();
    atBottom = !list || nearBottom(list);
    setCursor(id);
  });

  document.addEventListener("htmx:sseMessage", function (e) {
    if (e.detail && e.detail.type === "message") {
      localTimes(messages() || document);
      if (atBottom) scrollToEnd();
    }
  });

  document.addEventListener("htmx:sseOpen", function () { setStatus("", ""); });

  document.addEventListener("htmx:sseError", function () {
    setStatus("Reconnecting…", "warn");
  });

  document.addEventListener("htmx:sseClose", function (e) {
    if (!e.detail || e.detail.type !== "message") return;
    // The server ended the stream with a logout event: this session is
    // signed out, so stop here and say so.
    setStatus("You were signed out.", "warn");
    document.body.classList.add("signed-out");
    var banner = document.getElementById("signed-out");
    if (banner) banner.hidden = false;
    var controls = document.querySelectorAll("#composer textarea, #composer button, #identity input, #identity button");
    for (var i = 0; i < controls.length; i++) controls[i].disabled = true;
  });

  // Enter sends; Shift+Enter starts a new line.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || !t || t.id !== "body") return;
    e.preventDefault();
    if (t.value.trim() === "") return;
    var form = t.form;
    if (form && form.requestSubmit) form.requestSubmit();
  });

  // After the composer comes back from the server, keep typing in it.
  document.addEventListener("htmx:afterSwap", function (e) {
    var t = e.detail && e.detail.target;
    if (t && t.id === "composer") {
      var body = document.getElementById("body");
      if (body) body.focus();
    }
  });
})();
