// The public check page: catches a mistyped verification code before any request.
// It mirrors services/registry/domain/codes.py::parse_code exactly (same symbols, same order
// of checks, same messages); tests/registry/test_check_page_browser.py holds the two together.
// Without this script the form still works: the server gives the same answers.
"use strict";

(function () {
  var SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  var CHECK_SYMBOLS = SYMBOLS + "*~$=U";
  var ALIASES = { I: 1, L: 1, O: 0 };
  var CODE_LENGTH = 16;
  var MAX_INPUT = 64;
  var SEPARATORS = /[\t\n\x0b\x0c\r\x1c-\x1f \-]+/g; // Python's \s on ASCII, and hyphens

  function valueOf(symbol, alphabet) {
    var index = alphabet.indexOf(symbol);
    if (index >= 0) return index;
    return Object.prototype.hasOwnProperty.call(ALIASES, symbol) ? ALIASES[symbol] : -1;
  }

  function refusal(kind, en, zh) {
    return { ok: false, kind: kind, en: en, zh: zh };
  }

  function badSymbol(symbol, position) {
    return refusal(
      "malformed-code",
      "character '" + symbol + "' at position " + position + " cannot appear in a verification code",
      "核验码第 " + position + " 位的字符“" + symbol + "”无效"
    );
  }

  // {ok: true, code} or {ok: false, kind, en, zh}, as parse_code accepts or refuses `text`.
  function checkCode(text) {
    if (text.length > MAX_INPUT || /[^\x00-\x7f]/.test(text)) {
      return refusal(
        "malformed-code",
        "a verification code has 17 characters from 0-9 and A-Z",
        "核验码由 17 个字符（0-9、A-Z）组成"
      );
    }
    var symbols = text.replace(SEPARATORS, "").toUpperCase();
    if (symbols.length !== CODE_LENGTH + 1) {
      return refusal(
        "malformed-code",
        "a verification code has 17 characters without separators, got " + symbols.length,
        "核验码（不含分隔符）应为 17 个字符，实际为 " + symbols.length + " 个"
      );
    }
    var remainder = 0; // the code's value modulo 37, one symbol at a time
    var canonical = ""; // aliases (I, L, O) read as the symbols they stand for
    for (var i = 0; i < CODE_LENGTH; i++) {
      var value = valueOf(symbols[i], SYMBOLS);
      if (value < 0) return badSymbol(symbols[i], i + 1);
      remainder = (remainder * 32 + value) % 37;
      canonical += SYMBOLS[value];
    }
    var typed = symbols[CODE_LENGTH];
    var typedValue = valueOf(typed, CHECK_SYMBOLS);
    if (typedValue < 0) return badSymbol(typed, CODE_LENGTH + 1);
    if (CHECK_SYMBOLS[typedValue] !== CHECK_SYMBOLS[remainder]) {
      return refusal(
        "check-character-mismatch",
        "the check character '" + typed + "' does not match the rest of the code; " +
          "a character was probably mistyped",
        "校验字符“" + typed + "”与核验码其余部分不符，可能有字符输入错误"
      );
    }
    var groups = canonical.match(/.{4}/g);
    return { ok: true, code: groups.join("-") + "-" + CHECK_SYMBOLS[remainder] };
  }

  window.qvCheckCode = checkCode;

  // While a code is still being typed: the first character no code can hold there, if any.
  function firstBadSymbol(text) {
    if (/[^\x00-\x7f]/.test(text)) return checkCode(text); // the non-ASCII refusal
    var symbols = text.replace(SEPARATORS, "").toUpperCase();
    for (var i = 0; i < Math.min(symbols.length, CODE_LENGTH); i++) {
      if (valueOf(symbols[i], SYMBOLS) < 0) return badSymbol(symbols[i], i + 1);
    }
    return null;
  }

  function paragraph(lang, text) {
    var p = document.createElement("p");
    p.lang = lang;
    p.textContent = text;
    return p;
  }

  function showRefusal(box, input, found) {
    var englishFirst = document.documentElement.lang === "en";
    var zh = paragraph("zh-CN", found.zh);
    var en = paragraph("en", found.en);
    box.replaceChildren(englishFirst ? en : zh, englishFirst ? zh : en);
    box.hidden = false;
    input.setAttribute("aria-invalid", "true");
  }

  function clearRefusal(box, input) {
    box.replaceChildren();
    box.hidden = true;
    input.removeAttribute("aria-invalid");
  }

  function enhance() {
    var form = document.querySelector("form.check");
    var input = document.getElementById("code");
    var box = document.getElementById("code-error");
    if (!form || !input || !box) return;
    form.noValidate = true; // our bilingual message instead of the browser's bubble
    form.addEventListener("submit", function (event) {
      var found = checkCode(input.value);
      if (found.ok) return;
      event.preventDefault();
      showRefusal(box, input, found);
      input.focus();
    });
    input.addEventListener("input", function () {
      // As one types: a character that can never be right at once, the rest once complete.
      var found = checkCode(input.value);
      var complete = input.value.replace(SEPARATORS, "").length >= CODE_LENGTH + 1;
      var problem = complete ? found : firstBadSymbol(input.value);
      if (problem && !problem.ok) showRefusal(box, input, problem);
      else clearRefusal(box, input);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
})();
