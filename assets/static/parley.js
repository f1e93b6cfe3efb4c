// Parley's page behaviour, on top of htmx and its SSE extension. Without
// JavaScript every form still posts and redirects; this only makes the room
// live and the composer and menus comfortable.
(function () {
  "use strict";

  var app = null;       // the room, or null on other pages
  var list = null;      // the message list
  var scroller = null;  // the list's scrolling box
  var stick = true;     // keep the list scrolled to the newest message
  var down = false;     // the stream is down and reconnecting
  var signedOut = false;
  var okTimer = 0;

  // A message continues the one before when the same person wrote both
  // within this many milliseconds (the server groups the page the same way).
  var groupWindow = 5 * 60 * 1000;

  function $(id) { return document.getElementById(id); }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 64;
  }

  function showJump(show) {
    var jump = $("jump");
    if (jump) jump.hidden = !show;
  }

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
    stick = true;
    showJump(false);
  }

  function setStatus(text, kind) {
    var el = $("status");
    if (!el) return;
    clearTimeout(okTimer);
    el.textContent = text;
    el.className = "status" + (kind ? " " + kind : "");
  }

  // The cursor is the newest message id this page has. It goes into the
  // stream URL, so that a stream rebuilt from scratch (which sends no
  // Last-Event-ID header) still resumes where the page is.
  function setCursor(id) {
    if (!(id > Number(app.dataset.lastId || 0))) return;
    app.dataset.lastId = String(id);
    app.setAttribute("data-sse-connect", "/rooms/" + app.dataset.room + "/events?last_event_id=" + id);
  }

  var timeOnly = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
  var dayTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
  var yearTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

  // localTime shows a message time in the reader's time zone: the time for
  // today, with the day before that, with the year before this year.
  function localTime(t) {
    if (t.dataset.local) return;
    var d = new Date(t.getAttribute("datetime"));
    if (isNaN(d)) return;
    var now = new Date();
    var f = d.toDateString() === now.toDateString() ? timeOnly
      : d.getFullYear() === now.getFullYear() ? dayTime : yearTime;
    t.textContent = f.format(d);
    t.title = full.format(d);
    t.dataset.local = "1";
  }

  function localTimes(root) {
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) localTime(times[i]);
  }

  function sentAt(li) {
    var t = li.querySelector("time[datetime]");
    return t ? Date.parse(t.getAttribute("datetime")) : NaN;
  }

  // group marks a new message that continues its author's previous one.
  function group(li) {
    var prev = li.previousElementSibling;
    if (!prev || li.classList.contains("system") || prev.classList.contains("system")) return;
    if (!li.dataset.author || li.dataset.author !== prev.dataset.author) return;
    if (sentAt(li) - sentAt(prev) < groupWindow) li.classList.add("cont");
  }

  // markMe marks the reader in the online list.
  function markMe() {
    var items = document.querySelectorAll("#online li[data-handle]");
    for (var i = 0; i < items.length; i++) {
      items[i].classList.toggle("me", items[i].dataset.handle === app.dataset.me);
    }
  }

  function showSignedOut() {
    if (signedOut) return;
    signedOut = true;
    setStatus("", "");
    document.body.classList.add("signed-out");
    var banner = $("signed-out");
    if (banner) banner.hidden = false;
    var menu = $("identity");
    if (menu) menu.open = false;
    var controls = document.querySelectorAll("#composer textarea, #composer button, #identity input, #identity button");
    for (var i = 0; i < controls.length; i++) controls[i].disabled = true;
  }

  // checkSession runs when the stream gave up: when the session has ended
  // meanwhile (signed out in a tab whose stream was down), say so instead of
  // reconnecting for ever.
  function checkSession() {
    fetch("/rooms/" + app.dataset.room, { method: "HEAD", redirect: "manual", cache: "no-store" })
      .then(function (r) { if (r.type === "opaqueredirect") showSignedOut(); })
      .catch(function () { /* the server is down; the stream keeps retrying */ });
  }

  // showStart scrolls where the page begins to be read: the message it was
  // opened at, the oldest message of a page of newer ones, or the newest.
  function showStart() {
    var target = list.querySelector(".target");
    if (target) {
      target.scrollIntoView({ block: "center" });
      stick = nearBottom();
    } else if (app.dataset.page === "after") {
      scroller.scrollTop = 0;
      stick = false;
    } else {
      scrollToEnd();
    }
  }

  var baseTitle = document.title;

  // markRooms marks the room shown in the reader's room list (the list a
  // stream sends is the same for all their tabs) and counts their unread
  // mentions elsewhere in the tab's title.
  function markRooms() {
    var items = document.querySelectorAll("#my-rooms li[data-room]");
    var mentions = 0;
    for (var i = 0; i < items.length; i++) {
      var a = items[i].querySelector("a");
      if (items[i].dataset.room === app.dataset.room) {
        a.setAttribute("aria-current", "page");
      } else {
        a.removeAttribute("aria-current");
        mentions += Number(items[i].dataset.mentions) || 0;
      }
    }
    document.title = mentions > 0 ? "(" + mentions + ") " + baseTitle : baseTitle;
  }

  // Desktop notifications of mentions and direct messages, while the tab
  // is hidden, once the reader turned them on with the button (a browser
  // asks only after a click).
  function setUpNotifications() {
    var button = $("notify");
    if (!button || !("Notification" in window) || Notification.permission !== "default") return;
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.hidden = true; });
    });
  }

  function notify(html) {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
    var box = document.createElement("template");
    box.innerHTML = html;
    var li = box.content.querySelector("[data-id]");
    if (!li) return;
    var author = li.querySelector(".author");
    var body = li.querySelector(".body");
    new Notification(author ? author.textContent : "Parley", { body: body ? body.textContent : "", tag: "parley-" + li.dataset.id });
  }

  function init() {
    localTimes(document);
    app = $("app");
    list = $("messages");
    scroller = $("scroller");
    if (!app || !list || !scroller) return;
    markMe();
    markRooms();
    setUpNotifications();
    var items = list.querySelectorAll("li[data-id]");
    for (var i = 0; i < items.length; i++) markMine(items[i]);
    showStart();
    scroller.addEventListener("scroll", function () {
      stick = nearBottom();
      if (stick) showJump(false);
    }, { passive: true });
    var jump = $("jump");
    if (jump) {
      jump.addEventListener("click", function () {
        scrollToEnd();
        var body = $("body");
        if (body) body.focus();
      });
    }
  }

  document.addEventListener("DOMContentLoaded", init);

  // The browser scrolls to the address's #msg-N after the page loaded,
  // to the top of the box; put the message in the middle again.
  window.addEventListener("load", function () {
    var target = list && list.querySelector(".target");
    if (target) target.scrollIntoView({ block: "center" });
  });

  // Live events

  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    var ev = e.detail;
    if (!app || !ev) return;
    if (ev.type === "update" || ev.type === "delete") {
      setCursor(Number(ev.lastEventId));
      return;
    }
    if (ev.type !== "message") return;
    var id = Number(ev.lastEventId);
    setCursor(id);
    if (id && $("msg-" + id)) {
      e.preventDefault(); // already on the page: never show a message twice
      return;
    }
    stick = nearBottom();
  });

  document.addEventListener("htmx:sseMessage", function (e) {
    if (!app || !e.detail) return;
    if (e.detail.type === "presence") {
      markMe();
      return;
    }
    if (e.detail.type === "rooms") {
      markRooms();
      return;
    }
    if (e.detail.type === "mention") {
      notify(e.detail.data);
      return;
    }
    if (e.detail.type === "update" || e.detail.type === "delete") {
      applyChange(e.detail.data);
      return;
    }
    if (e.detail.type !== "message") return;
    var li = list.lastElementChild;
    if (!li) return;
    localTimes(li);
    group(li);
    prepare(li);
    if (stick || li.dataset.author === app.dataset.me) scrollToEnd();
    else showJump(true);
  });

  document.addEventListener("htmx:sseOpen", function () {
    if (!down || signedOut) return;
    down = false;
    setStatus("Connected again", "ok");
    okTimer = setTimeout(function () { setStatus("", ""); }, 2500);
  });

  document.addEventListener("htmx:sseError", function (e) {
    if (!app || signedOut) return;
    down = true;
    setStatus("Reconnecting…", "warn");
    var source = e.detail && e.detail.source;
    if (source && source.readyState === EventSource.CLOSED) checkSession();
  });

  document.addEventListener("htmx:sseClose", function (e) {
    // The server ended the stream with a logout event: this session is
    // signed out, so stop here and say so.
    if (e.detail && e.detail.type === "message") showSignedOut();
  });

  // Older messages: the link at the top of the list loads them in place
  // when it scrolls into view (htmx, see olderLink in views/room.templ).
  // The messages the reader sees stay where they are on the screen: the
  // first message before the swap is measured, and the list scrolled by as
  // much as it moved.

  var olderAnchor = null;

  document.addEventListener("htmx:beforeRequest", function (e) {
    var a = e.detail && e.detail.elt;
    if (!list || !a || a.getAttribute("rel") !== "prev") return;
    var first = list.firstElementChild;
    olderAnchor = first ? { el: first, top: first.getBoundingClientRect().top } : null;
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (!olderAnchor) return;
    var a = olderAnchor;
    olderAnchor = null;
    scroller.scrollTop += a.el.getBoundingClientRect().top - a.top;
    localTimes(list);
    group(a.el);
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    var a = e.detail && e.detail.elt;
    if (a && a.getAttribute && a.getAttribute("rel") === "prev" && !e.detail.successful) olderAnchor = null;
  });

  // The composer

  // "@" and the start of a handle suggest the people who may read the
  // room; arrows choose, Enter or Tab takes one, Escape closes the list.
  var suggest = { list: null, handles: [], active: -1, at: null, timer: 0, seq: 0 };

  function mentionAtCaret(t) {
    var before = t.value.slice(0, t.selectionStart);
    var m = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{0,32})$/.exec(before);
    return m ? { start: before.length - m[2].length - 1, prefix: m[2] } : null;
  }

  function closeSuggestions() {
    if (suggest.list) suggest.list.remove();
    suggest.list = null;
    suggest.handles = [];
    suggest.active = -1;
    var body = $("body");
    if (body) body.removeAttribute("aria-activedescendant");
  }

  function setActive(i) {
    suggest.active = i;
    var items = suggest.list.children;
    for (var k = 0; k < items.length; k++) items[k].setAttribute("aria-selected", k === i ? "true" : "false");
    $("body").setAttribute("aria-activedescendant", items[i].id);
  }

  function takeSuggestion(t, handle) {
    var at = suggest.at;
    var rest = t.value.slice(t.selectionStart);
    t.value = t.value.slice(0, at.start) + "@" + handle + " " + rest;
    var caret = at.start + handle.length + 2;
    t.setSelectionRange(caret, caret);
    closeSuggestions();
  }

  function showSuggestions(t, at, handles) {
    closeSuggestions();
    if (!handles.length || document.activeElement !== t) return;
    var ul = document.createElement("ul");
    ul.id = "mention-suggestions";
    ul.className = "suggestions";
    ul.setAttribute("role", "listbox");
    ul.setAttribute("aria-label", "People to mention");
    handles.forEach(function (h, i) {
      var li = document.createElement("li");
      li.id = "mention-option-" + i;
      li.setAttribute("role", "option");
      li.textContent = "@" + h;
      li.addEventListener("mousedown", function (e) {
        e.preventDefault();
        takeSuggestion(t, h);
      });
      ul.appendChild(li);
    });
    t.form.appendChild(ul);
    suggest.list = ul;
    suggest.handles = handles;
    suggest.at = at;
    setActive(0);
  }

  document.addEventListener("input", function (e) {
    var t = e.target;
    if (!app || !t || t.id !== "body") return;
    var at = mentionAtCaret(t);
    clearTimeout(suggest.timer);
    if (!at) {
      closeSuggestions();
      return;
    }
    var seq = ++suggest.seq;
    suggest.timer = setTimeout(function () {
      fetch("/rooms/" + app.dataset.room + "/people?q=" + encodeURIComponent(at.prefix), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (handles) { if (seq === suggest.seq) showSuggestions(t, at, handles); })
        .catch(function () {});
    }, 120);
  });

  // Runs before the composer's other keys (capture): while the list is
  // open, these keys are the list's.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (!suggest.list || !t || t.id !== "body") return;
    var n = suggest.handles.length;
    switch (e.key) {
      case "ArrowDown": setActive((suggest.active + 1) % n); break;
      case "ArrowUp": setActive((suggest.active + n - 1) % n); break;
      case "Enter":
      case "Tab":
        if (e.shiftKey) return;
        takeSuggestion(t, suggest.handles[suggest.active]);
        break;
      case "Escape": closeSuggestions(); break;
      default: return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }, true);

  document.addEventListener("focusout", function (e) {
    if (e.target && e.target.id === "body") closeSuggestions();
  });

  // Enter sends; Shift+Enter starts a new line.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || !t || t.id !== "body") return;
    e.preventDefault();
    if (t.readOnly || t.value.trim() === "") return;
    if (t.form && t.form.requestSubmit) t.form.requestSubmit();
  });

  function composerBusy(form, busy) {
    var body = $("body");
    if (body) body.readOnly = busy;
    if (busy) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
  }

  // composerError says why a message did not go out, when there is no
  // answer from the server to show.
  function composerError(form, text) {
    var p = $("body-error");
    if (!p) {
      p = document.createElement("p");
      p.id = "body-error";
      p.className = "error";
      p.setAttribute("role", "alert");
      form.insertBefore(p, $("composer-hint"));
      var body = $("body");
      if (body) body.setAttribute("aria-describedby", "body-error composer-hint");
    }
    p.textContent = text;
  }

  document.addEventListener("htmx:beforeRequest", function (e) {
    var form = e.detail && e.detail.elt;
    if (form && form.id === "composer") composerBusy(form, true);
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail && e.detail.elt;
    if (!form || form.id !== "composer") return;
    if (e.detail.successful) {
      stick = true;
      return; // the answer replaces the composer
    }
    composerBusy(form, false);
    if (!e.detail.xhr || e.detail.xhr.status === 0 || e.detail.xhr.status >= 500) {
      composerError(form, "Not sent: Parley could not be reached. Your text is still here; try again.");
    }
  });

  // After a form comes back from the server, put the focus where the person
  // continues.
  document.addEventListener("htmx:afterSwap", function (e) {
    var t = e.detail && e.detail.target;
    if (!t) return;
    if (t.id === "composer") {
      var body = $("body");
      if (body) body.focus();
    }
  });

  document.addEventListener("htmx:afterSettle", function (e) {
    var t = e.detail && e.detail.target;
    if (!t || t.id !== "identity") return;
    var identity = $("identity");
    if (!identity) return;
    if ($("rename-error")) {
      $("rename-handle").focus();
      return;
    }
    var name = identity.querySelector(".account-name");
    if (app && name) {
      app.dataset.me = name.textContent;
      markMe();
    }
    $("account-toggle").focus();
  });

  // The account menu and the message menus close with Escape and with a
  // click elsewhere.

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var menu = document.querySelector("details.account[open], details.msg-menu[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  document.addEventListener("click", function (e) {
    var menus = document.querySelectorAll("details.account[open], details.msg-menu[open]");
    for (var i = 0; i < menus.length; i++) {
      if (!menus[i].contains(e.target)) menus[i].open = false;
    }
  });

  // Editing, deleting and reactions. A change arrives as the message's new
  // element ("update", "delete"), the same for every reader: the script
  // puts it in place of the old one, gives it the reader's menu (copied
  // from the page's template) and marks the reader's own reactions from
  // the handles the element names.

  function same(a, b) { return !!a && !!b && a.toLowerCase() === b.toLowerCase(); }

  // markMine marks the reader's own message and reactions.
  function markMine(li) {
    if (!app) return;
    var mine = li.classList.contains("message") && !li.classList.contains("system") &&
      !li.classList.contains("deleted") && same(li.dataset.author, app.dataset.me);
    li.classList.toggle("own", mine);
    var rs = li.querySelectorAll(".reaction[data-handles]");
    for (var i = 0; i < rs.length; i++) {
      var handles = rs[i].dataset.handles.split(" ");
      var me = false;
      for (var j = 0; j < handles.length; j++) if (same(handles[j], app.dataset.me)) me = true;
      rs[i].classList.toggle("mine", me);
      rs[i].setAttribute("aria-pressed", me ? "true" : "false");
    }
  }

  // prepare gives a message that came live what the page's messages have.
  function prepare(li) {
    markMine(li);
    var tpl = $("msg-menu-template");
    if (!tpl || li.querySelector(".msg-menu") || !li.dataset.author || li.classList.contains("deleted")) return;
    var menu = tpl.content.firstElementChild.cloneNode(true);
    var id = li.dataset.id;
    var parts = menu.querySelectorAll("[action], [href], [id], [for]");
    for (var i = 0; i < parts.length; i++) {
      ["action", "href", "id", "for"].forEach(function (name) {
        var v = parts[i].getAttribute(name);
        if (v) parts[i].setAttribute(name, v.replace("/messages/0/", "/messages/" + id + "/").replace(/^emoji-0$/, "emoji-" + id));
      });
    }
    li.appendChild(menu);
  }

  function applyChange(html) {
    var box = document.createElement("template");
    box.innerHTML = html.trim();
    var li = box.content.firstElementChild;
    if (!li || !li.dataset.id) return;
    var old = $("msg-" + li.dataset.id);
    if (!old) return;
    if (old.classList.contains("cont") && !li.classList.contains("deleted")) li.classList.add("cont");
    if (old.classList.contains("target")) li.classList.add("target");
    var editing = old.querySelector(".edit-inline");
    old.replaceWith(li);
    localTimes(li);
    prepare(li);
    if (editing && !li.classList.contains("deleted")) {
      li.classList.add("editing");
      li.querySelector(".body").after(editing);
    }
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "HX-Request": "true" },
      credentials: "same-origin",
    });
  }

  function refused(r) {
    if (r.status === 422) setStatus("That is not one emoji.", "warn");
    else if (r.status === 403) setStatus("Only its author may change that message.", "warn");
    else setStatus("That did not work. Try again.", "warn");
    okTimer = setTimeout(function () { setStatus("", ""); }, 4000);
  }

  // Reactions and deletes: the forms post in the background (a delete
  // asks first); the stream brings the result.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!app || !form.classList || !form.classList.contains("js-post")) return;
    e.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    var data = new FormData(form, e.submitter);
    var menu = form.closest("details");
    if (menu) menu.open = false;
    post(form.getAttribute("action"), data).then(function (r) {
      if (!r.ok) refused(r);
      else if (form.classList.contains("react-other")) form.reset();
    }).catch(function () { setStatus("Parley could not be reached. Try again.", "warn"); });
  });

  // Edit in place: the Edit link, or the up arrow in an empty message box
  // for the reader's last message. Enter saves, Escape cancels.
  function startEdit(li) {
    var form = li.querySelector(".edit-inline");
    if (form) { form.querySelector("textarea").focus(); return; }
    var body = li.querySelector(".body");
    if (!body) return;
    var id = li.dataset.id;
    form = document.createElement("form");
    form.className = "edit-inline";
    form.setAttribute("method", "post");
    form.setAttribute("action", "/rooms/" + app.dataset.room + "/messages/" + id + "/edit");
    var label = document.createElement("label");
    label.className = "visually-hidden";
    label.htmlFor = "edit-" + id;
    label.textContent = "Edit your message";
    var text = document.createElement("textarea");
    text.id = "edit-" + id;
    text.name = "body";
    text.rows = 2;
    text.value = body.textContent.trim();
    var hint = document.createElement("p");
    hint.className = "hint";
    hint.id = "edit-hint-" + id;
    hint.textContent = "Enter saves, Escape cancels";
    text.setAttribute("aria-describedby", hint.id);
    form.append(label, text, hint);
    body.after(form);
    li.classList.add("editing");
    var menu = li.querySelector("details.msg-menu");
    if (menu) menu.open = false;
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);
  }

  function endEdit(li) {
    var form = li.querySelector(".edit-inline");
    if (form) form.remove();
    li.classList.remove("editing");
    var composer = $("body");
    if (composer) composer.focus();
  }

  function saveEdit(li, form) {
    var text = form.querySelector("textarea");
    if (text.value.trim() === "") return;
    text.readOnly = true;
    post(form.getAttribute("action"), new FormData(form)).then(function (r) {
      text.readOnly = false;
      if (r.ok) {
        var cur = $("msg-" + li.dataset.id);
        if (cur) endEdit(cur);
        return;
      }
      if (r.status === 422) {
        r.text().then(function (html) {
          var box = document.createElement("template");
          box.innerHTML = html;
          var err = box.content.querySelector(".error");
          form.querySelector(".hint").textContent = err ? err.textContent : "That cannot be saved.";
        });
        return;
      }
      refused(r);
    }).catch(function () {
      text.readOnly = false;
      setStatus("Parley could not be reached. Your text is still here; try again.", "warn");
    });
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a.edit-link");
    if (!app || !a) return;
    var li = a.closest("li[data-id]");
    if (!li) return;
    e.preventDefault();
    startEdit(li);
  });

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (!app || !t || t.tagName !== "TEXTAREA" || e.isComposing) return;
    if (t.id === "body" && e.key === "ArrowUp" && t.value === "") {
      var own = list.querySelectorAll("li.own:not(.deleted)");
      if (own.length === 0) return;
      e.preventDefault();
      startEdit(own[own.length - 1]);
      return;
    }
    var form = t.closest(".edit-inline");
    if (!form) return;
    var li = form.closest("li[data-id]");
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      endEdit(li);
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      saveEdit(li, form);
    }
  });
})();
