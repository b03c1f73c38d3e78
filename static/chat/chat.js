// The customer's live chat (docs/chat-protocol.md): one WebSocket to /ws/chat/.
//
// What must survive a dropped connection or a reload lives in sessionStorage: the signed
// token, the start request until the server answers it, and the outbox of messages the
// server has not acknowledged yet. After every (re)connection the outbox is sent again with
// the same client ids (the server stores each client id once), and `sync` fetches what was
// missed. A message is shown once: keyed by its id, and by its client id until it has one.
// Message text only ever goes into the page through textContent.
//
// For browser tests, document.body.dataset says where things are:
//   chatState   connecting | open | closed      (the socket)
//   chatView    start | left | conversation     (the section shown)
//   chatSession none | starting | resuming | waiting | active | ended | left
//   chatOnline  yes | no                        (from the last `status`)
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root || !window.WebSocket || !window.JSON) return;

  var MAX_CHARS = 2000;
  var MAX_FRAME_BYTES = 8000;  // the server ignores frames over 8 KB
  var TYPING_EVERY_MS = 2000;
  var PING_EVERY_MS = 30000;
  var AGENT_TYPING_SHOWN_MS = 6000;
  var RETRY_MIN_MS = 1000;
  var RETRY_MAX_MS = 30000;
  var RATE_LIMIT_RETRY_MS = 15000;
  var STORE_PREFIX = "helpdesk.chat.";
  var SAMPLE_CLIENT_ID = "00000000-0000-4000-8000-000000000000";  // as long as a real one
  var EMBEDDED = root.dataset.embedded === "1" && window.parent !== window;
  // The page's language: Django's JavaScriptCatalog (/jsi18n/, loaded before this script)
  // defines gettext and interpolate; without it the text stays English.
  var _ = window.gettext || function (text) { return text; };
  function fill(text, values) {
    return window.interpolate ? window.interpolate(text, values, true)
      : text.replace(/%\((\w+)\)s/g, function (all, key) { return values[key]; });
  }

  var ERRORS = {
    offline: _("Nobody is online any more. Leave your message below and we answer by email."),
    too_long: _("That message is too long: the limit is 2,000 characters."),
    rate_limited: _("You are sending messages very quickly; wait a moment."),
    invalid: _("That was not accepted. Check what you entered and try again."),
    ended: _("This chat has ended, so the message was not delivered.")
  };
  var RECEIPTS = {sending: _("Sending…"), sent: _("Sent"), read: _("Read"), failed: _("Not delivered")};
  var SENDERS = {customer: true, agent: true, system: true};

  var body = document.body;
  function $(id) { return document.getElementById(id); }
  var el = {
    start: $("chat-start"), startTitle: $("chat-start-title"), startIntro: $("chat-start-intro"),
    status: $("chat-status"), statusText: $("chat-status-text"), startError: $("chat-start-error"),
    startForm: $("chat-start-form"), name: $("chat-name"), email: $("chat-email"),
    first: $("chat-first"), startSubmit: $("chat-start-submit"),
    left: $("chat-left"), leftTitle: $("chat-left-title"), leftReference: $("chat-left-reference"),
    conversation: $("chat-conversation"), title: $("chat-title"), queue: $("chat-queue"),
    connection: $("chat-connection"), log: $("chat-log"), typing: $("chat-typing"),
    error: $("chat-error"), composer: $("chat-composer"), text: $("chat-text"),
    send: $("chat-send"), end: $("chat-end"),
    ended: $("chat-ended"), endedTitle: $("chat-ended-title"), transcript: $("chat-transcript"),
    transcriptStatus: $("chat-transcript-status"), rating: $("chat-rating"),
    rate: $("chat-rate"), rated: $("chat-rated"), again: $("chat-new")
  };

  // --- Storage: sessionStorage when the browser allows it, memory otherwise ----------------

  var memory = {};
  var store = {
    get: function (name) {
      try {
        var raw = window.sessionStorage.getItem(STORE_PREFIX + name);
        return raw === null ? null : JSON.parse(raw);
      } catch (e) {
        return Object.prototype.hasOwnProperty.call(memory, name) ? memory[name] : null;
      }
    },
    set: function (name, value) {
      memory[name] = value;
      try {
        if (value === null) window.sessionStorage.removeItem(STORE_PREFIX + name);
        else window.sessionStorage.setItem(STORE_PREFIX + name, JSON.stringify(value));
      } catch (e) { /* blocked storage: memory only, a reload starts afresh */ }
    }
  };

  // --- State ----------------------------------------------------------------------------------

  var state = {
    socket: null,
    retryMs: RETRY_MIN_MS,
    retryTimer: null,
    pingTimer: null,
    awaitingPong: false,
    everOpen: false,
    token: store.get("token"),
    pendingStart: store.get("start"),  // the `start` request until `session` answers it
    outbox: store.get("outbox") || [],  // [{client_id, text, at}] not acknowledged yet
    sentNow: {},  // client ids sent on the current connection
    control: [],  // one-off requests (end, transcript, rate) waiting for an open socket
    leave: null,  // the leave_message request until `left_message` answers it
    probing: false,  // connecting without the token to see whether the server is there
    probed: false,  // the server answered without the token after the token failed
    leaveSent: false,
    session: "none",
    agent: null,
    position: null,
    online: null,
    waitSeconds: null,
    lastId: 0,  // the highest message id received: `sync` asks for what comes after
    readSent: 0,  // the highest id reported with `read`
    agentReadUpTo: 0,
    byId: {},
    byClientId: {},
    visibleAgentIds: {},
    lastAgentId: 0,
    lastTypingSent: 0,
    agentTypingTimer: null,
    connectionTimer: null,
    rateLimitTimer: null
  };

  function saveOutbox() { store.set("outbox", state.outbox.length ? state.outbox : null); }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues does not.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  // --- The socket -----------------------------------------------------------------------------

  function setSocketState(name) { body.dataset.chatState = name; }

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + window.location.host + (root.dataset.socketPath || "/ws/chat/");
    if (state.token && !state.probing) url += "?token=" + encodeURIComponent(state.token);
    return url;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    if (state.socket) return;
    setSocketState("connecting");
    var socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (e) {
      setSocketState("closed");
      scheduleReconnect();
      return;
    }
    state.socket = socket;
    var opened = false;
    // A socket that was dropped on purpose (see dropSocket) is ignored from then on.
    socket.onopen = function () {
      opened = true;
      if (state.socket === socket) onOpen();
    };
    socket.onmessage = function (event) { if (state.socket === socket) onFrame(event.data); };
    socket.onclose = function (event) { if (state.socket === socket) onClose(event, opened); };
  }

  function scheduleReconnect() {
    if (state.retryTimer) return;
    var delay = state.retryMs * (0.75 + Math.random() * 0.5);  // jitter: not all at once
    state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
    state.retryTimer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (state.socket) return;
    state.retryMs = RETRY_MIN_MS;
    connect();
  }

  // Forget the current socket (its late events are ignored) and connect again.
  function dropSocket(immediately) {
    var socket = state.socket;
    state.socket = null;
    stopPing();
    if (socket) {
      try { socket.close(); } catch (e) { /* already closing */ }
    }
    setSocketState("closed");
    if (immediately) reconnectNow();
    else { lostConnection(); scheduleReconnect(); }
  }

  function send(message) {
    var socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function sendWhenOpen(message) {
    if (!send(message)) state.control.push(message);
  }

  function onOpen() {
    if (state.probing) {
      // The server answers without the token: try the token once more, at once.
      state.probing = false;
      state.probed = true;
      dropSocket(true);
      return;
    }
    state.probed = false;
    setSocketState("open");
    state.awaitingPong = false;
    state.sentNow = {};
    startPing();
    if (state.everOpen) showConnection(_("Connected again."), "ok");
    state.everOpen = true;
    if (state.token) {
      // The server sends the whole transcript on connect; sync covers a server that
      // answers the token without it, and costs nothing when it does (shown once).
      if (state.lastId > 0) send({type: "sync", after: state.lastId});
      resendOutbox();
    } else if (state.pendingStart) {
      if (send(state.pendingStart)) state.sentNow[state.pendingStart.client_id] = true;
    }
    if (state.leave && !state.leaveSent) state.leaveSent = send(state.leave);
    var waiting = state.control;
    state.control = [];
    waiting.forEach(sendWhenOpen);
  }

  // A refused token closes with 4403. A server that refuses it during the handshake shows
  // the browser only a failed connection (1006), like a network failure; then one connection
  // without the token tells the two apart: if that one opens and the token fails again, the
  // token was refused. One failure alone never throws a conversation away.
  function onClose(event, opened) {
    state.socket = null;
    stopPing();
    setSocketState("closed");
    if (state.token && !opened && !state.probing) {
      if (state.probed) {
        tokenRefused();
        return;
      }
      state.probing = true;
    }
    if (event.code === 4403 && state.token) {
      tokenRefused();
      return;
    }
    if (state.leave && state.leaveSent) {
      // Sent, but the answer never came: the customer decides whether to send it again.
      state.leave = null;
      state.leaveSent = false;
      el.startSubmit.disabled = false;
      showStartError(_("The connection dropped before we could confirm your message. Please send it again."));
    }
    lostConnection();
    scheduleReconnect();
  }

  function startPing() {
    stopPing();
    state.pingTimer = setInterval(function () {
      if (state.awaitingPong) {
        dropSocket(false);  // no answer to the last ping: the connection is dead
        return;
      }
      state.awaitingPong = send({type: "ping"});
    }, PING_EVERY_MS);
  }

  function stopPing() {
    clearInterval(state.pingTimer);
    state.pingTimer = null;
    state.awaitingPong = false;
  }

  function resendOutbox() {
    if (!state.token) return;  // before the session exists, `start` carries the first message
    state.outbox.forEach(function (entry) {
      if (state.sentNow[entry.client_id]) return;
      if (send({type: "message", client_id: entry.client_id, text: entry.text})) {
        state.sentNow[entry.client_id] = true;
      }
    });
  }

  // --- What the server says ------------------------------------------------------------------

  function onFrame(data) {
    var message;
    try {
      message = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    state.awaitingPong = false;
    state.retryMs = RETRY_MIN_MS;  // the server answers: the next drop starts over at 1 s
    if (Object.prototype.hasOwnProperty.call(handlers, message.type)) handlers[message.type](message);
  }

  var handlers = {
    status: function (m) { showStatus(m.online, m.wait_seconds); },

    session: function (m) {
      var started = !!state.pendingStart;
      if (m.token) {
        state.token = m.token;
        store.set("token", m.token);
      }
      state.pendingStart = null;
      store.set("start", null);
      showView("conversation");
      (m.messages || []).forEach(function (message) { addMessage(message, false); });
      setSession(m.state, m.agent, m.position, !started);
      resendOutbox();  // anything typed while the chat was starting
      el.end.disabled = state.session === "ended";
      checkRead();
    },

    ack: function (m) { acknowledge(m.client_id, m.id); },

    message: function (m) {
      addMessage(m.message, true);
      checkRead();
    },

    messages: function (m) {
      (m.messages || []).forEach(function (message) { addMessage(message, false); });
      checkRead();
    },

    state: function (m) { setSession(m.state, m.agent, m.position, false); },

    typing: function () { showAgentTyping(); },

    read: function (m) {
      if (typeof m.up_to !== "number") return;
      state.agentReadUpTo = Math.max(state.agentReadUpTo, m.up_to);
      Object.keys(state.byId).forEach(function (id) {
        var item = state.byId[id];
        if (item.dataset.from === "customer" && Number(id) <= state.agentReadUpTo) {
          setReceipt(item, "read");
        }
      });
    },

    error: function (m) { handleError(m.code, m.message); },

    left_message: function (m) {
      state.leave = null;
      state.leaveSent = false;
      store.set("leave", null);
      el.startSubmit.disabled = false;
      el.startForm.reset();
      el.leftReference.textContent = m.reference || "";
      setSessionName("left");
      showView("left");
      el.leftTitle.focus();
    },

    transcript_sent: function () {
      var email = store.get("email");
      el.transcriptStatus.textContent = email
        ? fill(_("We sent the transcript to %(email)s."), {email: email})
        : _("We sent the transcript to your email address.");
      el.transcript.disabled = false;
    },

    rated: function () {
      el.rating.hidden = true;
      el.rated.hidden = false;
      el.rated.setAttribute("tabindex", "-1");
      el.rated.focus();
    },

    pong: function () {}
  };

  function handleError(code, serverText) {
    // The server's text names the case (which limit, which field); ours is the fallback.
    var text = (typeof serverText === "string" && serverText) || ERRORS[code] ||
      _("Something went wrong. Please try again.");
    if (state.pendingStart) {
      startRefused(code, text);
      return;
    }
    if (state.leave) {
      state.leave = null;
      state.leaveSent = false;
      el.startSubmit.disabled = false;
      showStartError(text);
      return;
    }
    if (code === "ended") setSession("ended", state.agent, null, false);
    if (code === "rate_limited" && state.outbox.length) {
      retryOutboxLater();
      text += " Messages not sent yet go out again in a moment.";
    }
    // Whatever was waiting for an answer can be tried again.
    el.transcript.disabled = false;
    el.rate.disabled = false;
    el.end.disabled = state.session === "ended";
    if (el.conversation.hidden) showStartError(text);
    else showConversationError(text);
  }

  function retryOutboxLater() {
    clearTimeout(state.rateLimitTimer);
    state.rateLimitTimer = setTimeout(function () {
      state.sentNow = {};  // same client ids: the server stores each once
      resendOutbox();
    }, RATE_LIMIT_RETRY_MS);
  }

  function tokenRefused() {
    // A forged or expired token: that conversation is gone for this page.
    state.probing = false;
    state.probed = false;
    forgetChat();
    showView("start");
    setFormMode(state.online === 0 ? "message" : "chat");
    showStartError(_("Your chat session has expired. Start a new chat if you still need help."));
    reconnectNow();
  }

  // --- The start form and "leave a message" ----------------------------------------------------

  function formatWait(seconds) {
    if (typeof seconds !== "number" || seconds < 0) return "";
    if (seconds < 60) return _("less than a minute");
    var minutes = Math.round(seconds / 60);
    return minutes === 1 ? _("about 1 minute") : fill(_("about %(minutes)s minutes"), {minutes: minutes});
  }

  function showStatus(online, waitSeconds) {
    if (typeof online !== "number") return;
    state.online = online;
    state.waitSeconds = typeof waitSeconds === "number" ? waitSeconds : null;
    var isOnline = online > 0;
    body.dataset.chatOnline = isOnline ? "yes" : "no";
    el.status.dataset.online = isOnline ? "yes" : "no";
    var wait = formatWait(state.waitSeconds);
    el.statusText.textContent = isOnline
      ? _("We are online.") + (wait ? " " + fill(_("Expected wait: %(wait)s."), {wait: wait}) : "")
      : _("Nobody is online right now.");
    // The form follows who is online, unless a request from it is on its way.
    if (!state.pendingStart && !state.leave) setFormMode(isOnline ? "chat" : "message");
    if (state.session === "waiting") showQueue();
  }

  function setFormMode(mode) {
    el.startForm.dataset.mode = mode;
    if (mode === "chat") {
      el.startTitle.textContent = _("Chat with support");
      el.startIntro.textContent = _("Tell us what you need and an agent joins you here.");
      el.startSubmit.textContent = _("Start chat");
    } else {
      el.startTitle.textContent = _("Leave us a message");
      el.startIntro.textContent = _("Leave your message and we answer by email.");
      el.startSubmit.textContent = _("Send message");
    }
  }

  function showStartError(text) {
    el.startError.textContent = text;
    el.startError.hidden = !text;
  }

  function tooLong(text) {
    if (text.length > MAX_CHARS) return true;
    var frame = JSON.stringify({type: "message", client_id: SAMPLE_CLIENT_ID, text: text});
    var bytes = window.TextEncoder ? new TextEncoder().encode(frame).length : frame.length * 3;
    return bytes > MAX_FRAME_BYTES;
  }

  el.startForm.addEventListener("submit", function (event) {
    event.preventDefault();
    showStartError("");
    if (!el.startForm.reportValidity()) return;
    var name = el.name.value.trim();
    var email = el.email.value.trim();
    var text = el.first.value.trim();
    if (!name || !text) {
      showStartError(_("Please fill in your name and your question."));
      (name ? el.first : el.name).focus();
      return;
    }
    if (tooLong(text)) {
      showStartError(ERRORS.too_long);
      el.first.focus();
      return;
    }
    store.set("email", email);
    if (el.startForm.dataset.mode === "message") {
      state.leave = {type: "leave_message", name: name, email: email, text: text,
                     form: el.startForm.dataset.ticketForm || "", fields: preFormFields()};
      state.leave.client_id = leaveClientId(state.leave);
      state.leaveSent = send(state.leave);
      el.startSubmit.disabled = true;
      return;
    }
    startChat(name, email, text);
  });

  // A left message's client id: the same message sent again (after a dropped connection,
  // even after a reload) keeps its id, so the server opens one ticket for it and confirms
  // it again; a changed message is a new one.
  function leaveClientId(request) {
    var key = JSON.stringify([request.name, request.email, request.text, request.form,
                              request.fields]);
    var last = store.get("leave");
    if (last && last.key === key && typeof last.client_id === "string") return last.client_id;
    var clientId = newClientId();
    store.set("leave", {key: key, client_id: clientId});
    return clientId;
  }

  // The kind of request's own questions (custom fields) in the start form, by input name:
  // a multi-select's ticked choices as a list, a lone checkbox as true or false.
  function preFormFields() {
    var fields = {};
    var inputs = el.startForm.querySelectorAll('[name^="field_"]');
    Array.prototype.forEach.call(inputs, function (input) {
      if (input.type !== "checkbox") {
        fields[input.name] = input.value;
        return;
      }
      var alike = el.startForm.querySelectorAll('[name="' + input.name + '"]');
      if (alike.length === 1) {
        fields[input.name] = input.checked;
        return;
      }
      fields[input.name] = fields[input.name] || [];
      if (input.checked) fields[input.name].push(input.value);
    });
    return fields;
  }

  function startChat(name, email, text) {
    forgetChat();
    var clientId = newClientId();
    state.pendingStart = {type: "start", name: name, email: email, text: text, client_id: clientId,
                          form: el.startForm.dataset.ticketForm || "", fields: preFormFields()};
    store.set("start", state.pendingStart);
    store.set("email", email);
    var entry = {client_id: clientId, text: text, at: new Date().toISOString()};
    state.outbox.push(entry);
    saveOutbox();
    setSessionName("starting");
    setTitle(_("Starting your chat…"));
    showView("conversation");
    showPending(entry);
    if (send(state.pendingStart)) state.sentNow[clientId] = true;
    el.text.focus();
  }

  // The chat could not start (nobody online any more, or the request was refused): back to
  // the form with everything the customer wrote, nothing lost.
  function startRefused(code, text) {
    var start = state.pendingStart;
    var written = state.outbox.map(function (entry) { return entry.text; }).join("\n\n");
    forgetChat();
    showView("start");
    el.name.value = start.name;
    el.email.value = start.email;
    el.first.value = written.slice(0, MAX_CHARS);
    el.first.dispatchEvent(new Event("input"));
    setFormMode(code === "offline" || state.online === 0 ? "message" : "chat");
    showStartError(text);
    el.startTitle.focus();
  }

  // --- The conversation ----------------------------------------------------------------------

  function showView(name) {
    el.start.hidden = name !== "start";
    el.left.hidden = name !== "left";
    el.conversation.hidden = name !== "conversation";
    body.dataset.chatView = name;
  }

  function setTitle(text) { el.title.textContent = text; }

  function setSessionName(name) {
    state.session = name;
    body.dataset.chatSession = name;
  }

  function setSession(name, agent, position, quiet) {
    if (name !== "waiting" && name !== "active" && name !== "ended") return;
    var previous = state.session;
    if (typeof agent === "string" && agent) state.agent = agent;
    state.position = typeof position === "number" ? position : null;
    setSessionName(name);
    if (name === "waiting") {
      setTitle(_("Waiting for an agent"));
      showQueue();
    } else if (name === "active") {
      setTitle(state.agent ? fill(_("Chat with %(agent)s"), {agent: state.agent}) : _("Chat with support"));
      el.queue.textContent = previous !== "active" && !quiet && state.agent
        ? fill(_("%(agent)s joined the chat."), {agent: state.agent}) : "";
    } else {
      if (state.agent) setTitle(fill(_("Chat with %(agent)s"), {agent: state.agent}));
      el.queue.textContent = "";
      showEnded(previous !== "ended" && !quiet);
    }
  }

  function showQueue() {
    var parts = [];
    if (state.online === 0) {
      // Told by the heartbeat while waiting: the agents who were online have all gone.
      el.queue.textContent = _("Nobody is online right now. Your messages are kept: if nobody joins, we answer by email.");
      return;
    }
    if (state.position === 1) parts.push(_("You are next in the queue."));
    else if (state.position) parts.push(fill(_("You are number %(position)s in the queue."), {position: state.position}));
    else parts.push(_("An agent will be with you shortly."));
    var wait = formatWait(state.waitSeconds);
    if (wait && state.online) parts.push(fill(_("Expected wait: %(wait)s."), {wait: wait}));
    el.queue.textContent = parts.join(" ");
  }

  function showEnded(moveFocus) {
    hideAgentTyping();
    el.composer.hidden = true;
    el.ended.hidden = false;
    // Messages the server never took cannot be delivered into an ended chat.
    state.outbox.forEach(function (entry) {
      var item = state.byClientId[entry.client_id];
      if (item && !item.dataset.id) setReceipt(item, "failed");
    });
    state.outbox = [];
    saveOutbox();
    if (moveFocus) el.endedTitle.focus();
  }

  function showConversationError(text) {
    el.error.textContent = text;
    el.error.hidden = !text;
  }

  function showConnection(text, kind) {
    clearTimeout(state.connectionTimer);
    el.connection.textContent = text;
    el.connection.dataset.kind = kind || "";
    if (kind === "ok") {
      state.connectionTimer = setTimeout(function () { el.connection.textContent = ""; }, 4000);
    }
  }

  function lostConnection() {
    if (state.session === "none") {
      el.statusText.textContent = _("Cannot reach the chat right now; trying again…");
      el.status.dataset.online = "unknown";
    }
    if (state.session !== "none" && state.session !== "left") {
      showConnection(_("Connection lost. Reconnecting… Your messages go out as soon as we are back."), "lost");
    }
  }

  function formatTime(at) {
    var date = at ? new Date(at) : null;
    if (!date || isNaN(date.getTime())) return "";
    return date.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }

  function renderMessage(from, name, text, at) {
    var sender = SENDERS[from] ? from : "system";
    var item = document.createElement("li");
    item.className = "chat-msg chat-msg-" + sender;
    item.dataset.from = sender;
    var meta = document.createElement("p");
    meta.className = "chat-meta";
    var who = document.createElement("span");
    who.className = "chat-name";
    who.textContent = sender === "customer" ? _("You") : (name || (sender === "agent" ? _("Agent") : _("Help desk")));
    var when = document.createElement("time");
    if (at) when.setAttribute("datetime", at);
    when.textContent = formatTime(at);
    meta.appendChild(who);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(when);
    var content = document.createElement("p");
    content.className = "chat-text";
    content.textContent = text;
    item.appendChild(meta);
    item.appendChild(content);
    if (sender === "customer") {
      var receipt = document.createElement("p");
      receipt.className = "chat-receipt";
      item.appendChild(receipt);
    }
    return item;
  }

  function setReceipt(item, kind) {
    var receipt = item.querySelector(".chat-receipt");
    if (!receipt) return;
    // Read is final: a late ack does not turn it back into _("Sent").
    if (item.dataset.receipt === "read" && kind === "sent") return;
    item.dataset.receipt = kind;
    receipt.textContent = RECEIPTS[kind];
  }

  function nearBottom() {
    return el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 80;
  }

  function scrollDown() { el.log.scrollTop = el.log.scrollHeight; }

  // Messages with ids stay in id order; messages still without one come last.
  function place(item, id) {
    var before = null;
    for (var node = el.log.lastElementChild; node; node = node.previousElementSibling) {
      if (node === item) continue;
      var nodeId = node.dataset.id ? Number(node.dataset.id) : Infinity;
      if (nodeId > id) before = node;
      else break;
    }
    if (item.nextElementSibling !== before || item.parentNode !== el.log) {
      el.log.insertBefore(item, before);
    }
  }

  function bindId(item, id) {
    item.dataset.id = String(id);
    state.byId[id] = item;
    var previous = item.previousElementSibling;
    if (previous && (previous.dataset.id ? Number(previous.dataset.id) : Infinity) > id) {
      place(item, id);
    }
  }

  function showPending(entry) {
    if (state.byClientId[entry.client_id]) return;
    var item = renderMessage("customer", "", entry.text, entry.at);
    item.dataset.clientId = entry.client_id;
    state.byClientId[entry.client_id] = item;
    setReceipt(item, "sending");
    el.log.appendChild(item);
    scrollDown();
  }

  function addMessage(m, live) {
    if (!m || typeof m.id !== "number") return;
    if (state.byId[m.id]) return;  // shown already
    var stick = nearBottom();
    var item = m.client_id ? state.byClientId[m.client_id] : null;
    if (item) {
      // Our own message, stored: the pending copy becomes the stored one.
      removeFromOutbox(m.client_id);
      var when = item.querySelector("time");
      if (m.at && when) {
        when.setAttribute("datetime", m.at);
        when.textContent = formatTime(m.at);
      }
      bindId(item, m.id);
    } else {
      item = renderMessage(m.from, m.name, typeof m.text === "string" ? m.text : "", m.at);
      if (m.client_id) {
        item.dataset.clientId = m.client_id;
        state.byClientId[m.client_id] = item;
      }
      item.dataset.id = String(m.id);
      state.byId[m.id] = item;
      place(item, m.id);
    }
    if (item.dataset.from === "customer") {
      setReceipt(item, m.id <= state.agentReadUpTo ? "read" : "sent");
    }
    state.lastId = Math.max(state.lastId, m.id);
    if (item.dataset.from === "agent") {
      state.lastAgentId = Math.max(state.lastAgentId, m.id);
      hideAgentTyping();
      if (readObserver) readObserver.observe(item);
      if (live) tellParent("message");
    }
    if (stick || item.dataset.from === "customer") scrollDown();
  }

  function acknowledge(clientId, id) {
    if (typeof clientId !== "string") return;
    removeFromOutbox(clientId);
    showConversationError("");
    var item = state.byClientId[clientId];
    if (!item || typeof id !== "number") return;
    var shown = state.byId[id];
    if (shown && shown !== item) shown.remove();  // never twice
    if (item.dataset.id !== String(id)) bindId(item, id);
    setReceipt(item, id <= state.agentReadUpTo ? "read" : "sent");
  }

  function removeFromOutbox(clientId) {
    var before = state.outbox.length;
    state.outbox = state.outbox.filter(function (entry) { return entry.client_id !== clientId; });
    if (state.outbox.length !== before) saveOutbox();
  }

  // Forget the conversation in this page and in sessionStorage (a new chat, or a refused token).
  function forgetChat() {
    state.token = null;
    state.pendingStart = null;
    state.outbox = [];
    state.sentNow = {};
    state.control = [];
    state.lastId = 0;
    state.readSent = 0;
    state.agentReadUpTo = 0;
    state.lastAgentId = 0;
    state.byId = {};
    state.byClientId = {};
    state.visibleAgentIds = {};
    state.agent = null;
    state.position = null;
    if (readObserver) readObserver.disconnect();
    store.set("token", null);
    store.set("start", null);
    saveOutbox();
    while (el.log.firstChild) el.log.removeChild(el.log.firstChild);
    setSessionName("none");
    hideAgentTyping();
    showConversationError("");
    showConnection("", "");
    el.queue.textContent = "";
    el.composer.hidden = false;
    el.end.disabled = true;
    el.ended.hidden = true;
    el.rating.reset();
    el.rating.hidden = false;
    el.rate.disabled = false;
    el.rated.hidden = true;
    el.transcript.disabled = false;
    el.transcriptStatus.textContent = "";
  }

  // --- Typing, read receipts ------------------------------------------------------------------

  function showAgentTyping() {
    if (state.session === "ended") return;
    var text = state.agent ? fill(_("%(agent)s is typing…"), {agent: state.agent}) : _("The agent is typing…");
    if (el.typing.textContent !== text) el.typing.textContent = text;  // announced once
    clearTimeout(state.agentTypingTimer);
    state.agentTypingTimer = setTimeout(hideAgentTyping, AGENT_TYPING_SHOWN_MS);
  }

  function hideAgentTyping() {
    clearTimeout(state.agentTypingTimer);
    if (el.typing.textContent) el.typing.textContent = "";
  }

  // An agent's message counts as read once it is on screen while the page is visible (the
  // widget's closed panel hides the frame, and then nothing is on screen).
  var readObserver = window.IntersectionObserver
    ? new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        var id = Number(entry.target.dataset.id);
        if (entry.isIntersecting) state.visibleAgentIds[id] = true;
        else delete state.visibleAgentIds[id];
      });
      checkRead();
    })
    : null;

  function checkRead() {
    if (!state.token || document.visibilityState !== "visible") return;
    var upTo = 0;
    if (readObserver) {
      Object.keys(state.visibleAgentIds).forEach(function (id) { upTo = Math.max(upTo, Number(id)); });
    } else {
      upTo = state.lastAgentId;
    }
    if (upTo > state.readSent && send({type: "read", up_to: upTo})) state.readSent = upTo;
  }

  // --- The composer and the buttons ------------------------------------------------------------

  function bindCounter(textarea) {
    var output = root.querySelector('[data-count-for="' + textarea.id + '"]');
    function update() {
      var count = textarea.value.length;
      output.textContent = count.toLocaleString("en") + " / 2,000 characters";
      output.classList.toggle("chat-count-near", count > MAX_CHARS * 0.9);
    }
    textarea.addEventListener("input", update);
    update();
  }

  el.text.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    sendComposer();
  });

  el.text.addEventListener("input", function () {
    var now = Date.now();
    if (!el.text.value.trim() || state.session === "ended" || !state.token) return;
    if (now - state.lastTypingSent < TYPING_EVERY_MS) return;
    if (send({type: "typing"})) state.lastTypingSent = now;
  });

  el.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    sendComposer();
  });

  function sendComposer() {
    var text = el.text.value.trim();
    if (!text || state.session === "ended") return;
    if (tooLong(text)) {
      showConversationError(ERRORS.too_long);
      return;
    }
    showConversationError("");
    var entry = {client_id: newClientId(), text: text, at: new Date().toISOString()};
    state.outbox.push(entry);
    saveOutbox();
    showPending(entry);
    // Before the session exists there is no token: the outbox goes out when it comes.
    if (state.token && send({type: "message", client_id: entry.client_id, text: text})) {
      state.sentNow[entry.client_id] = true;
    }
    el.text.value = "";
    el.text.dispatchEvent(new Event("input"));
    el.text.focus();
  }

  el.end.addEventListener("click", function () {
    if (!state.token || state.session === "ended") return;
    el.end.disabled = true;
    sendWhenOpen({type: "end"});
  });

  el.transcript.addEventListener("click", function () {
    el.transcript.disabled = true;
    el.transcriptStatus.textContent = _("Sending the transcript…");
    sendWhenOpen({type: "transcript"});
  });

  el.rating.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!el.rating.reportValidity()) return;
    var chosen = el.rating.querySelector("input[name=rating]:checked");
    el.rate.disabled = true;
    sendWhenOpen({
      type: "rate",
      rating: Number(chosen.value),
      comment: el.rating.elements.comment.value.trim()
    });
  });

  el.again.addEventListener("click", function () {
    forgetChat();
    showView("start");
    setFormMode(state.online === 0 ? "message" : "chat");
    el.first.value = "";
    el.first.dispatchEvent(new Event("input"));
    // The socket belongs to the old chat's token: start over without it.
    dropSocket(true);
    el.startTitle.focus();
  });

  // --- The widget around the page ----------------------------------------------------------

  function tellParent(what) {
    if (!EMBEDDED) return;
    // Nothing private: the widget only shows a dot or closes its panel.
    window.parent.postMessage({source: "helpdesk-chat", type: what}, "*");
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !event.defaultPrevented) tellParent("close");
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    checkRead();
    reconnectNow();  // back from the background: no need to wait for the backoff
  });
  window.addEventListener("online", reconnectNow);

  // --- Start ------------------------------------------------------------------------------

  bindCounter(el.first);
  bindCounter(el.text);
  el.end.disabled = true;
  if (state.token || state.pendingStart) {
    // A reload: show what is known at once; the server's `session` fills in the rest.
    setSessionName(state.token ? "resuming" : "starting");
    setTitle(state.token ? _("Reconnecting to your chat…") : _("Starting your chat…"));
    showView("conversation");
    state.outbox.forEach(showPending);
  } else {
    setSessionName("none");
    showView("start");
  }
  connect();
})();
