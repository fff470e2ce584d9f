/* flashgen preview: sizes each card frame to its content, "Show answer" reloads the back (so a
   pick made on the front gives its verdict, as in a review), night mode for every frame. */
(function () {
  "use strict";
  var NIGHT_KEY = "flashgen-preview-night";
  var NIGHT_CLASSES = ["nightMode", "night_mode"];

  function night() {
    try { return localStorage.getItem(NIGHT_KEY) === "1"; } catch (e) { return false; }
  }

  function fit(frame) {
    var doc;
    try { doc = frame.contentDocument; } catch (e) { return; }
    if (!doc || !doc.body) return;
    NIGHT_CLASSES.forEach(function (name) { doc.body.classList.toggle(name, night()); });
    var resize = function () {
      frame.style.height = Math.max(80, doc.documentElement.scrollHeight) + "px";
    };
    resize();
    if (window.ResizeObserver) new ResizeObserver(resize).observe(doc.body);
  }

  function reload(frame) {
    try {
      frame.contentWindow.location.reload();
    } catch (e) {
      frame.setAttribute("srcdoc", frame.getAttribute("srcdoc"));
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll(".pv-frame"), function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    fit(frame);
  });

  Array.prototype.forEach.call(document.querySelectorAll(".pv-card"), function (card) {
    var front = card.querySelector(".pv-front");
    var back = card.querySelector(".pv-back");
    card.querySelector(".pv-show").addEventListener("click", function () {
      card.classList.add("pv-answered");
      reload(back);
    });
    card.querySelector(".pv-reset").addEventListener("click", function () {
      card.classList.remove("pv-answered");
      // The front clears the stored pick when it renders: reload the back only after that,
      // or it may still read the old pick.
      front.addEventListener("load", function once() {
        front.removeEventListener("load", once);
        reload(back);
      });
      reload(front);
    });
  });

  var toggle = document.getElementById("pv-night");
  if (toggle) {
    toggle.checked = night();
    document.body.classList.toggle("pv-dark", night());
    toggle.addEventListener("change", function () {
      try { localStorage.setItem(NIGHT_KEY, toggle.checked ? "1" : "0"); } catch (e) { /* */ }
      document.body.classList.toggle("pv-dark", toggle.checked);
      Array.prototype.forEach.call(document.querySelectorAll(".pv-frame"), fit);
    });
  }
})();
