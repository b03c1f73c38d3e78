// The agent workspace's small enhancements; every action also works without them.
// Their text comes in the agent's language from Django's JavaScriptCatalog (/agent/jsi18n/,
// loaded before this script); without it, in English.
var _ = window.gettext || function (text) { return text; };
function fill(text, values) {
  return window.interpolate ? window.interpolate(text, values, true)
    : text.replace(/%\((\w+)\)s/g, function (all, key) { return values[key]; });
}

(function () {
  "use strict";

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart || 0, end = textarea.selectionEnd || 0;
    var before = textarea.value.slice(0, start), after = textarea.value.slice(end);
    var spacer = before && !/\s$/.test(before) ? " " : "";
    textarea.value = before + spacer + text + after;
    var caret = (before + spacer + text).length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input"));  // kept as a draft like typed text
  }

  document.addEventListener("click", function (event) {
    var reply = document.getElementById("id_text");
    var insert = event.target.closest(".insert-link");
    if (insert && reply) {
      insertAtCursor(reply, insert.dataset.insert);
      return;
    }
    var macro = event.target.closest(".macro");
    if (macro && reply) {
      // The macro's text replaces the draft; sending applies its status, priority and tier.
      reply.value = macro.dataset.text;
      reply.dispatchEvent(new Event("input"));
      document.getElementById("id_macro").value = macro.dataset.macro;
      if (macro.dataset.status) document.getElementById("id_status").value = macro.dataset.status;
      reply.focus();
    }
  });
})();

