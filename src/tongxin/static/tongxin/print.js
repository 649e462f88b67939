// A "Print" button on list and request pages (no inline scripts: the CSP forbids them).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
