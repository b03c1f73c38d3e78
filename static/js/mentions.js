// The note box's @mentions: typing @ and the start of a colleague's name lists matching
// active staff; choosing one writes @username. Without it, typing @username works the same.
(function () {
  "use strict";
  var box = document.querySelector("textarea[data-mentions]");
  var list = document.getElementById("mention-list");
  if (!box || !list || !window.fetch) return;
  var choices = [], active = -1, timer = null, asked = 0;

  function typed() {
    // The word being typed, if it starts with @ (not an email address: nothing before @).
    var before = box.value.slice(0, box.selectionStart || 0);
    var match = /(^|[^\w.+-])@([\w.+-]*)$/.exec(before);
    return match ? match[2] : null;
  }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    choices = [];
    active = -1;
    box.removeAttribute("aria-activedescendant");
  }

  function show(results) {
    list.replaceChildren();
    choices = results;
    active = results.length ? 0 : -1;
    results.forEach(function (person, index) {
      var item = document.createElement("li");
      item.id = "mention-" + index;
      item.setAttribute("role", "option");
      item.dataset.username = person.username;
      item.textContent = person.name + " (@" + person.username + ")";
      list.appendChild(item);
    });
    list.hidden = !results.length;
    mark();
  }

  function mark() {
    Array.prototype.forEach.call(list.children, function (item, index) {
      item.setAttribute("aria-selected", index === active ? "true" : "false");
    });
    if (active >= 0) box.setAttribute("aria-activedescendant", "mention-" + active);
  }

  function choose(username) {
    var caret = box.selectionStart || 0;
    var before = box.value.slice(0, caret), after = box.value.slice(caret);
    var start = before.lastIndexOf("@");
    var text = before.slice(0, start) + "@" + username + " ";
    box.value = text + after;
    box.focus();
    box.setSelectionRange(text.length, text.length);
    close();
  }

  function lookUp() {
    var word = typed();
    if (word === null) { close(); return; }
    var mine = ++asked;
    fetch(box.dataset.mentions + "?q=" + encodeURIComponent(word), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {results: []}; })
      .then(function (data) { if (mine === asked) show(data.results || []); })
      .catch(close);
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookUp, 150);
  });
  box.addEventListener("keydown", function (event) {
    if (list.hidden || !choices.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      active = (active + (event.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
      mark();
      event.preventDefault();
    } else if (event.key === "Enter" || event.key === "Tab") {
      choose(choices[active].username);
      event.preventDefault();
    } else if (event.key === "Escape") {
      close();
    }
  });
  list.addEventListener("mousedown", function (event) {
    var item = event.target.closest("li[data-username]");
    if (item) { event.preventDefault(); choose(item.dataset.username); }
  });
  box.addEventListener("blur", function () { setTimeout(close, 150); });
})();