// Live workspace: queues refresh, the timeline updates, colleagues' presence, notifications.
(function () {
  "use strict";
  var body = document.body;
  if (!body.dataset.live || !window.WebSocket) return;
  var ticketId = body.dataset.ticket ? parseInt(body.dataset.ticket, 10) : null;
  var me = parseInt(body.dataset.user, 10);
  var socket = null, retry = 1000, refreshTimer = null;
  var present = {};  // user id -> {name, state, until}

  function swap(selector, html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(selector);
    var current = document.querySelector(selector);
    if (fresh && current) current.replaceWith(fresh);
  }

  function refresh() {
    var ticked = document.querySelector("#queue-table input[type=checkbox]:checked");
    fetch(window.location.href, {headers: {"X-Requested-With": "live"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        swap(".agent-sidebar", html);
        if (ticketId) {
          swap(".timeline", html);
          // Side conversations too, unless a draft is being written in one.
          var drafting = Array.prototype.some.call(
            document.querySelectorAll("#side-conversations textarea, #side-conversations input"),
            function (field) { return field.value && field.type !== "hidden"; });
          if (!drafting) swap("#side-conversations", html);
        }
        else if (!ticked) swap("#queue-table", html);
      });
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 400);
  }

  function showPresence() {
    var now = Date.now(), parts = [];
    Object.keys(present).forEach(function (id) {
      var p = present[id];
      var typing = p.state === "typing" && p.until > now;
      parts.push(fill(typing ? _("%(name)s is typing…") : _("%(name)s is viewing"), {name: p.name}));
    });
    var el = document.getElementById("presence");
    if (el) el.textContent = parts.join(" · ");
  }

  function toast(text, ticket, kind) {
    var box = document.getElementById("toasts");
    var item = document.createElement("div");
    item.className = "toast";
    if (ticket) {
      var link = document.createElement("a");
      // A spike is told with its newest ticket; it leads to the spikes, to act on them all.
      link.href = kind === "spike" ? "/agent/problems/#spikes-title" : "/agent/tickets/" + ticket + "/";
      link.textContent = text;
      item.appendChild(link);
    } else {
      item.textContent = text;
    }
    // It stays until dismissed: a timed toast took its link away before some could use it.
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.textContent = "×";
    close.setAttribute("aria-label", _("Dismiss"));
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    box.appendChild(item);
  }

  function setUnread(count) {
    document.getElementById("unread").textContent = count;
    document.getElementById("unread-wrap").hidden = count === 0;
  }

  // Other scripts of the workspace (the chat console) listen and send through this socket.
  var listeners = [];
  window.helpdeskLive = {
    on: function (handler) { listeners.push(handler); },
    send: function (message) { send(message); },
    isOpen: function () { return socket && socket.readyState === WebSocket.OPEN; }
  };

  function onMessage(event) {
    var msg = JSON.parse(event.data);
    listeners.forEach(function (handler) { handler(msg); });
    if (msg.type === "chat.queue") {
      var lists = document.getElementById("chat-lists");
      if (lists) scheduleRefreshChats();
      else scheduleRefreshSidebarOnly();
    } else if (msg.type === "ticket.changed") {
      if (ticketId === null || (msg.ticket === ticketId && msg.actor !== me)) scheduleRefresh();
      else scheduleRefreshSidebarOnly();
    } else if (msg.type === "presence" && msg.ticket === ticketId && msg.user !== me) {
      if (msg.state === "left") delete present[msg.user];
      else present[msg.user] = {name: msg.name, state: msg.state, until: Date.now() + 5000};
      showPresence();
      setTimeout(showPresence, 5100);
    } else if (msg.type === "notification") {
      setUnread(parseInt(document.getElementById("unread").textContent || "0", 10) + (msg.count || 1));
      toast(msg.text, msg.ticket, msg.kind);
    } else if (msg.type === "unread") {
      setUnread(msg.count);
    }
  }

  var chatsTimer = null;
  function scheduleRefreshChats() {
    clearTimeout(chatsTimer);
    chatsTimer = setTimeout(function () {
      fetch(window.location.href, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html) { swap("#chat-lists", html); swap(".agent-sidebar", html); } });
    }, 300);
  }

  var sidebarTimer = null;
  function scheduleRefreshSidebarOnly() {
    clearTimeout(sidebarTimer);
    sidebarTimer = setTimeout(function () {
      fetch(window.location.href, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html) swap(".agent-sidebar", html); });
    }, 1500);
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + body.dataset.live);
    socket.onopen = function () {
      retry = 1000;
      body.dataset.liveState = "open";
      if (ticketId) send({type: "watch", ticket: ticketId});
      listeners.forEach(function (handler) { handler({type: "open"}); });
    };
    socket.onmessage = onMessage;
    socket.onclose = function (event) {
      body.dataset.liveState = "closed";
      if (event.code === 4403) return;  // not allowed: do not hammer the server
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  var lastTyping = 0;
  document.addEventListener("input", function (event) {
    if (!ticketId || !event.target.closest("#reply-form, .note-form")) return;
    var now = Date.now();
    if (now - lastTyping > 2000) {
      lastTyping = now;
      send({type: "typing", ticket: ticketId});
    }
  });

  connect();

  // Changes made in another process reach this page only through a shared channel layer
  // (Redis). Without one (the embedded default), a quiet refresh now and then keeps the
  // queues honest; with one it costs a list query every half minute.
  setInterval(function () {
    send({type: "ping"});  // the heartbeat that shows this agent online for live chat
    if (document.visibilityState === "visible" && !document.getElementById("chat-console")) {
      scheduleRefresh();
    }
  }, 30000);
})();

