// autobill order form: inline hints for the ИНН (length, control digits) and the КПП (shape).
// The server checks everything again; without this script the form works the same.
(function () {
  var inn = document.getElementById('inn'), kpp = document.getElementById('kpp');
  var innHint = document.getElementById('inn-hint'), kppHint = document.getElementById('kpp-hint');
  if (!inn || !kpp || !innHint || !kppHint) return;
  function digit(d, weights) {
    var s = 0;
    for (var i = 0; i < weights.length; i++) s += weights[i] * d[i];
    return s % 11 % 10;
  }
  function innHintText(v) {
    if (!v) return '10 цифр для организации, 12 — для ИП';
    if (!/^(\d{10}|\d{12})$/.test(v)) return 'ИНН — 10 цифр (организация) или 12 (ИП)';
    var d = v.split('').map(Number);
    var ok = v.length === 10
      ? digit(d, [2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[9]
      : digit(d, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[10] && digit(d, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[11];
    return ok ? '✓ ИНН верный' : 'Не сходится контрольная цифра — проверьте ИНН';
  }
  function kppHintText(v) {
    var sole = inn.value.trim().length === 12;
    if (sole) return v ? 'Для ИП КПП не указывается' : '9 знаков; для ИП не указывается';
    if (!v) return inn.value.trim().length === 10 ? 'Для организации КПП обязателен' : '9 знаков; для ИП не указывается';
    return /^\d{4}[0-9A-Z]{2}\d{3}$/.test(v)
      ? '✓ КПП верного вида'
      : 'КПП — 9 знаков: 4 цифры, 2 цифры или заглавные латинские буквы, 3 цифры';
  }
  // Only a changed hint is written, so screen readers do not repeat it at every key press.
  function set(hint, text) {
    if (hint.textContent !== text) hint.textContent = text;
  }
  function update() {
    set(innHint, innHintText(inn.value.trim()));
    set(kppHint, kppHintText(kpp.value.trim()));
  }
  inn.addEventListener('input', update);
  kpp.addEventListener('input', update);
  update();
})();
