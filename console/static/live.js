// live.js: the console's only script. It opens the event stream named by
// each element with a data-live attribute and puts every boot event at
// the top of that element's table, dropping the oldest rows beyond
// data-max. The box keeps its height (CSS), so nothing on the page moves.
(function () {
  'use strict';
  function fill(row, e) {
    row.querySelectorAll('[data-f]').forEach(function (el) {
      switch (el.dataset.f) {
        case 'clock': el.textContent = e.clock; el.setAttribute('datetime', e.time); break;
        case 'datetime': el.setAttribute('datetime', e.time); break;
        case 'date': el.textContent = e.time.slice(0, 10) + ' '; break;
        case 'machine': el.textContent = e.mac || e.key; el.href = e.href; break;
        case 'status': el.textContent = String(e.status); el.classList.add(e.status >= 500 ? 'bad' : e.status >= 400 ? 'warn' : 'ok'); break;
        default: el.textContent = e[el.dataset.f] || '';
      }
    });
  }
  function start(box) {
    var body = box.querySelector('tbody');
    var tmpl = document.getElementById('live-row');
    var max = parseInt(box.dataset.max, 10) || 10;
    var status = document.getElementById(box.dataset.status);
    var skippedEl = document.getElementById(box.dataset.skipped);
    var skipped = 0;
    function say(s) { if (status) { status.textContent = s; status.dataset.state = s; } }
    var es = new EventSource(box.dataset.live);
    es.addEventListener('open', function () { say('live'); });
    es.addEventListener('error', function () { say(es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…'); });
    es.addEventListener('boot', function (m) {
      var row = tmpl.content.firstElementChild.cloneNode(true);
      fill(row, JSON.parse(m.data));
      body.insertBefore(row, body.firstChild);
      while (body.rows.length > max) body.deleteRow(body.rows.length - 1);
      window.setTimeout(function () { row.classList.remove('new'); }, 1500);
    });
    es.addEventListener('skipped', function (m) {
      skipped += parseInt(m.data, 10) || 0;
      if (skippedEl) skippedEl.textContent = skipped + ' not shown (too many at once)';
    });
    es.addEventListener('expired', function () { es.close(); say('signed out: reload to sign in'); });
  }
  document.querySelectorAll('[data-live]').forEach(start);
})();
