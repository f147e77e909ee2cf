// The demo's API page (templates/accounts/api_demo.html): a single-page frontend in plain
// JavaScript that uses only the JSON API (docs/api.md). It lists the integrations, connects
// and reconnects (the API returns the provider's authorize URL; the provider's answer comes
// back to this page with the outcome in the query), shows the re-auth prompt, renews access,
// and runs Sync now with its live progress. No words of its own: the labels are the page's
// templates, the sentences #api-words' data attributes, the rest the API's plain words.
(function () {
  "use strict";
  var root = document.getElementById("api-demo");
  if (!root) return;
  var api = root.dataset.api, csrf = root.dataset.csrfToken, returnTo = root.dataset.returnTo;
  var words = document.getElementById("api-words").dataset;
  var list = document.getElementById("api-integrations");
  var providers = document.getElementById("api-providers");
  var outcome = document.getElementById("api-outcome");
  var failure = document.getElementById("api-error");
  var POLL_MS = 1000;

  // One call: JSON in and out, the session's cookie, its CSRF token on a state change.
  // Resolves to the body; rejects with the API's error body ({code, message, requires_reauth,
  // retry_after}) or, when the API cannot be reached, one of ours.
  function call(method, path, body) {
    var options = {method: method, credentials: "same-origin",
                   headers: {Accept: "application/json"}};
    if (method !== "GET") options.headers["X-CSRFToken"] = csrf;
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(api + path, options).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw data;
        return data;
      });
    }, function () { throw {code: "unreachable", message: words.failed}; });
  }

  function say(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  function showError(error) {
    say(failure, (error && error.message) || words.failed);
  }

  // Back from the provider: ?outcome=connected|reconnected|declined|error (&integration, &code).
  function readOutcome() {
    var query = new URLSearchParams(window.location.search);
    var kind = query.get("outcome");
    if (!kind) return;
    var text = {connected: words.connected, reconnected: words.reconnected,
                declined: words.declined, error: words.error}[kind] || "";
    if (kind === "error" && query.get("code")) text += " (" + query.get("code") + ")";
    if (query.get("other_account")) text += " " + words.otherAccount;
    outcome.className = "msg " + (kind === "error" ? "msg-error" :
                                  kind === "declined" ? "msg-info" : "msg-success");
    say(outcome, text);
    if (query.get("integration")) outcome.dataset.integration = query.get("integration");
    ["outcome", "integration", "code", "other_account"].forEach(function (k) { query.delete(k); });
    var rest = query.toString();
    window.history.replaceState(
      null, "", window.location.pathname + (rest ? "?" + rest : "") + window.location.hash);
  }

  // A new action: the last one's words go.
  function clear() {
    say(outcome, "");
    say(failure, "");
  }

  function goTo(promise) {
    promise.then(function (answer) { window.location.assign(answer.authorize_url); }, showError);
  }

  function render(integration) {
    var card = document.getElementById("api-integration").content.firstElementChild.cloneNode(true);
    card.dataset.integration = integration.id;
    card.dataset.status = integration.status;
    card.querySelector(".api-provider").textContent = integration.provider_name;
    card.querySelector(".api-account").textContent = integration.account;
    var status = card.querySelector(".api-status");
    status.textContent = integration.status_label;
    status.className = "api-status badge badge-" + integration.status;
    say(card.querySelector(".api-reason"), integration.reason);
    var reauth = card.querySelector(".api-reauth");
    reauth.hidden = !(integration.requires_reauth && integration.may.reconnect);
    card.querySelector(".api-reconnect").addEventListener("click", function () {
      clear();
      goTo(call("POST", "integrations/" + integration.id + "/reconnect", {return_to: returnTo}));
    });
    var active = integration.status === "active";
    var sync = card.querySelector(".api-sync");
    sync.hidden = !(active && integration.offers.sync && integration.may.sync);
    sync.addEventListener("click", function () { syncNow(card, integration.id); });
    if (!sync.hidden) watch(card, integration.id);
    var refresh = card.querySelector(".api-refresh");
    refresh.hidden = !(active && integration.may.refresh);
    refresh.addEventListener("click", function () {
      clear();
      refresh.disabled = true;
      call("POST", "integrations/" + integration.id + "/refresh").then(function (fresh) {
        card.replaceWith(render(fresh));
      }, function (error) {
        showError(error);
        refresh.disabled = false;
        if (error.requires_reauth) load();  // the card now asks for a reconnect
      });
    });
    return card;
  }

  // Sync now, then its progress: poll the sync endpoint while `syncing`; a sync already under
  // way (a worker, the daily schedule) is followed the same way.
  function syncNow(card, id) {
    var button = card.querySelector(".api-sync");
    button.disabled = true;
    clear();
    call("POST", "integrations/" + id + "/sync").then(function (state) {
      follow(card, id, state);
    }, function (error) {
      if (error.code === "sync_under_way") { watch(card, id); return; }
      showError(error);
      button.disabled = false;
    });
  }

  function watch(card, id) {
    call("GET", "integrations/" + id + "/sync").then(function (state) {
      if (state.syncing) follow(card, id, state);
    }, function () {});
  }

  function follow(card, id, state) {
    var button = card.querySelector(".api-sync"), progress = card.querySelector(".api-progress");
    progress.textContent = state.syncing ? state.text : (state.result || "");
    button.disabled = state.syncing;
    if (!state.syncing) return;
    setTimeout(function () {
      call("GET", "integrations/" + id + "/sync").then(function (next) {
        follow(card, id, next);
      }, function () { setTimeout(function () { follow(card, id, state); }, POLL_MS * 4); });
    }, POLL_MS);
  }

  function load() {
    return call("GET", "integrations?page_size=100").then(function (page) {
      document.getElementById("api-loading").hidden = true;
      list.replaceChildren.apply(list, page.items.map(render));
      document.getElementById("api-empty").hidden = page.items.length > 0;
    }, showError);
  }

  function loadProviders() {
    return call("GET", "providers").then(function (all) {
      var rows = all.filter(function (p) { return p.may_connect; }).map(function (p) {
        var row = document.getElementById("api-provider").content.firstElementChild.cloneNode(true);
        row.dataset.provider = p.id;
        row.querySelector(".api-provider-name").textContent = p.name;
        row.querySelector(".api-provider-description").textContent = p.description;
        row.querySelector(".api-connect").addEventListener("click", function () {
          clear();
          goTo(call("POST", "integrations/connect", {provider: p.id, return_to: returnTo}));
        });
        return row;
      });
      providers.replaceChildren.apply(providers, rows);
    }, showError);
  }

  readOutcome();
  load();
  loadProviders();
})();
