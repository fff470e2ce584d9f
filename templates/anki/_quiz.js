/* flashgen quiz cards (multiple choice, true/false): pick on the front, verdict on the back.
 *
 * Included (by Jinja2) into the front AND the back template of quiz note types, and re-run
 * on the back through the FrontSide field; every run is idempotent. Rules that keep it working on
 * Anki desktop, AnkiWeb, AnkiDroid and AnkiMobile (see templates/anki/FIELDS.md):
 *  - everything inside one IIFE: no top-level const/let (desktop re-runs this on one page);
 *  - the pick travels front -> back in sessionStorage only, keyed by the card code, reset on
 *    every front render; losing it only costs the verdict ("No choice selected");
 *  - the back is recognised by the .fg-back element that the back template opens BEFORE
 *    the FrontSide field; the correct key(s) exist only there (data-answer), never on the front;
 *  - field text is read from the DOM, never pasted into JS strings;
 *  - choices get class "tappable" + onclick so AnkiMobile does not flip the card on a tap;
 *  - no DOMContentLoaded (fires once on desktop), no Math.random (order is fixed at build).
 */
(function () {
  "use strict";

  var PREFIX = "flashgen:pick:";

  function storage() {
    try {
      return window.sessionStorage || null;
    } catch (e) {
      return null;
    }
  }

  function readPick(id) {
    var s = storage();
    if (!s) return null;
    try {
      return s.getItem(PREFIX + id);
    } catch (e) {
      return null;
    }
  }

  function writePick(id, value) {
    var s = storage();
    if (!s) return;
    try {
      if (value) s.setItem(PREFIX + id, value);
      else s.removeItem(PREFIX + id);
    } catch (e) {
      /* storage full or forbidden: the verdict is best-effort */
    }
  }

  function keysOf(text) {
    return String(text || "").split(/\s+/).filter(function (k) { return k !== ""; }).sort();
  }

  function toArray(list) {
    return Array.prototype.slice.call(list);
  }

  function cardId(quiz) {
    var code = quiz.querySelector(".fg-code");
    var id = code ? code.textContent.replace(/\s+/g, " ").trim() : "";
    if (id) return id;
    var prompt = quiz.querySelector(".fg-prompt");
    return "prompt:" + (prompt ? prompt.textContent.replace(/\s+/g, " ").trim().slice(0, 200) : "");
  }

  function choicesOf(quiz) {
    return toArray(quiz.querySelectorAll(".fg-choice[data-key]"));
  }

  function isMultiple(quiz) {
    return quiz.querySelector('.fg-choices[data-select="multiple"]') !== null;
  }

  function saveSelection(quiz, id) {
    var keys = choicesOf(quiz)
      .filter(function (c) { return c.classList.contains("fg-selected"); })
      .map(function (c) { return c.getAttribute("data-key"); })
      .sort();
    writePick(id, keys.join(" "));
  }

  function choose(quiz, choice, multiple, id) {
    var wasSelected = choice.classList.contains("fg-selected");
    if (!multiple) {
      choicesOf(quiz).forEach(function (c) {
        c.classList.remove("fg-selected");
        c.setAttribute("aria-checked", "false");
      });
    }
    if (wasSelected) {
      choice.classList.remove("fg-selected");
      choice.setAttribute("aria-checked", "false");
    } else {
      choice.classList.add("fg-selected");
      choice.setAttribute("aria-checked", "true");
    }
    saveSelection(quiz, id);
  }

  function setupFront(quiz) {
    var id = cardId(quiz);
    var multiple = isMultiple(quiz);
    writePick(id, "");
    choicesOf(quiz).forEach(function (choice) {
      choice.classList.add("tappable");
      choice.classList.remove("fg-selected");
      if (choice.tagName !== "BUTTON") {
        choice.setAttribute("role", multiple ? "checkbox" : "radio");
        choice.setAttribute("tabindex", "0");
      }
      choice.setAttribute("aria-checked", "false");
      choice.onclick = function (event) {
        if (event && event.stopPropagation) event.stopPropagation();
        choose(quiz, choice, multiple, id);
        return false;
      };
      choice.onkeydown = function (event) {
        if (choice.tagName === "BUTTON") return;
        if (event.key === "Enter" || event.key === " ") {
          if (event.preventDefault) event.preventDefault();
          if (event.stopPropagation) event.stopPropagation();
          choose(quiz, choice, multiple, id);
        }
      };
    });
    quiz.classList.add("fg-interactive");
    return true;
  }

  function listKeys(keys) {
    if (keys.length < 2) return keys.join("");
    return keys.slice(0, -1).join(", ") + " and " + keys[keys.length - 1];
  }

  function setupBack(quiz, back) {
    var verdict = back.querySelector(".fg-verdict");
    /* AnkiDroid parses the back as a new page: the the FrontSide field copy of this script runs
       before the verdict line exists. The back template's own copy, at the end, does it. */
    if (!verdict) return false;
    var answer = keysOf(back.getAttribute("data-answer"));
    var picked = keysOf(readPick(cardId(quiz)));
    choicesOf(quiz).forEach(function (choice) {
      var key = choice.getAttribute("data-key");
      choice.onclick = null;
      choice.onkeydown = null;
      choice.classList.remove("fg-selected");
      if (picked.indexOf(key) >= 0) {
        choice.classList.add("fg-picked");
        choice.classList.add(answer.indexOf(key) >= 0 ? "fg-right" : "fg-wrong");
      }
    });
    var named = (answer.length > 1 ? "the answers are " : "the answer is ") + listKeys(answer);
    if (picked.length === 0) {
      verdict.textContent = "No choice selected";
      verdict.className = "fg-verdict fg-verdict-none";
    } else if (picked.join(" ") === answer.join(" ")) {
      verdict.textContent = "Correct";
      verdict.className = "fg-verdict fg-verdict-right";
    } else {
      verdict.textContent = "Incorrect \u2014 " + named;
      verdict.className = "fg-verdict fg-verdict-wrong";
    }
    return true;
  }

  var back = document.querySelector(".fg-back");
  toArray(document.querySelectorAll(".fg-quiz")).forEach(function (quiz) {
    if (quiz.getAttribute("data-fg-ready") === "1") return;
    var done = back ? setupBack(quiz, back) : setupFront(quiz);
    if (done) quiz.setAttribute("data-fg-ready", "1");
  });
})();