// Keyboard shortcuts (shown with "?"). Never while typing in a field, except Ctrl+Enter.
(function () {
  "use strict";
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("#queue-table tbody tr[data-ticket]")); };
  var selected = -1, pendingG = false;

  function select(index) {
    var all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) { row.classList.toggle("selected", i === selected); });
    all[selected].querySelector(".ticket-link").focus();
  }

  function click(selector) {
    var el = document.querySelector(selector);
    if (el) el.click();
    return !!el;
  }

  function focus(selector) {
    var el = document.querySelector(selector);
    if (el) { el.scrollIntoView({block: "center"}); el.focus(); }
  }

  var help = document.getElementById("shortcuts");
  var helpButton = document.getElementById("shortcuts-button");
  if (helpButton) helpButton.addEventListener("click", function () { help.showModal(); });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target.closest("input, textarea, select, [contenteditable]");
    if (typing) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.form) {
        event.preventDefault();
        target.form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key, handled = true;
    if (pendingG) {
      pendingG = false;
      if (key === "m") window.location = "/agent/queue/mine/";
      else if (key === "u") window.location = "/agent/queue/unassigned/";
      else handled = false;
    } else if (key === "?") help.showModal();
    else if (key === "g") pendingG = true;
    else if (key === "/") focus("#global-q");
    else if (key === "j") { if (!click("#next-ticket")) select(selected + 1); }
    else if (key === "k") select(selected - 1);
    else if ((key === "o" || key === "Enter") && selected >= 0) rows()[selected].querySelector(".ticket-link").click();
    else if (key === "x" && selected >= 0) { var box = rows()[selected].querySelector("input[type=checkbox]"); box.checked = !box.checked; }
    else if (key === "r") focus("#id_text");
    else if (key === "n") focus("#id_note");
    else if (key === "a") handled = click("#assign-me");
    else if (key === "e") { var d = document.querySelector("details.escalate"); if (d) { d.open = true; focus("#id_reason"); } }
    else handled = false;
    if (handled) event.preventDefault();
  });
})();

// Drafts: what an agent writes in a ticket's reply or note box is kept in this browser
// until it is sent, so leaving the page, a refused send or a session that ran out (signing
// in again leads back to the ticket) loses nothing. Kept per agent and ticket, 14 days.
(function () {
  "use strict";
  var body = document.body, ticket = body.dataset.ticket, user = body.dataset.user;
  if (!ticket || !user || !window.localStorage) return;
  var KEEP_MS = 14 * 24 * 3600 * 1000;
  var boxes = [
    {name: "reply", field: document.getElementById("id_text")},
    {name: "note", field: document.getElementById("id_note")}
  ].filter(function (box) { return box.field && box.field.form; });

  function key(name) { return "helpdesk-draft:" + user + ":" + ticket + ":" + name; }

  function read(name) {
    try {
      var draft = JSON.parse(localStorage.getItem(key(name)));
      if (draft && typeof draft.text === "string" && Date.now() - draft.at < KEEP_MS) return draft.text;
      localStorage.removeItem(key(name));
    } catch (e) { /* storage full, blocked or not JSON: no draft */ }
    return "";
  }

  function keep(name, text) {
    try {
      if (text.trim()) localStorage.setItem(key(name), JSON.stringify({text: text, at: Date.now()}));
      else localStorage.removeItem(key(name));
    } catch (e) { /* storage full or blocked: the draft lives in the page only */ }
  }

  // A send that went comes back to "#sent-reply" or "#sent-note" (tickets/workspace/views.py);
  // one refused, or a sign-in in between, does not, and the draft stays.
  var sent = /^#sent-(reply|note)$/.exec(window.location.hash);
  if (sent) {
    keep(sent[1], "");
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function restoredNote(box) {
    var note = document.createElement("p");
    note.className = "help draft-restored";
    note.setAttribute("role", "status");
    note.textContent = _("Your unsent text was kept.") + " ";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "portal-link";
    discard.textContent = _("Discard it");
    discard.addEventListener("click", function () {
      box.field.value = "";
      keep(box.name, "");
      note.remove();
      box.field.focus();
    });
    note.appendChild(discard);
    box.field.insertAdjacentElement("afterend", note);
  }

  boxes.forEach(function (box) {
    var saved = read(box.name);
    // A refused send comes back with its text in the box: that text wins.
    if (saved && !box.field.value) {
      box.field.value = saved;
      restoredNote(box);
    }
    var timer = null;
    box.field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { keep(box.name, box.field.value); }, 300);
    });
    box.field.form.addEventListener("submit", function () {
      clearTimeout(timer);
      keep(box.name, box.field.value);
    });
    // Leaving the page before the pause after typing: kept all the same.
    window.addEventListener("pagehide", function () {
      if (timer !== null) keep(box.name, box.field.value);
    });
  });
})();
