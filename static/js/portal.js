/* Small behaviours that would otherwise be inline handlers (the CSP forbids those).
   Without JavaScript the page works the same; these buttons stay hidden. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
