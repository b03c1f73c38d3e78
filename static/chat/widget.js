// The embeddable chat widget. One line on any website:
//
//   <script src="https://help.example.com/static/chat/widget.js" async></script>
//
// adds a "Chat with support" button (bottom right) that opens the help desk's chat page
// (/support/chat/?embed=1, on the origin this script came from) in a panel, and closes it.
// `data-helpdesk-origin="https://help.example.com"` on the tag names the help desk when the
// static files are served from elsewhere (a CDN). Button and panel live in one shadow root,
// so the site's styles and ours leave each other alone; the only global is
// window.HelpdeskChat ({open, close, toggle}). The button wears the help desk's brand (its
// name and primary colour, from /brand/widget.json on the same origin).
(function () {
  "use strict";

  if (window.HelpdeskChat) return;  // the snippet is on the page twice

  // currentScript is this tag while it runs, async or not; the lookup is for odd loaders.
  var script = document.currentScript ||
    document.querySelector('script[src*="/static/chat/widget.js"]');
  if (!script || !script.src) return;
  var origin = script.getAttribute("data-helpdesk-origin") ||
    new URL(script.src, document.baseURI).origin;
  origin = new URL(origin).origin;
  var CHAT_URL = origin + "/support/chat/?embed=1";
  // The button sits on the host site, outside the help desk's pages and their catalogue
  // (/jsi18n/): its three strings come in the help desk's languages from this table, in
  // the host page's language (<html lang>), else the browser's. `data-label` on the tag
  // names the button otherwise. The chat inside the panel follows the browser's language.
  var STRINGS = {
    en: {label: "Chat with support", unread: " (new message)", close: "Close chat"},
    de: {label: "Mit dem Support chatten", unread: " (neue Nachricht)", close: "Chat schließen"}
  };
  var wanted = (document.documentElement.lang || navigator.language || "en").slice(0, 2);
  var TEXT = STRINGS[wanted.toLowerCase()] || STRINGS.en;
  var LABEL = script.getAttribute("data-label") || TEXT.label;
  // The brand's look (colours, "Chat with <company>" in that language).
  var LOOK_URL = origin + "/brand/widget.json?lang=" + encodeURIComponent(wanted.toLowerCase());

  var CSS = [
    ":host { all: initial; }",
    ".launcher, .panel { font: 1rem/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }",
    ".launcher { position: fixed; right: 1rem; bottom: 1rem; z-index: 2147483000;",
    "  display: inline-flex; align-items: center; gap: .5rem; padding: .75rem 1.15rem;",
    "  border: 0; border-radius: 999px; background: var(--hd-primary, #1e5bb8); color: var(--hd-ink, #fff); font-weight: 600;",
    "  cursor: pointer; box-shadow: 0 4px 14px rgba(0, 0, 0, .25); }",
    ".launcher:hover { background: var(--hd-hover, #174a96); }",
    ".launcher:focus-visible, .close:focus-visible { outline: 3px solid #93b4ea; outline-offset: 2px; }",
    ".icon { width: 1.25rem; height: 1.25rem; fill: currentColor; flex: none; }",
    ".dot { width: .65rem; height: .65rem; border-radius: 50%; background: #fbbf24; }",
    ".dot[hidden], .panel[hidden] { display: none; }",
    ".panel { position: fixed; right: 1rem; bottom: 5rem; z-index: 2147483000;",
    "  display: flex; flex-direction: column; width: min(24rem, calc(100vw - 2rem));",
    "  height: min(38rem, calc(100vh - 6.5rem)); overflow: hidden; background: #fff;",
    "  border: 1px solid #cbd2d9; border-radius: .75rem; box-shadow: 0 10px 30px rgba(0, 0, 0, .25); }",
    ".bar { display: flex; align-items: center; justify-content: space-between;",
    "  padding: .4rem .4rem .4rem 1rem; background: var(--hd-primary, #1e5bb8); color: var(--hd-ink, #fff); font-weight: 600; }",
    ".close { margin: 0; padding: .2rem .65rem; border: 0; border-radius: .375rem;",
    "  background: transparent; color: #fff; font: inherit; font-size: 1.5rem; line-height: 1; cursor: pointer; }",
    ".close:hover { background: rgba(255, 255, 255, .15); }",
    "iframe { flex: 1; width: 100%; border: 0; background: #fff; }",
    // Phones: the panel takes the screen; its own close button replaces the launcher.
    "@media (max-width: 30rem) {",
    "  .panel { inset: 0; width: auto; height: auto; border: 0; border-radius: 0; }",
    "  .launcher[aria-expanded='true'] { display: none; }",
    "}"
  ].join("\n");

  var launcher = null, panel = null, closeButton = null, frame = null, dot = null;
  var host = null, barLabel = null, launcherText = null;
  var HEX = /^#[0-9a-f]{6}$/;

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function build() {
    if (launcher) return;
    host = element("div", {"data-helpdesk-chat": ""});
    var shadow = host.attachShadow({mode: "open"});
    var style = element("style");
    style.textContent = CSS;

    panel = element("div", {id: "panel", "class": "panel", role: "dialog", "aria-label": LABEL});
    panel.hidden = true;
    var bar = element("div", {"class": "bar"});
    barLabel = element("span", {"aria-hidden": "true"}, LABEL);
    bar.appendChild(barLabel);
    closeButton = element("button", {type: "button", "class": "close", "aria-label": TEXT.close}, "×");
    bar.appendChild(closeButton);
    panel.appendChild(bar);

    launcher = element("button", {
      type: "button", "class": "launcher", "aria-expanded": "false", "aria-controls": "panel"
    });
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    launcher.appendChild(svg);
    launcherText = element("span", {"class": "text"}, LABEL);
    launcher.appendChild(launcherText);
    dot = element("span", {"class": "dot", "aria-hidden": "true"});
    dot.hidden = true;
    launcher.appendChild(dot);

    shadow.appendChild(style);
    shadow.appendChild(panel);
    shadow.appendChild(launcher);
    document.body.appendChild(host);

    launcher.addEventListener("click", toggle);
    closeButton.addEventListener("click", close);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close();
    });
    window.addEventListener("message", onFrameMessage);
    wearBrand();
  }

  // The brand's name and colours; the defaults above stay if they cannot be read.
  function wearBrand() {
    if (!window.fetch) return;
    fetch(LOOK_URL, {credentials: "omit"}).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (look) {
      if (!look) return;
      [["--hd-primary", look.primary], ["--hd-ink", look.primary_ink],
       ["--hd-hover", look.primary_hover]].forEach(function (pair) {
        if (typeof pair[1] === "string" && HEX.test(pair[1])) host.style.setProperty(pair[0], pair[1]);
      });
      if (!script.getAttribute("data-label") && typeof look.label === "string" && look.label) {
        LABEL = look.label.slice(0, 80);
        barLabel.textContent = LABEL;
        launcherText.textContent = LABEL;
        panel.setAttribute("aria-label", LABEL);
        if (frame) frame.setAttribute("title", LABEL);
      }
    }).catch(function () {});
  }

  // The chat page asks to close (Escape inside it) or says an agent wrote.
  function onFrameMessage(event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin) return;
    var data = event.data;
    if (!data || data.source !== "helpdesk-chat") return;
    if (data.type === "close") close();
    if (data.type === "message" && panel.hidden) setUnread(true);
  }

  function setUnread(unread) {
    dot.hidden = !unread;
    if (unread) launcher.setAttribute("aria-label", LABEL + TEXT.unread);
    else launcher.removeAttribute("aria-label");
  }

  function open() {
    build();
    if (!frame) {
      // Made on first open, so visitors who never chat never connect.
      frame = element("iframe", {title: LABEL, src: CHAT_URL});
      panel.appendChild(frame);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    setUnread(false);
    closeButton.focus();
  }

  function close() {
    if (!launcher || panel.hidden) return;
    panel.hidden = true;  // the frame stays, and with it the conversation
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function toggle() {
    build();
    if (panel.hidden) open();
    else close();
  }

  window.HelpdeskChat = {open: open, close: close, toggle: toggle};

  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build);
})();
