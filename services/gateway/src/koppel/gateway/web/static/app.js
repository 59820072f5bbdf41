// Koppel pages work without JavaScript; this only adds small comforts.
document.addEventListener("DOMContentLoaded", function () {
  document.documentElement.classList.add("js");
  // The language menu submits itself on change (its button stays for no-JS use).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // Forms are not sent twice by an impatient double click.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
});
