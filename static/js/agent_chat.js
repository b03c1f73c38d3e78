// The agent's chat console: messages both ways over the workspace socket, typing, read
// receipts, resend after a reconnect. Text is always inserted as text, never as HTML.
(function () {
  "use strict";
  var _ = window.gettext || function (text) { return text; };  // /agent/jsi18n/
  var consoleEl = document.getElementById("chat-console");
  if (!consoleEl || !window.helpdeskLive) return;
  var live = window.helpdeskLive;
  var chatId = parseInt(consoleEl.dataset.chat, 10);
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-composer");
  var text = document.getElementById("chat-text");
  var typingEl = document.getElementById("chat-typing");
  var readEl = document.getElementById("chat-read");
  var outbox = {};  // client id -> text, until acknowledged
  var typingTimer = null, lastTyping = 0;

  function lastId() {
    var items = log.querySelectorAll("li[data-id]");
    return items.length ? parseInt(items[items.length - 1].dataset.id, 10) : 0;
  }

  function render(message) {
    // The same message may come three ways (own pending copy, ack, the server's echo):
    // it is one bubble, found by its client id or its id, and updated in place.
    var pending = (message.client_id && log.querySelector('li[data-client="' + message.client_id + '"]')) ||
      (message.id && log.querySelector('li[data-id="' + message.id + '"]'));
    if (pending && pending.dataset.id && !message.at) return;
    var item = pending || document.createElement("li");
    item.className = "chat-msg chat-from-" + message.from;
    item.textContent = "";
    if (message.id) item.dataset.id = message.id;
    if (message.client_id) item.dataset.client = message.client_id;
    var name = document.createElement("span");
    name.className = "chat-name";
    name.textContent = message.name;
    var time = document.createElement("time");
    if (message.at) time.dateTime = message.at;
    time.textContent = message.at ? new Date(message.at).toTimeString().slice(0, 5) : _("sending…");
    var body = document.createElement("p");
    body.textContent = message.text;
    item.append(name, " ", time, body);
    if (!pending) log.appendChild(item);
    item.scrollIntoView({block: "end"});
    // "Read" is for the agent holding the chat to tell (the server ignores the others').
    if (message.from === "customer" && consoleEl.dataset.holder === "1" &&
        document.visibilityState === "visible") {
      live.send({type: "chat.read", chat: chatId, up_to: message.id});
    }
  }

  function sendPending() {
    Object.keys(outbox).forEach(function (clientId) {
      live.send({type: "chat.message", chat: chatId, client_id: clientId, text: outbox[clientId]});
    });
  }

  live.on(function (msg) {
    if (msg.type === "open") {
      // After a dropped connection, the server answers with what was said meanwhile.
      live.send({type: "chat.join", chat: chatId, after: lastId()});
      sendPending();  // anything not acknowledged before the connection dropped
      return;
    }
    if (msg.chat !== chatId) return;
    if (msg.type === "chat.message") {
      render(msg.message);
      typingEl.textContent = "";
    } else if (msg.type === "chat.messages") {
      msg.messages.forEach(render);
    } else if (msg.type === "chat.ack") {
      delete outbox[msg.client_id];
      var item = log.querySelector('li[data-client="' + msg.client_id + '"]');
      if (item) {
        item.dataset.id = msg.id;
        item.classList.add("acked");
        var time = item.querySelector("time");
        if (time && !time.dateTime) time.textContent = new Date().toTimeString().slice(0, 5);
      }
    } else if (msg.type === "chat.typing") {
      typingEl.textContent = _("The customer is typing…");
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingEl.textContent = ""; }, 5000);
    } else if (msg.type === "chat.read") {
      if (readEl) readEl.textContent = _("Seen by the customer");
    } else if (msg.type === "chat.state") {
      document.getElementById("chat-state").textContent = msg.state;
      if (msg.state === "ended") {
        var note = document.createElement("p");
        note.className = "notice";
        note.textContent = _("The customer's chat has ended.");
        log.after(note);
        if (form) form.hidden = true;
      }
    } else if (msg.type === "chat.error") {
      var error = document.createElement("p");
      error.className = "notice";
      error.setAttribute("role", "alert");
      error.textContent = msg.message;
      log.after(error);
    }
  });

  if (live.isOpen()) live.send({type: "chat.join", chat: chatId, after: lastId()});

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = text.value.trim();
      if (!value) return;
      var clientId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now() + Math.random());
      outbox[clientId] = value;
      render({client_id: clientId, from: "agent", name: _("You"), text: value, at: ""});
      live.send({type: "chat.message", chat: chatId, client_id: clientId, text: value});
      text.value = "";
      text.focus();
    });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    text.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 2000 && live.isOpen()) {  // else the next key press tells
        lastTyping = now;
        live.send({type: "chat.typing", chat: chatId});
      }
    });
    document.addEventListener("click", function (event) {
      var macro = event.target.closest(".chat-macro");
      if (macro) { text.value = macro.dataset.text; text.focus(); }
      var insert = event.target.closest(".insert-link");
      if (insert) { text.value = (text.value ? text.value + " " : "") + insert.dataset.insert; text.focus(); }
    });
  }
  var last = lastId();
  if (last && consoleEl.dataset.holder === "1") live.send({type: "chat.read", chat: chatId, up_to: last});
})();
