/* Web chat: render the transcript, send text/buttons/files/locations, poll for feedback.

   Every message carries a message id ("mid") made once when it is sent and kept until the
   server has answered: on a network error or a server error the same message is sent again
   with the same id, so the server applies it once however often it arrives. A text, button
   or location not yet answered is also kept in localStorage, so a page reloaded mid-send
   sends it again (an upload is retried only while the page stays open). */
(function () {
  "use strict";
  var app = document.getElementById("app");
  var log = document.getElementById("log");
  var statusBox = document.getElementById("status");
  var text = document.getElementById("text");
  var fileInput = document.getElementById("file");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var token = app.dataset.token;
  var lastId = 0;
  // The page's language (web.i18n chose it from the browser's): Chinese, or English.
  var EN = document.documentElement.lang === "en";
  var lastTurn = -1;
  var busy = false;
  var TURN = /^t(\d+):/;  // a button bound to a turn of the conversation

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content != null) node.textContent = content;  // never innerHTML: text stays text
    return node;
  }

  function render(messages) {
    var added = false;
    messages.forEach(function (m) {
      if (m.id <= lastId) return;
      lastId = m.id;
      var li = el("li", "msg " + (m.dir === "in" ? "me" : "bot"));
      li.appendChild(el("div", "bubble", m.text));
      (m.buttons || []).forEach(function (row) {
        var div = el("div", "buttons");
        row.forEach(function (b) {
          var btn = el("button", "choice" + (b.style ? " " + b.style : ""), b.label);
          btn.type = "button";
          btn.dataset.callback = b.data;
          var turn = TURN.exec(b.data);
          if (turn) lastTurn = Math.max(lastTurn, +turn[1]);
          div.appendChild(btn);
        });
        li.appendChild(div);
      });
      log.appendChild(li);
      added = true;
    });
    if (added) {
      retire();
      window.scrollTo(0, document.body.scrollHeight);
    }
  }

  // Buttons of an earlier question no longer work (the engine would say so): grey them out.
  function retire() {
    log.querySelectorAll("button[data-callback]").forEach(function (btn) {
      var turn = TURN.exec(btn.dataset.callback);
      if (turn && +turn[1] < lastTurn) btn.disabled = true;
    });
  }

  function showStatus(message) {
    statusBox.textContent = message || "";
    statusBox.hidden = !message;
  }

  // Resolves to the server's answer, or to {ok: false, retry: true} when there was none
  // (no connection) or the server failed (5xx): then the same request may be sent again.
  function call(url, options) {
    options = options || {};
    options.headers = options.headers || {};
    options.headers["X-CSRFToken"] = csrf;
    options.credentials = "same-origin";
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    return fetch(url + sep + "after=" + lastId, options).then(function (r) {
      return r.json().catch(function () {
        return { ok: false, error: (EN ? "Network or server error (" + r.status + "); please try again later." : "网络或服务器出错（" + r.status + "），请稍后再试。") };
      }).then(function (data) {
        if (r.status >= 500) data.retry = true;
        return data;
      });
    }).then(function (data) {
      if (data.messages) render(data.messages);
      showStatus(data.ok ? "" : data.error);
      return data;
    }).catch(function () {
      showStatus(EN ? "No connection; check the network and try again." : "网络连接失败，请检查网络后重试。");
      return { ok: false, retry: true };
    });
  }

  function newMid() {
    var bytes = new Uint8Array(16), out = "";
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    for (var j = 0; j < bytes.length; j++) out += ("0" + bytes[j].toString(16)).slice(-2);
    return "m" + out;
  }

  // The message sent but not yet answered, kept across a reload of the page.
  var PENDING = "minyi-pending:" + location.pathname;
  var PENDING_FOR = 3600 * 1000;  // older than this, a reloaded page forgets it
  function keepPending(item) {
    try {
      if (item) localStorage.setItem(PENDING, JSON.stringify(item));
      else localStorage.removeItem(PENDING);
    } catch (err) { /* private mode: retried while the page stays open */ }
  }
  function takePending() {
    try {
      var item = JSON.parse(localStorage.getItem(PENDING) || "null");
      if (item && item.url && item.body && Date.now() - item.at < PENDING_FOR) return item;
    } catch (err) { /* nothing kept */ }
    keepPending(null);
    return null;
  }

  // Send one request until the server answers it: after a network or server error, again
  // with the same body (and so the same mid), waiting 1, 2, 4 … 30 s, for about five minutes.
  function deliver(url, makeOptions) {
    var wait = 1000, waited = 0;
    function attempt() {
      return call(url, makeOptions()).then(function (data) {
        if (!data.retry || waited > 300000) return data;
        return new Promise(function (resolve) { setTimeout(resolve, wait); }).then(function () {
          waited += wait;
          wait = Math.min(wait * 2, 30000);
          return attempt();
        });
      });
    }
    return attempt();
  }

  function post(item) {
    busy = true;
    app.classList.add("busy");
    return deliver(item.url, function () {
      return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(item.body) };
    }).then(function (data) {
      if (!data.retry) keepPending(null);  // answered (or refused): no longer ours to resend
      busy = false;
      app.classList.remove("busy");
      return data;
    });
  }

  function send(body, url) {
    if (busy) return Promise.resolve();
    body.mid = newMid();
    var item = { url: url || app.dataset.send, body: body, at: Date.now() };
    keepPending(item);
    return post(item);
  }

  document.getElementById("compose").addEventListener("submit", function (e) {
    e.preventDefault();
    var value = text.value.trim();
    if (!value) return;
    send({ text: value }).then(function () { text.value = ""; text.focus(); });
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      document.getElementById("send").click();
    }
  });
  log.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-callback]");
    if (b) send({ callback: b.dataset.callback });
  });
  document.getElementById("menu").addEventListener("click", function (e) {
    var b = e.target.closest("button[data-callback]");
    if (b) send({ callback: b.dataset.callback });
  });
  fileInput.addEventListener("change", function () {
    var f = fileInput.files[0];
    if (!f) return;
    var form = new FormData();
    form.append("file", f, f.name);
    form.append("mid", newMid());
    showStatus((EN ? "Uploading " : "正在上传 ") + f.name + " …");
    busy = true;
    deliver(app.dataset.upload, function () { return { method: "POST", body: form }; }).then(function () {
      busy = false;
      fileInput.value = "";
    });
  });
  document.getElementById("where").addEventListener("click", function () {
    if (!navigator.geolocation) { showStatus(EN ? "This browser cannot tell the location; please type the address." : "此浏览器无法获取位置，请直接输入地址。"); return; }
    showStatus(EN ? "Getting the location…" : "正在获取位置…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      send({ lat: pos.coords.latitude, lng: pos.coords.longitude }, app.dataset.location);
    }, function () { showStatus(EN ? "Could not get the location; please type the address." : "无法获取位置，请直接输入地址。"); }, { timeout: 15000 });
  });

  function poll() {
    if (document.visibilityState === "visible" && !busy) call(app.dataset.poll);
  }

  // Opening the page (a scan, a follow link, the browser's history) lets the engine say
  // what the visitor came back for; a reload of the same tab simply shows the transcript.
  // A message the page was still sending when it was reloaded goes again first.
  var key = "minyi-opened:" + location.pathname;
  call(app.dataset.poll).then(function () {
    var pending = takePending();
    return pending ? post(pending) : null;
  }).then(function () {
    var opened = false;
    try { opened = sessionStorage.getItem(key) === "1"; } catch (err) { /* private mode */ }
    if (opened) return;
    busy = true;
    call(app.dataset.open, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token })
    }).then(function (data) {
      busy = false;
      if (!data || !data.ok) return;  // try again on the next load
      try { sessionStorage.setItem(key, "1"); } catch (err) { /* private mode */ }
    });
  });
  setInterval(poll, 4000);
  document.addEventListener("visibilitychange", poll);
})();
