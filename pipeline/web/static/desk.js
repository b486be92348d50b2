// selfeval web desk: the only script (no inline scripts: the CSP forbids them). Pages work without it.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var btn = ev.submitter;
  if (form.classList.contains("upload")) {
    var b = form.querySelector("button[type=submit]");
    setTimeout(function () { b.disabled = true; b.textContent = "正在自查，请稍候……"; }, 0);
  }
  if (btn && btn.value === "return") {
    var reason = form.querySelector("textarea[name=reason]");
    if (reason && !reason.value.trim()) { ev.preventDefault(); alert("退回须写明审核意见"); reason.focus(); }
  }
});

// a long text (the report) scrolls inside its cell to the words a finding quotes
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.sheet .scroll mark").forEach(function (m) {
    var box = m.closest(".scroll");
    if (box && !box.dataset.done) { box.scrollTop = Math.max(0, m.offsetTop - box.offsetTop - 24); box.dataset.done = "1"; }
  });
});
