// "Sync now" on the GBP page (gbp/detail.html). While the POST is sent, show it is under way,
// no double click (on the embedded default the sync runs on a background thread and the POST
// returns at once). When the page says a sync is already under
// way (data-syncing, a worker or the daily schedule), follow its progress through the
// sync-status JSON ({"syncing", "text", "done", "total"}), then reload to show the result.
// No words of its own: the button's "Syncing…" is the form's data-syncing-label, in the page's
// language; the progress text is the server's.
(function () {
  var form = document.getElementById("sync-now");
  if (!form) return;
  var button = form.querySelector("button"), progress = form.querySelector(".sync-progress");
  form.addEventListener("submit", function () {
    var label = form.dataset.syncingLabel || button.textContent;
    button.disabled = true;
    button.innerHTML = '<span class="spinner" aria-hidden="true"></span> ';
    button.appendChild(document.createTextNode(label));
  });
  if (form.dataset.syncing !== "true") return;
  function poll() {
    fetch(form.dataset.statusUrl, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (!s.syncing) { window.location.reload(); return; }
        progress.textContent = s.text;
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
