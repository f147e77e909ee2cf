// Asks before a form marked data-confirm="..." is sent (Disconnect, Remove): the page's
// Content-Security-Policy allows no inline handler, so the question lives in the attribute and
// this file asks it. Loaded by integrations/assets.html from each page's content block; a page
// that includes the assets twice still asks once.
(function () {
  var root = document.documentElement;
  if (root.hasAttribute("data-stay-connected-confirm")) return;
  root.setAttribute("data-stay-connected-confirm", "");
  document.addEventListener("submit", function (event) {
    var form = event.target, question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
