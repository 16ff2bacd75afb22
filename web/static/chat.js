/* Web chat: render the transcript, send text/buttons/files/locations, poll for feedback. */
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

  function call(url, options) {
    options = options || {};
    options.headers = options.headers || {};
    options.headers["X-CSRFToken"] = csrf;
    options.credentials = "same-origin";
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    return fetch(url + sep + "after=" + lastId, options).then(function (r) {
      return r.json().catch(function () {
        return { ok: false, error: (EN ? "Network or server error (" + r.status + "); please try again later." : "网络或服务器出错（" + r.status + "），请稍后再试。") };
      });
    }).then(function (data) {
      if (data.messages) render(data.messages);
      showStatus(data.ok ? "" : data.error);
      return data;
    }).catch(function () {
      showStatus(EN ? "No connection; check the network and try again." : "网络连接失败，请检查网络后重试。");
    });
  }

  function send(body) {
    if (busy) return Promise.resolve();
    busy = true;
    app.classList.add("busy");
    return call(app.dataset.send, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function () { busy = false; app.classList.remove("busy"); });
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
    showStatus((EN ? "Uploading " : "正在上传 ") + f.name + " …");
    busy = true;
    call(app.dataset.upload, { method: "POST", body: form }).then(function () {
      busy = false;
      fileInput.value = "";
    });
  });
  document.getElementById("where").addEventListener("click", function () {
    if (!navigator.geolocation) { showStatus(EN ? "This browser cannot tell the location; please type the address." : "此浏览器无法获取位置，请直接输入地址。"); return; }
    showStatus(EN ? "Getting the location…" : "正在获取位置…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      call(app.dataset.location, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ lat: pos.coords.latitude, lng: pos.coords.longitude })
      });
    }, function () { showStatus(EN ? "Could not get the location; please type the address." : "无法获取位置，请直接输入地址。"); }, { timeout: 15000 });
  });

  function poll() {
    if (document.visibilityState === "visible" && !busy) call(app.dataset.poll);
  }

  // Opening the page (a scan, a follow link, the browser's history) lets the engine say
  // what the visitor came back for; a reload of the same tab simply shows the transcript.
  var key = "minyi-opened:" + location.pathname;
  call(app.dataset.poll).then(function () {
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
