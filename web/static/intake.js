/* Counter intake (代录): show the per-category questions that apply, check files early; print the slip. */
(function () {
  "use strict";
  // The page's language (the account's, web.i18n): Chinese, or English.
  var EN = document.documentElement.lang === "en";

  var printButton = document.getElementById("print");
  if (printButton) printButton.addEventListener("click", function () { window.print(); });

  var form = document.getElementById("intake");
  if (!form) return;
  var steps = Array.prototype.slice.call(form.querySelectorAll(".step[data-key]"));
  var byKey = {};
  steps.forEach(function (s) { byKey[s.dataset.key] = s; });

  // An answer as the server reads it: yes/no as true/false, a choice as its value.
  function answer(key) {
    var step = byKey[key];
    if (!step || step.hidden) return undefined;
    var raw;
    if (step.querySelector("input[type=radio]")) {
      var checked = step.querySelector("input[type=radio]:checked");
      raw = checked ? checked.value : "";
    } else {
      raw = (step.querySelector("input, textarea, select") || {}).value;
    }
    if (step.dataset.kind === "yesno") return raw === "1" ? true : raw === "0" ? false : undefined;
    return raw || undefined;
  }

  // In form order, so a question that hangs on a hidden one hides too (as on the server).
  function update() {
    steps.forEach(function (step) {
      if (!step.dataset.when) return;
      var when = JSON.parse(step.dataset.when);
      step.hidden = !Object.keys(when).every(function (k) { return answer(k) === when[k]; });
    });
  }
  form.addEventListener("change", update);
  update();

  // Say at once when a chosen file cannot be taken, rather than after a long upload.
  form.addEventListener("change", function (e) {
    var input = e.target;
    if (input.type !== "file") return;
    var step = input.closest(".step");
    var warning = step.querySelector(".file-warning");
    var maxFiles = Number(input.dataset.maxFiles), maxMb = Number(input.dataset.maxMb);
    var kept = step.querySelectorAll(".kept input:checked").length;
    var problems = [];
    Array.prototype.forEach.call(input.files, function (f) {
      if (f.size > maxMb * 1024 * 1024) {
        var mb = (f.size / 1048576).toFixed(1);
        problems.push(EN ? "\"" + f.name + "\" is too large (" + mb + " MB); each file may be at most " + maxMb + " MB."
                         : "「" + f.name + "」太大（" + mb + " MB），单个文件不能超过 " + maxMb + " MB。");
      }
    });
    if (input.files.length + kept > maxFiles) problems.push(EN ? "At most " + maxFiles + " files (" + kept + " already uploaded)."
                                                     : "最多上传 " + maxFiles + " 个文件（已上传 " + kept + " 个）。");
    if (problems.length) {
      input.value = "";
      problems.push(EN ? "None of these files was taken; compress them or choose fewer." : "以上文件都没有选上，请压缩或减少后重新选择。");
    }
    warning.textContent = problems.join("\n");
    warning.hidden = !problems.length;
  });

  form.addEventListener("submit", function () {
    var button = document.getElementById("submit");
    // One press, one report: a second click while the first is on its way does nothing.
    setTimeout(function () { button.disabled = true; button.textContent = EN ? "Submitting…" : "正在提交…"; }, 0);
  });
})();
